"""The progress record: where a search stands after a trial (trials, calls, the call budget, the
best score and its description). Imports nothing of the project."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Progress:
    """Where the search stands after a trial."""

    trials: int
    calls: int
    max_calls: int | None
    best_score: float
    best_description: str
