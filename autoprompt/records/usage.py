"""The usage record: tokens in and out of one or more model calls. Imports nothing of the project."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Usage:
    """Tokens one call used; ``cached_input_tokens`` is the part of the input the provider served
    from its prompt cache (billed at the cached rate)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0

    @property
    def total(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.input_tokens + other.input_tokens, self.output_tokens + other.output_tokens,
                     self.cached_input_tokens + other.cached_input_tokens)

    def as_list(self) -> list[int]:
        """The JSON form a cache entry keeps (``Usage(*usage.as_list())`` reads it back)."""
        kept = [self.input_tokens, self.output_tokens]
        return [*kept, self.cached_input_tokens] if self.cached_input_tokens else kept

    @classmethod
    def sum(cls, usages: Iterable[Usage]) -> Usage:
        """The total of several calls' usage."""
        total = cls()
        for usage in usages:
            total = total + usage
        return total


@dataclass(frozen=True)
class Spend:
    """What a prompt's answers cost: charged requests (from a cache or paid), their tokens and USD.
    ``per_call`` and ``usd_per_1000`` say what each production call would cost at that rate."""

    calls: int = 0
    tokens: int = 0
    usd: float = 0.0

    @property
    def per_call(self) -> float:
        """Tokens in and out of one call, on average."""
        return self.tokens / self.calls if self.calls else 0.0

    @property
    def usd_per_1000(self) -> float:
        """USD for 1,000 calls at this rate."""
        return 1000 * self.usd / self.calls if self.calls else 0.0

    def __add__(self, other: Spend) -> Spend:
        return Spend(self.calls + other.calls, self.tokens + other.tokens, self.usd + other.usd)

    def __sub__(self, other: Spend) -> Spend:
        return Spend(self.calls - other.calls, self.tokens - other.tokens, self.usd - other.usd)

    def as_dict(self) -> dict[str, float]:
        return {"calls": self.calls, "tokens": self.tokens, "usd": self.usd, "tokens_per_call": self.per_call,
                "usd_per_1000_calls": self.usd_per_1000}
