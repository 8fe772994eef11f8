"""The usage record: tokens in and out of one or more model calls. Imports nothing of the project."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Usage:
    """Tokens one call used."""

    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.input_tokens + other.input_tokens, self.output_tokens + other.output_tokens)

    @classmethod
    def sum(cls, usages: Iterable[Usage]) -> Usage:
        """The total of several calls' usage."""
        total = cls()
        for usage in usages:
            total = total + usage
        return total
