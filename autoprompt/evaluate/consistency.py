"""Consistency: how much a prompt's answers agree when the model samples.

Contract:
- ``Consistency(samples=k, temperature=T, weight=w)`` asks for k sampled answers per
  example at temperature T > 0 besides the greedy answer that is scored.
  - Classification costs no extra call: the k labels are drawn from the prompt's own
    (calibrated) label distribution sharpened or flattened by T, seeded by the
    request, so the same prompt always draws the same samples.
  - Generation asks the model k times (``Client.generate(..., temperature=T,
    sample=i)``); the sample index is part of the cache key, so the k answers are k
    cached requests and a re-run replays them.
- ``agreement(samples, same)`` is the mean agreement over all pairs of samples: exact
  match for labels, the run's text metric (token F1 when that metric needs a judge)
  for generated text. 1.0 means every sample said the same.
- With ``weight`` w > 0 the search optimizes ``(1 - w) * metric + w * agreement`` per
  example (the metric is then named ``METRIC~w*consistency``); with w = 0 agreement is
  measured and reported beside the score only.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

from autoprompt.errors import ConfigError


@dataclass(frozen=True)
class Consistency:
    """Sampling settings for the agreement objective."""

    samples: int = 4
    temperature: float = 0.7
    weight: float = 0.0

    def check(self) -> Consistency:
        """Itself, when every setting is usable; else ``ConfigError`` naming the fix."""
        if self.samples < 2:
            raise ConfigError(f"consistency needs at least 2 samples per example to compare, got {self.samples}")
        if not (self.temperature > 0 and math.isfinite(self.temperature)):
            raise ConfigError(f"consistency samples at a temperature above 0, got {self.temperature}; "
                              "greedy answers always agree")
        if not 0 <= self.weight <= 1:
            raise ConfigError(f"the consistency weight must be between 0 and 1, got {self.weight}")
        return self

    def blend(self, score: float, agreement: float) -> float:
        """The per-example objective."""
        return (1 - self.weight) * score + self.weight * agreement

    def name(self, metric: str) -> str:
        """The objective's name: the metric's, plus the agreement term when it counts."""
        return f"{metric}~{self.weight:g}*consistency" if self.weight > 0 else metric

    def draw_labels(self, probabilities: Mapping[str, float], seed: str) -> list[str]:
        """k labels drawn from ``probabilities`` raised to ``1 / temperature``, seeded by ``seed``."""
        labels = list(probabilities)
        logs = [math.log(max(probabilities[label], 1e-300)) / self.temperature for label in labels]
        top = max(logs)
        weights = [math.exp(v - top) for v in logs]
        rng = random.Random(int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big"))
        return rng.choices(labels, weights=weights, k=self.samples)


def agreement(samples: Sequence[str], same: Callable[[str, str], float]) -> float:
    """Mean agreement over every pair of samples (1.0 when fewer than two)."""
    pairs = list(combinations(samples, 2))
    return sum(same(a, b) for a, b in pairs) / len(pairs) if pairs else 1.0
