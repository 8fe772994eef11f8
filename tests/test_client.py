"""The client layer: caching on the whole request, and the hard budget."""

from __future__ import annotations

import pytest

from autoprompt.backend import FakeBackend
from autoprompt.budget import Budget
from autoprompt.client import Client
from autoprompt.errors import BudgetExhausted, ConfigError


def test_cache_keys_on_the_whole_request() -> None:
    backend = FakeBackend()
    client = Client(backend, Budget(10))
    first = client.score("Q: a\nA:", [" yes", " no"])
    assert client.score("Q: a\nA:", [" yes", " no"]) == first
    assert backend.calls == 1
    client.score("Q: a\nA:", [" yes", " no"], chat=True)
    client.score("Q: a\nA:", [" yes"])
    client.generate("Q: a\nA:", max_tokens=4)
    client.generate("Q: a\nA:", max_tokens=5)
    assert backend.calls == client.calls == client.budget.calls == 5


def test_budget_is_hard() -> None:
    client = Client(FakeBackend(), Budget(2))
    client.score("a", [" x"])
    client.score("b", [" x"])
    with pytest.raises(BudgetExhausted, match="2 model calls"):
        client.score("c", [" x"])
    assert client.calls == 2
    client.score("a", [" x"])  # cached: free even when the budget is spent


def test_budget_rejects_nonsense() -> None:
    with pytest.raises(ConfigError, match="positive"):
        Budget(0)
    with pytest.raises(ConfigError, match="positive"):
        Budget(10, max_seconds=-1)


def test_failed_answers_are_cached_but_given_up_requests_are_not() -> None:
    from autoprompt.errors import ExampleFailed

    class Picky(FakeBackend):
        def score(self, text, continuations, *, chat=False, on_usage=None):  # type: ignore[no-untyped-def]
            self.calls += 1
            raise ExampleFailed("no label", cacheable=text == "answer")

    backend = Picky()
    client = Client(backend, Budget(10))
    for text in ("answer", "answer", "network", "network"):
        with pytest.raises(ExampleFailed):
            client.score(text, [" x"])
    assert backend.calls == 3
