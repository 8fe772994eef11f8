"""The prediction record: the outcome of one prompt on one example (output, score, failure,
the judge's reason, agreement, and the selection signal) and the signal's description. Imports nothing of the
project."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Prediction:
    """The outcome of one prompt on one example."""

    example_id: str
    output: str
    score: float
    failed: bool = False
    error: str = ""
    reason: str = ""
    agreement: float | None = None
    quality: float | None = None
    signal: float | None = None  # what selection compares, in [0, 1]; None: the score itself

    @property
    def value(self) -> float:
        """The row's selection value: the signal when there is one, else the score."""
        return self.score if self.signal is None else self.signal


@dataclass(frozen=True)
class Signal:
    """What ``Prediction.signal`` holds in a run: a short name (beside means) and what it is, in words."""

    name: str
    meaning: str
