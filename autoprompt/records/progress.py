"""The progress records: where a search stands after a trial (trials, calls, the call budget, the
best score and its description, the seconds and USD spent so far), and where scoring a fixed set of
rows stands (``Scoring``). Imports nothing of the project."""

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
    seconds: float = 0.0
    usd: float = 0.0

    def eta(self) -> float | None:
        """Seconds left at the pace so far, until the call budget is spent (None before any call or
        without a budget)."""
        if not self.max_calls or self.calls <= 0 or self.seconds <= 0:
            return None
        return self.seconds * max(self.max_calls - self.calls, 0) / self.calls


@dataclass(frozen=True)
class Scoring:
    """Where scoring a fixed set of rows stands (a prompt on the test set, or ``autoprompt eval``): what
    is scored, rows done of ``total``, and the seconds it has taken so far."""

    what: str
    done: int
    total: int
    seconds: float = 0.0

    def eta(self) -> float | None:
        """Seconds left at the pace so far (None before the first rows are done)."""
        if self.done <= 0 or self.seconds <= 0:
            return None
        return self.seconds * max(self.total - self.done, 0) / self.done
