"""Statistics: bootstrap confidence intervals for a score, for a paired difference and for a mean
over groups resampled apart (stratified), a paired sign-flip test, and the Pareto front of score
against prompt length.

Contract: pure functions over per-example scores; seeded, so the same inputs give
the same interval and the same p-value. ``Interval`` (``records.interval``) is a frozen record
(estimate, low, high).
``pareto_front(trials)`` works on anything with ``score``, ``prompt_tokens`` and ``number``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

from autoprompt.records.interval import Interval


class Scored(Protocol):
    @property
    def score(self) -> float: ...

    @property
    def prompt_tokens(self) -> int: ...

    @property
    def number(self) -> int: ...


T = TypeVar("T", bound=Scored)


def pareto_front(trials: Sequence[T]) -> list[T]:
    """Trials no other beats on both score and prompt tokens, shortest first; of equal
    points, the earliest trial."""
    front = [t for t in trials if not any(
        o.score >= t.score and o.prompt_tokens <= t.prompt_tokens and
        (o.score > t.score or o.prompt_tokens < t.prompt_tokens) for o in trials)]
    unique = {(t.score, t.prompt_tokens): t for t in sorted(front, key=lambda t: -t.number)}
    return sorted(unique.values(), key=lambda t: (t.prompt_tokens, -t.score))


def _percentiles(values: list[float], level: float) -> tuple[float, float]:
    values.sort()
    tail = (1 - level) / 2
    low = values[int(tail * (len(values) - 1))]
    high = values[round((1 - tail) * (len(values) - 1))]
    return low, high


def bootstrap(scores: Sequence[float], *, level: float = 0.95, rounds: int = 2000, seed: int = 0) -> Interval:
    """Percentile bootstrap interval for the mean of ``scores``."""
    return stratified_bootstrap([scores], level=level, rounds=rounds, seed=seed)


def stratified_bootstrap(
    groups: Sequence[Sequence[float]], *, level: float = 0.95, rounds: int = 2000, seed: int = 0
) -> Interval:
    """Percentile bootstrap interval for the mean over ``groups`` of each group's mean, equal weight per
    group, resampling each group's scores apart (each task's test rows, say, when tasks have their own
    rows). One group is ``bootstrap`` of its scores: the same draws, the same interval. Empty groups are
    left out; none left gives (0, 0, 0)."""
    import numpy as np

    kept = [np.asarray(g, dtype=float) for g in groups if len(g)]
    if not kept:
        return Interval(0.0, 0.0, 0.0)
    rng = np.random.default_rng(seed)
    draws = np.mean([v[rng.integers(0, len(v), size=(rounds, len(v)))].mean(axis=1) for v in kept], axis=0)
    low, high = _percentiles(draws.tolist(), level)
    return Interval(float(np.mean([v.mean() for v in kept])), low, high)


def paired_difference(
    a: Sequence[float], b: Sequence[float], *, level: float = 0.95, rounds: int = 2000, seed: int = 0
) -> Interval:
    """Bootstrap interval for mean(b - a) over the same examples."""
    if len(a) != len(b):
        raise ValueError("paired scores must cover the same examples")
    return bootstrap([y - x for x, y in zip(a, b)], level=level, rounds=rounds, seed=seed)


def sign_flip_p(a: Sequence[float], b: Sequence[float], *, rounds: int = 10000, seed: int = 0) -> float:
    """One-sided p-value of a paired sign-flip (randomization) test that ``b`` beats ``a`` on the same rows.

    Under the null that the two are exchangeable on every row, each difference ``b - a`` is as
    likely negative as positive; the p-value is the share of random sign flips whose sum is at
    least the observed one, counting the observed signs (so it is never 0 and the test never rejects
    more often than its level). A mean difference of zero or less gives 1."""
    import numpy as np

    if len(a) != len(b):
        raise ValueError("paired scores must cover the same examples")
    differences = np.array([y - x for x, y in zip(a, b) if y != x], dtype=float)
    observed = float(differences.sum())
    if not differences.size or observed <= 0:
        return 1.0
    signs = np.random.default_rng(seed).integers(0, 2, size=(rounds, differences.size)) * 2 - 1
    at_least = int(np.count_nonzero(signs @ differences >= observed - 1e-12))
    return (1 + at_least) / (1 + rounds)
