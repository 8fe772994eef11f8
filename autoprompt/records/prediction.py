"""The prediction record: the outcome of one prompt on one example (output, score, failure,
the judge's reason, agreement). Imports nothing of the project."""

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
