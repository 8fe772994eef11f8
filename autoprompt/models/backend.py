"""Model backends: the two questions autoprompt asks a model, as a small protocol.

Contract (``Backend``):
- ``score(text, continuations, chat=...)`` returns the log-likelihood of each
  continuation (all of its tokens) after the prompt ``text``: plain text (one user turn) or a
  conversation (``records.message``: a system message, demonstration turns, the user turn),
  which a raw-text model reads as ``as_text`` gives it.
- ``generate(text, chat=..., max_tokens=..., stop=...)`` returns greedy generated text;
  a backend may stop at the first of the ``stop`` strings (after some content), or
  may generate past it, so callers parse what they need (``prompt.parse_generation``).
  A backend that can sample also accepts ``temperature`` and ``seed`` keywords; they
  are passed only when a caller samples (consistency), never for greedy requests; likewise
  ``json_schema``, passed only when the prompt asks for JSON that follows a schema.
- ``chat=True`` means: send ``text`` as the user turn of the model's chat template
  and score or generate the assistant's reply; ``False`` means raw text.
- ``name`` identifies model and settings (part of every cache key);
  ``supports_chat`` says whether chat addressing is possible.
- ``on_usage``, when given, is called with the ``Usage`` (tokens) of the request.
- Optional capabilities, each a one-member protocol declared below and read only through
  its function here (never probed by name): ``RateLimited.limits`` (``Limits``: concurrency,
  requests and tokens per minute; ``limits_of``), ``Parameterized.params`` (request settings
  added to every cache key; ``params_of``), ``Priced.model`` (the id a price table knows;
  ``priced_model``), ``OwnPrices.rates()`` (USD per million tokens from a price list the backend
  carries, LiteLLM's; ``own_rates``), ``Resettable.reset()`` (forget model state, for exactly reproducible
  scoring; ``reset``), ``TokenCounting.count_tokens(text, chat=...)`` (the prompt's length in
  the model's tokens; ``count_tokens`` falls back to 4 characters a token),
  ``PromptCaching.with_cache_key(key)`` (the backend sending a provider's prompt-cache key;
  ``cache_keyed``), ``ChatAPI.chat_api`` (every request is chat messages; ``takes_messages``),
  ``BatchScoring.score_many(texts, continuations)`` and ``.batch_size`` (the examples of one
  prompt scored together; ``batch_size``), ``BatchGenerating.generate_many(texts, ...)`` (their
  answers, greedy or sampled, decoded together).
- A backend raises ``ExampleFailed`` for a request that fails on its own and
  ``ModelError`` when the model is unusable.

``FakeBackend`` is deterministic and needs no model, for fast tests; asked a judge
rubric (a prompt with "Answer to grade:"), it grades by comparing with the reference.
``get_backend(spec)`` resolves ``local``, ``local:gemma``, ``local:/path.gguf`` and ``fake``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from autoprompt.records.message import Conversation, as_text
from autoprompt.records.usage import Usage

UsageSink = Callable[[Usage], None]


@dataclass(frozen=True)
class Limits:
    """Per-backend limits: concurrent requests, requests per minute, tokens per minute (None = no limit)."""

    concurrency: int = 4
    rpm: float | None = None
    tpm: float | None = None


@runtime_checkable
class Backend(Protocol):
    """What a model must answer."""

    @property
    def name(self) -> str:
        """Model and settings; part of every cache key."""
        ...

    @property
    def supports_chat(self) -> bool:
        """Whether ``chat=True`` is possible."""
        ...

    def score(self, text: str | Conversation, continuations: Sequence[str], *, chat: bool = False,
              on_usage: UsageSink | None = None) -> list[float]: ...

    def generate(self, text: str | Conversation, *, chat: bool = False, max_tokens: int = 16,
                 stop: Sequence[str] = (), on_usage: UsageSink | None = None, temperature: float = 0.0,
                 seed: int | None = None, json_schema: str | None = None) -> str:
        """Greedy text; with ``temperature`` above 0, a sample drawn with ``seed`` (consistency
        measurement asks for these); with ``json_schema`` (compact JSON text), JSON that follows
        it (passed only when a prompt asks for structured answers)."""
        ...


def _noise(*parts: str) -> float:
    digest = hashlib.sha256("\x00".join(parts).encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32


def _last_input(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-2] if len(lines) >= 2 else text


def understands_when_told_labels(text: str, continuation: str) -> float:
    """The fake's default rule: it finds a label named in the input, but only if told the label set."""
    word = continuation.strip().lower()
    told = "one of" in text.lower()
    return 3.0 if told and re.search(rf"\b{re.escape(word)}\b", _last_input(text).lower()) else 0.0


