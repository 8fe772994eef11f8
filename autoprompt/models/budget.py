"""Budgets: hard caps on model calls, tokens, USD and wall time.

Contract: ``charge(n)`` records ``n`` calls before they are made, or raises
``BudgetExhausted`` without recording them when they would pass the call cap, or
when tokens, USD or time are already spent. ``record(usage, usd)`` adds what a
finished call used. ``remaining`` says how many calls are left. Thread-safe. A
budget is the one place that says "stop"; the client layer consults it for every call.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from autoprompt.errors import BudgetExhausted, ConfigError
from autoprompt.records.usage import Usage


def _positive(value: float | None, what: str, example: str) -> None:
    if value is not None and value <= 0:
        raise ConfigError(f"{what} must be positive, got {value}; pass e.g. {example}")


class Budget:
    """Counts calls, tokens and USD against caps."""

    def __init__(self, max_calls: int | None = None, max_seconds: float | None = None, *,
                 max_tokens: int | None = None, max_usd: float | None = None) -> None:
        _positive(max_calls, "budget (a number of model calls)", "--budget 500")
        _positive(max_seconds, "time limit", "--max-seconds 600")
        _positive(max_tokens, "token budget", "--max-tokens 200000")
        _positive(max_usd, "USD budget", "--max-usd 2.50")
        self.max_calls = max_calls
        self.max_seconds = max_seconds
        self.max_tokens = max_tokens
        self.max_usd = max_usd
        self.calls = 0
        self.tokens = 0
        self.usd = 0.0
        self.started = time.monotonic()
        self._lock = threading.Lock()

    @property
    def remaining(self) -> float:
        return float("inf") if self.max_calls is None else self.max_calls - self.calls

    def elapsed(self) -> float:
        """Seconds the time limit has counted so far (this process's, since the budget was made)."""
        return time.monotonic() - self.started

    def out_of_time(self) -> bool:
        return self.max_seconds is not None and self.elapsed() >= self.max_seconds

    def _spent(self) -> str | None:
        if self.out_of_time():
            return f"time limit of {self.max_seconds:g}s reached after {self.calls} model calls"
        if self.max_tokens is not None and self.tokens >= self.max_tokens:
            return f"token budget of {self.max_tokens} spent ({self.tokens} tokens)"
        if self.max_usd is not None and self.usd >= self.max_usd:
            return f"USD budget of {self.max_usd:g} spent (${self.usd:.4f})"
        return None

    def charge(self, n: int = 1) -> None:
        with self._lock:
            reason = self._spent()
            if reason is None and n > self.remaining:
                reason = f"budget of {self.max_calls} model calls spent"
            if reason is not None:
                raise BudgetExhausted(reason)
            self.calls += n

    def record(self, usage: Usage, usd: float = 0.0) -> None:
        with self._lock:
            self.tokens += usage.total
            self.usd += usd


@dataclass(frozen=True)
class BudgetSpec:
    """The caps of a run, before it starts; ``start()`` makes the live ``Budget``."""

    calls: int
    seconds: float | None = None
    tokens: int | None = None
    usd: float | None = None

    def start(self) -> Budget:
        return Budget(self.calls, self.seconds, max_tokens=self.tokens, max_usd=self.usd)
