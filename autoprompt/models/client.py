"""The client: the one layer every model call goes through.

Contract:
- ``Client(backend, budget, cache=..., prices=..., limiter=...)`` answers the same two questions as
  a ``Backend``.
- Answers are keyed by ``request_key`` of the whole request (backend name, its
  sampling parameters, text, addressing mode, continuations or generation length,
  sample index). Within one client a repeated request is free. Every other request
  is charged to the budget as one model call, whether or not it is paid: when the
  persistent ``cache`` (e.g. ``SQLiteCache``) already holds the answer, the backend
  is not called. So a re-run behaves exactly like the first run while making no
  backend calls; ``calls`` counts charged requests, ``backend_calls`` paid ones.
- A paid call first waits for the backend's rate limits (``limiter``: by default this process's
  ``RateLimiter`` at the backend's ``Limits``; a shared run passes one every process shares); its token usage and USD
  cost are recorded after (and stored with the answer, so a re-run charges the
  same tokens to the budget). ``served`` (a ``Spend``) adds up every charged answer, paid or from the
  cache: what the requests cost at the provider's rate, whoever paid. An answer that fails its example for good
  (``ExampleFailed.cacheable``) is cached as that failure; one whose retries ran out
  is not, so a later run asks again; ``MAX_FAILURES_IN_A_ROW`` such requests in a row
  end the run with ``ModelError`` naming the last failure. Safe to use from several threads at once.
- ``score_many(texts, continuations)`` and ``generate_many(texts, ...)`` (greedy or sampled) answer several
  requests under the keys ``score`` and ``generate`` use; those neither cache holds go to a
  batching backend (``BatchScoring``, ``BatchGenerating``) in one call, and all new requests are
  charged up front (or none, with ``BudgetExhausted``). ``next_tokens(texts, top=...)`` does the same
  for a backend that lists the likeliest next tokens (``NextTokens``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from autoprompt.errors import ExampleFailed, ModelError
from autoprompt.models.backend import (
    Backend,
    BatchGenerating,
    BatchScoring,
    NextTokens,
    UsageSink,
    cache_keyed,
    limits_of,
    params_of,
    priced_model,
)
from autoprompt.models.budget import Budget
from autoprompt.models.cache import MemoryCache, ResponseCache, request_key
from autoprompt.models.ratelimit import Limiter, RateLimiter
from autoprompt.models.usage import PriceTable
from autoprompt.records.message import Conversation, as_text, wire
from autoprompt.records.usage import Spend, Usage

MAX_FAILURES_IN_A_ROW = 20  # requests in a row that failed after their retries: the service is down


class Client:
    """Budgeted, cached, rate-limited access to a backend."""

    def __init__(self, backend: Backend, budget: Budget | None = None, *, cache: ResponseCache | None = None,
                 prices: PriceTable | None = None, limiter: Limiter | None = None) -> None:
        self.backend = backend
        self.budget = budget or Budget()
        self.cache = cache
        self.prices = prices or PriceTable()
        limits = limits_of(backend)
        self.limiter = limiter or RateLimiter(limits.rpm, limits.tpm)
        self.concurrency = limits.concurrency
        self.memo = MemoryCache()
        self.calls = 0
        self.backend_calls = 0
        self.usage = Usage()
        self.usd = 0.0
        self.served = Spend()
        self.failures_in_a_row = 0
        self._lock = threading.Lock()

    def _failed_in_a_row(self, exc: ExampleFailed) -> None:
        """Count a request whose retries ran out; ``MAX_FAILURES_IN_A_ROW`` of them end the run."""
        with self._lock:
            self.failures_in_a_row += 1
            failing = self.failures_in_a_row >= MAX_FAILURES_IN_A_ROW
        if failing:
            raise ModelError(f"{MAX_FAILURES_IN_A_ROW} requests in a row to {self.backend.name} failed after their "
                             f"retries; the last: {' '.join(str(exc).split())[:200]}; check that the model server is "
                             "up and reachable (every answer so far is kept; resume the run when it is)") from None

    def _key(self, *parts: Any, sample: int) -> str:
        return request_key([self.backend.name, params_of(self.backend), *parts, sample])

    def _price(self, usage: Usage) -> float:
        return self.prices.cost(priced_model(self.backend), usage)

    def _paid(self, estimate: int, fn: Callable[[UsageSink], Any]) -> dict[str, Any]:
        spent: list[Usage] = []
        self.limiter.acquire(estimate)
        outcome: dict[str, Any] = {}
        try:
            outcome["value"] = fn(spent.append)
        except ExampleFailed as exc:
            if not exc.cacheable:
                self._failed_in_a_row(exc)
                raise
            outcome["error"] = str(exc)
        usage = Usage.sum(spent)
        self._paid_for([usage])
        return {**outcome, "usage": usage.as_list()}

    def _paid_for(self, usages: Sequence[Usage]) -> None:
        """Count answered backend requests, their tokens and cost; an answer ends a run of failures."""
        with self._lock:
            self.failures_in_a_row = 0
            self.backend_calls += len(usages)
            for usage in usages:
                self.usage += usage
                self.usd += self._price(usage)

    def _settle(self, key: str, entry: dict[str, Any]) -> None:
        """Charge an entry's usage to the budget and remember it for this client."""
        usage = Usage(*entry["usage"])
        usd = self._price(usage)
        self.budget.record(usage, usd)
        with self._lock:
            self.served += Spend(1, usage.total, usd)
        self.memo.put(key, entry)

    def _call(self, key: str, estimate: int, fn: Callable[[UsageSink], Any]) -> Any:
        entry = self.memo.get(key)
        if entry is None:
            self.budget.charge(1)
            with self._lock:
                self.calls += 1
            entry = self.cache.get(key) if self.cache is not None else None
            if entry is None:
                entry = self._paid(estimate, fn)
                if self.cache is not None:
                    self.cache.put(key, entry)
            self._settle(key, entry)
        if "error" in entry:
            raise ExampleFailed(entry["error"])
        return entry["value"]

    def score(self, text: str | Conversation, continuations: Sequence[str], *, chat: bool = False,
              sample: int = 0, cache_key: str = "") -> list[float]:
        """Log-likelihoods; ``cache_key`` names the prompt for a provider's prompt cache (not ours:
        the answer does not depend on it)."""
        key = self._key("score", wire(text), list(continuations), chat, sample=sample)
        backend = cache_keyed(self.backend, cache_key)
        return list(self._call(key, len(as_text(text)) // 4, lambda sink: list(
            backend.score(text, continuations, chat=chat, on_usage=sink))))

    def score_many(self, texts: Sequence[str | Conversation], continuations: Sequence[str], *,
                   chat: bool = False) -> list[list[float] | ExampleFailed]:
        """Each request's log-likelihoods (or its failure), as ``score`` gives them, under the same
        keys; the requests neither cache holds go to a batching backend (``BatchScoring``) together."""
        backend = self.backend
        assert isinstance(backend, BatchScoring)
        keys = [self._key("score", wire(text), list(continuations), chat, sample=0) for text in texts]
        return self._many(keys, texts, lambda batch: [(list(s.scores), s.error, s.usage) for s in
                                                      backend.score_many(batch, continuations, chat=chat)])

    def next_tokens(self, texts: Sequence[str | Conversation], *, chat: bool = False,
                    top: int = 200) -> list[list[tuple[str, float]] | ExampleFailed]:
        """Each request's ``top`` most likely next tokens with their log-probabilities (or its failure),
        from a backend that lists them (``NextTokens``); one charged call per new request, cached as
        ``score``'s answers are."""
        backend = self.backend
        assert isinstance(backend, NextTokens)
        keys = [self._key("next_tokens", wire(text), top, chat, sample=0) for text in texts]
        answers = self._many(keys, texts, lambda batch: [([list(pair) for pair in t.tokens], t.error, t.usage)
                                                          for t in backend.next_tokens(batch, chat=chat, top=top)])
        return [a if isinstance(a, ExampleFailed) else [(str(w), float(lp)) for w, lp in a] for a in answers]

    def generate_many(self, texts: Sequence[str | Conversation], *, chat: bool = False, max_tokens: int = 16,
                      stop: Sequence[str] = (), temperature: float = 0.0, sample: int = 0
                      ) -> list[str | ExampleFailed]:
        """Each request's answer (or its failure), as ``generate`` gives it (greedy, or the
        ``sample``-th sampled answer), under the same keys; the requests neither cache holds go
        to a batching backend (``BatchGenerating``) together."""
        backend = self.backend
        assert isinstance(backend, BatchGenerating)
        keys = [self._generate_key(text, chat, max_tokens, stop, temperature, sample) for text in texts]
        sampled = temperature > 0
        return self._many(keys, texts, lambda batch: [(g.text, g.error, g.usage) for g in backend.generate_many(
            batch, chat=chat, max_tokens=max_tokens, stop=stop, temperature=temperature if sampled else 0.0,
            seed=sample if sampled else None)])

    def _many(self, keys: list[str], texts: Sequence[str | Conversation],
              ask: Callable[[list[str | Conversation]], list[tuple[Any, str, Usage]]]) -> list[Any]:
        """The answers under ``keys``: from memory, else charged (all new keys at once, or none:
        ``BudgetExhausted``), then from the persistent cache, else from one ``ask`` of the rest."""
        entries = {key: self.memo.get(key) for key in keys}
        new = [key for key in dict.fromkeys(keys) if entries[key] is None]
        if new:
            self.budget.charge(len(new))
            with self._lock:
                self.calls += len(new)
            entries.update(self._answered_together(new, dict(zip(keys, texts)), ask))
        return [ExampleFailed(entry["error"]) if "error" in entry else entry["value"]
                for entry in (entries[key] for key in keys) if entry is not None]

    def _answered_together(self, keys: Sequence[str], texts: dict[str, str | Conversation],
                           ask: Callable[[list[str | Conversation]], list[tuple[Any, str, Usage]]]
                           ) -> dict[str, dict[str, Any]]:
        """The entries of ``keys`` (charged already), each stored and its usage recorded as ``_call`` does."""
        found = {key: self.cache.get(key) if self.cache is not None else None for key in keys}
        missing = [key for key in keys if found[key] is None]
        if missing:
            for key in missing:
                self.limiter.acquire(len(as_text(texts[key])) // 4)
            results = ask([texts[key] for key in missing])
            for key, (value, error, usage) in zip(missing, results):
                found[key] = {**({"error": error} if error else {"value": value}), "usage": usage.as_list()}
                if self.cache is not None:
                    self.cache.put(key, found[key])
            self._paid_for([usage for _, _, usage in results])
        entries: dict[str, dict[str, Any]] = {}
        for key in keys:
            stored = found[key]
            assert stored is not None
            self._settle(key, stored)
            entries[key] = stored
        return entries

    def generate(self, text: str | Conversation, *, chat: bool = False, max_tokens: int = 16,
                 stop: Sequence[str] = (), temperature: float = 0.0, sample: int = 0, cache_key: str = "",
                 json_schema: str | None = None) -> str:
        """Greedy text, or with ``temperature`` > 0 the ``sample``-th sampled answer (the backend is
        asked with ``temperature`` and ``seed=sample``; the key holds both). With ``json_schema`` the
        answer follows that schema (the backend is asked with it only then; the key holds it)."""
        structured = {"json_schema": json_schema} if json_schema else {}
        key = self._generate_key(text, chat, max_tokens, stop, temperature, sample, json_schema)
        sampled = temperature > 0
        backend = cache_keyed(self.backend, cache_key)
        return str(self._call(key, len(as_text(text)) // 4 + max_tokens, lambda sink: backend.generate(
            text, chat=chat, max_tokens=max_tokens, stop=stop, on_usage=sink, temperature=temperature if sampled
            else 0.0, seed=sample if sampled else None, **structured)))

    def _generate_key(self, text: str | Conversation, chat: bool, max_tokens: int, stop: Sequence[str],
                      temperature: float, sample: int, json_schema: str | None = None) -> str:
        """The key of a ``generate`` request (``generate_many`` asks under the same keys): the
        sampling settings only when sampled, the schema only when given."""
        sampling = [{"temperature": temperature, "seed": sample}] if temperature > 0 else []
        structured = [{"json_schema": json_schema}] if json_schema else []
        return self._key("generate", wire(text), chat, max_tokens, list(stop), *sampling, *structured, sample=sample)