class FakeBackend:
    """A deterministic stand-in for a model: hash noise plus a rule that tests can control."""

    supports_chat = True

    def __init__(
        self,
        *,
        rule: Callable[[str, str], float] = understands_when_told_labels,
        name: str = "fake",
    ) -> None:
        self.rule = rule
        self.name = name
        self.calls = 0

    def score(self, text: str | Conversation, continuations: Sequence[str], *, chat: bool = False,
              on_usage: UsageSink | None = None) -> list[float]:
        self.calls += 1
        text = as_text(text)
        return [-1.0 - 2.0 * _noise(text, c, str(chat)) + self.rule(text, c) for c in continuations]

    def generate(self, text: str | Conversation, *, chat: bool = False, max_tokens: int = 16,
                 stop: Sequence[str] = (), on_usage: UsageSink | None = None, temperature: float = 0.0,
                 seed: int | None = None, json_schema: str | None = None) -> str:
        """Echoes the last input, put in the past tense when the prompt says "past" (most of the
        time). Sampling drifts from that answer with probability ``temperature`` times 0.6, or
        times 0.15 when the prompt asks for a short answer. Asked for JSON, see ``_fake_json``."""
        self.calls += 1
        text = as_text(text)
        if "Answer to grade:" in text:
            return _fake_grade(text)
        if json_schema is not None:
            return _fake_json(text, json_schema)
        value = _last_input(text).split(":", 1)[-1].strip().strip('"')
        if "past" in text.lower() and _noise(text, str(chat)) > 0.3:
            value += "d" if value.endswith("e") else "ed"
        steady = 0.15 if "short" in text.lower() else 0.6
        if temperature > 0 and _noise(text, str(seed)) < min(1.0, temperature * steady):
            return f"{value} {('maybe', 'probably', 'I think', 'perhaps')[int(_noise(str(seed), text) * 4)]}"
        return value


def _fake_json(text: str, json_schema: str) -> str:
    """The fake asked for JSON: the schema's properties found as ``property: value`` in the last
    input, each kept unless hash noise drops it (never when the prompt says "every field"); an
    input that says "garbled" gets an answer that is not JSON."""
    source = _last_input(text)
    if "garbled" in source:
        return "{garbled"
    names = list(json.loads(json_schema).get("properties", {}))
    found = {name: m.group(1).strip() for name in names
             if (m := re.search(rf"\b{re.escape(name)}\s*[:=]\s*([^,;\n]+)", source, re.I))}
    keep_all = "every field" in text.lower()
    return json.dumps({k: v for k, v in found.items() if keep_all or _noise(text, k) > 0.25})


def _fake_grade(text: str) -> str:
    """The fake as a judge: 5 for the reference answer, 2 for a longer one, 1 otherwise."""
    fields = dict(re.findall(r"^(Reference answer|Answer to grade): (.*)$", text, re.M))
    answer, reference = fields.get("Answer to grade", "").strip(), fields.get("Reference answer", "").strip()
    if answer.lower() == reference.lower():
        return "Score: 5\nReason: The answer matches the reference."
    if len(answer.split()) > len(reference.split()):
        return "Score: 2\nReason: The answer is too long; it adds words the reference does not have."
    return "Score: 1\nReason: The answer does not match the reference."


@runtime_checkable
class RateLimited(Protocol):
    """A backend behind an API with limits of its own."""

    @property
    def limits(self) -> Limits: ...


@runtime_checkable
class Parameterized(Protocol):
    """A backend whose request settings shape every answer (added to every cache key)."""

    @property
    def params(self) -> Mapping[str, object]: ...


@runtime_checkable
class Priced(Protocol):
    """A backend whose model id a price table knows (the name may carry a URL)."""

    @property
    def model(self) -> str: ...


@runtime_checkable
class OwnPrices(Protocol):
    """A backend that knows its model's price: USD per million input, output (and cached input) tokens."""

    def rates(self) -> tuple[float, ...] | None: ...


@runtime_checkable
class Resettable(Protocol):
    """A backend with state (a KV cache) that can be forgotten, for exactly reproducible scoring."""

    def reset(self) -> None: ...


@runtime_checkable
class TokenCounting(Protocol):
    """A backend that can count a prompt's tokens itself."""

    def count_tokens(self, text: str | Conversation, *, chat: bool = False) -> int: ...


