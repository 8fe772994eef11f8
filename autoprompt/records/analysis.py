"""The error-analysis records: the mistakes and confusions of one prompt on the rows it saw.
Imports nothing of the project."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True)
class Mistake:
    """One dev example the prompt got wrong."""

    example_id: str
    expected: str
    output: str
    failed: bool
    reason: str = ""


@dataclass(frozen=True)
class ErrorAnalysis:
    """The failures of one prompt on the dev examples it saw."""

    n: int
    mistakes: tuple[Mistake, ...] = ()
    confusions: tuple[tuple[str, str, int], ...] = ()
    predicted: tuple[tuple[str, int], ...] = ()
    expected: tuple[tuple[str, int], ...] = ()
    too_long: tuple[str, ...] = ()
    unsteady: tuple[str, ...] = ()

    @property
    def reasons(self) -> tuple[str, ...]:
        """The judge's reasons for the mistakes, most frequent first (each once)."""
        counts = Counter(m.reason for m in self.mistakes if m.reason)
        return tuple(reason for reason, _ in counts.most_common())

    @property
    def failed(self) -> tuple[Mistake, ...]:
        """Mistakes whose output did not parse (no label named, request failed)."""
        return tuple(m for m in self.mistakes if m.failed)

    def skewed_label(self, factor: float = 1.5) -> str | None:
        """A label predicted at least ``factor`` times as often as it is right, if any."""
        expected = dict(self.expected)
        worst = max(self.predicted, key=lambda item: item[1] / max(expected.get(item[0], 0), 1), default=None)
        if worst is None or self.n == 0:
            return None
        label, count = worst
        return label if count >= factor * max(expected.get(label, 0), 1) and count > self.n / 4 else None
