"""The client: the one layer every model call goes through.

Contract:
- ``Client(backend, budget)`` answers the same two questions as a ``Backend``.
- Each answer is cached in memory, keyed on the whole request (backend name,
  text, addressing mode, the continuations or generation length): asking again
  costs no call.
- Every call that reaches the backend is charged to the budget first, so the
  cap holds for every caller.
"""

from __future__ import annotations

from collections.abc import Sequence

from .backend import Backend
from .budget import Budget


class Client:
    """Budgeted, cached access to a backend."""

    def __init__(self, backend: Backend, budget: Budget | None = None) -> None:
        self.backend = backend
        self.budget = budget or Budget()
        self.cache: dict[tuple[object, ...], object] = {}
        self.calls = 0

    def score(self, text: str, continuations: Sequence[str], *, chat: bool = False) -> list[float]:
        key = ("score", self.backend.name, text, tuple(continuations), chat)
        if key not in self.cache:
            self.budget.charge(1)
            self.calls += 1
            self.cache[key] = list(self.backend.score(text, continuations, chat=chat))
        return list(self.cache[key])  # type: ignore[call-overload]

    def generate(self, text: str, *, chat: bool = False, max_tokens: int = 16) -> str:
        key = ("generate", self.backend.name, text, chat, max_tokens)
        if key not in self.cache:
            self.budget.charge(1)
            self.calls += 1
            self.cache[key] = self.backend.generate(text, chat=chat, max_tokens=max_tokens)
        return str(self.cache[key])
