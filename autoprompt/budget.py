"""Budgets: a hard cap on model calls and, optionally, wall time.

Contract: ``charge(n)`` records ``n`` calls, or raises ``BudgetExhausted`` without
recording them when they would pass the cap or the time is up. ``remaining``
says how many calls are left. A budget is the one place that says "stop".
"""

from __future__ import annotations

import time

from .errors import BudgetExhausted, ConfigError


class Budget:
    """Counts model calls against a cap."""

    def __init__(self, max_calls: int | None = None, max_seconds: float | None = None) -> None:
        if max_calls is not None and max_calls <= 0:
            raise ConfigError(
                f"budget must be a positive number of model calls, got {max_calls}; pass e.g. --budget 500"
            )
        if max_seconds is not None and max_seconds <= 0:
            raise ConfigError(f"time limit must be positive, got {max_seconds}; pass e.g. --max-seconds 600")
        self.max_calls = max_calls
        self.max_seconds = max_seconds
        self.calls = 0
        self.started = time.monotonic()

    @property
    def remaining(self) -> float:
        return float("inf") if self.max_calls is None else self.max_calls - self.calls

    def out_of_time(self) -> bool:
        return self.max_seconds is not None and time.monotonic() - self.started >= self.max_seconds

    def charge(self, n: int = 1) -> None:
        if self.out_of_time():
            raise BudgetExhausted(f"time limit of {self.max_seconds:g}s reached after {self.calls} model calls")
        if n > self.remaining:
            raise BudgetExhausted(f"budget of {self.max_calls} model calls spent")
        self.calls += n
