"""Metrics: how one output is scored against its example, and how scores add up.

Contract:
- A ``Metric`` has a ``name``, a per-example function ``(example, output) -> float``
  in [0, 1] used for racing and paired statistics, and an ``aggregate`` over a
  whole set (the mean, or macro-F1).
- ``get_metric(spec)`` accepts a name (``accuracy``, ``macro_f1``, ``exact_match``,
  ``contains``, ``regex:PATTERN``), a ``Metric`` or any plain callable
  ``(example, output) -> float``.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .dataset import Example
from .errors import ConfigError

PerExample = Callable[[Example, str], float]


def _mean(examples: Sequence[Example], outputs: Sequence[str], scores: Sequence[float]) -> float:
    return sum(scores) / len(scores) if scores else 0.0


@dataclass(frozen=True)
class Metric:
    """A named scoring rule."""

    name: str
    per_example: PerExample
    aggregate: Callable[[Sequence[Example], Sequence[str], Sequence[float]], float] = _mean

    def __call__(self, example: Example, output: str) -> float:
        return float(self.per_example(example, output))


def normalize_text(text: str) -> str:
    """Lowercase, drop punctuation and collapse whitespace."""
    text = text.lower().translate(str.maketrans("", "", string.punctuation))
    return " ".join(text.split())


def _accuracy(example: Example, output: str) -> float:
    return float(output == example.target)


def _exact_match(example: Example, output: str) -> float:
    return float(normalize_text(output) == normalize_text(example.target))


def _contains(example: Example, output: str) -> float:
    return float(normalize_text(example.target) in normalize_text(output))


def macro_f1(examples: Sequence[Example], outputs: Sequence[str], scores: Sequence[float] = ()) -> float:
    """Unweighted mean of per-label F1 over the labels that occur in targets or outputs."""
    labels = sorted({ex.target for ex in examples} | set(outputs))
    f1s = []
    for label in labels:
        tp = sum(1 for ex, out in zip(examples, outputs) if ex.target == label and out == label)
        fp = sum(1 for ex, out in zip(examples, outputs) if ex.target != label and out == label)
        fn = sum(1 for ex, out in zip(examples, outputs) if ex.target == label and out != label)
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(f1s) / len(f1s) if f1s else 0.0


def regex(pattern: str) -> Metric:
    """1 when the output matches ``pattern``; ``{target}`` in it stands for the escaped target."""
    try:
        re.compile(pattern.replace("{target}", "x"))
    except re.error as exc:
        raise ConfigError(f"metric regex '{pattern}' is invalid: {exc}; fix the pattern") from None

    def score(example: Example, output: str) -> float:
        return float(re.search(pattern.replace("{target}", re.escape(example.target)), output) is not None)

    return Metric(f"regex:{pattern}", score)


METRICS: dict[str, Metric] = {
    "accuracy": Metric("accuracy", _accuracy),
    "macro_f1": Metric("macro_f1", _accuracy, macro_f1),
    "exact_match": Metric("exact_match", _exact_match),
    "contains": Metric("contains", _contains),
}


def get_metric(spec: str | Metric | PerExample) -> Metric:
    """Resolve a metric name, a ``Metric`` or a plain callable."""
    if isinstance(spec, Metric):
        return spec
    if callable(spec):
        return Metric(getattr(spec, "__name__", "custom"), spec)
    if spec.startswith("regex:"):
        return regex(spec.removeprefix("regex:"))
    if spec not in METRICS:
        raise ConfigError(f"unknown metric '{spec}'; use one of {', '.join(METRICS)}, regex:PATTERN or a callable")
    return METRICS[spec]
