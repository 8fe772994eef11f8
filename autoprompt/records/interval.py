"""Intervals: a point estimate with a two-sided confidence interval (``evaluate.stats`` computes them;
results and reports carry them).

Contract: ``Interval(estimate, low, high)`` is frozen; ``excludes_zero()`` says whether the interval lies
wholly above or below zero; ``str()`` is ``estimate [low, high]`` to three decimals.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Interval:
    """A point estimate with a two-sided confidence interval."""

    estimate: float
    low: float
    high: float

    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0

    def __str__(self) -> str:
        return f"{self.estimate:.3f} [{self.low:.3f}, {self.high:.3f}]"