@dataclass(frozen=True)
class Scored:
    """One request of a batch: its continuations' log-likelihoods, or why the example failed; and its usage."""

    scores: tuple[float, ...] = ()
    error: str = ""
    usage: Usage = field(default_factory=Usage)


@runtime_checkable
class BatchScoring(Protocol):
    """A backend that scores several requests (the examples of one prompt) together, faster than
    one at a time: ``score_many`` returns one ``Scored`` per request, in order; ``batch_size`` is
    how many requests it takes at once (1: it scores one at a time, as ``score`` does)."""

    @property
    def batch_size(self) -> int: ...

    def score_many(self, texts: Sequence[str | Conversation], continuations: Sequence[str], *,
                   chat: bool = False) -> list[Scored]: ...


@dataclass(frozen=True)
class Generated:
    """One request of a batch: its answer, or why the example failed; and its usage."""

    text: str = ""
    error: str = ""
    usage: Usage = field(default_factory=Usage)


@runtime_checkable
class BatchGenerating(Protocol):
    """A backend that generates answers to several requests together (``batch_size`` from
    ``BatchScoring`` says how many at once): one ``Generated`` per request, in order; greedy, or
    sampled at ``temperature`` with ``seed`` for every request, as ``generate`` would answer each."""

    def generate_many(self, texts: Sequence[str | Conversation], *, chat: bool = False, max_tokens: int = 16,
                      stop: Sequence[str] = (), temperature: float = 0.0, seed: int | None = None
                      ) -> list[Generated]: ...


@dataclass(frozen=True)
class TopTokens:
    """One request of a batch: the most likely next tokens after it, each as the model writes it
    (leading space included) with its log-probability, most likely first; or why it failed."""

    tokens: tuple[tuple[str, float], ...] = ()
    error: str = ""
    usage: Usage = field(default_factory=Usage)


@runtime_checkable
class NextTokens(Protocol):
    """A backend that lists the ``top`` most likely next tokens after each of several requests: one
    ``TopTokens`` per request, in order. The label-word search reads the model's own vocabulary
    through it."""

    def next_tokens(self, texts: Sequence[str | Conversation], *, chat: bool = False,
                    top: int = 200) -> list[TopTokens]: ...


@runtime_checkable
class ChatAPI(Protocol):
    """A backend whose every request is a list of chat messages (a hosted chat API), so a system
    message and demonstration turns are possible whatever the addressing (``takes_messages``)."""

    @property
    def chat_api(self) -> bool: ...


@runtime_checkable
class PromptCaching(Protocol):
    """A backend whose API caches prompts by a key: ``with_cache_key(key)`` is the same backend
    sending ``key`` with its requests (it changes what the provider caches, never the answer)."""

    def with_cache_key(self, key: str) -> Backend: ...


NO_LIMITS_BUT_ONE_AT_A_TIME = Limits(concurrency=1)


def limits_of(backend: Backend) -> Limits:
    """The backend's limits; a backend without any gets one request at a time."""
    return backend.limits if isinstance(backend, RateLimited) else NO_LIMITS_BUT_ONE_AT_A_TIME


def params_of(backend: Backend) -> Mapping[str, object]:
    return backend.params if isinstance(backend, Parameterized) else {}


def priced_model(backend: Backend) -> str:
    return backend.model if isinstance(backend, Priced) else backend.name


def own_rates(backend: Backend) -> tuple[float, ...] | None:
    return backend.rates() if isinstance(backend, OwnPrices) else None


def cache_keyed(backend: Backend, key: str) -> Backend:
    """``backend`` sending the prompt-cache ``key``, where its API takes one."""
    return backend.with_cache_key(key) if key and isinstance(backend, PromptCaching) else backend


def reset(backend: Backend) -> None:
    if isinstance(backend, Resettable):
        backend.reset()


def batch_size(backend: Backend) -> int:
    """How many requests ``backend`` scores at once (1 unless it does batches)."""
    return max(1, int(backend.batch_size)) if isinstance(backend, BatchScoring) else 1


def takes_messages(backend: Backend) -> bool:
    """Whether every request to ``backend`` goes as chat messages (else only chat addressing does)."""
    return isinstance(backend, ChatAPI) and bool(backend.chat_api)


def count_tokens(backend: Backend, text: str | Conversation, *, chat: bool = False) -> int:
    """The prompt's length in tokens: the backend's own count when it has one, else chars / 4."""
    if isinstance(backend, TokenCounting):
        return int(backend.count_tokens(text, chat=chat))
    return max(1, round(len(as_text(text)) / 4))


