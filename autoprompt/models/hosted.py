"""Hosted-API backends: what every chat API backend shares.

Contract:
- ``APIBackend`` implements the ``Backend`` protocol on top of one method that
  subclasses provide, ``_complete(text, max_tokens, logprobs) -> Completion``: one
  chat request, greedy (temperature 0), of ``text`` as the user turn, or of the conversation's
  messages (its system message in the API's own place for one).
- Classification: the generated answer is parsed into a label (case, punctuation,
  underscores and surrounding words are tolerated). Where the API returns
  logprobs, the labels' first-token log-probabilities are used as scores, so
  calibration works; otherwise the parsed label scores 0 and the rest -50. An
  answer that names no label is a failed example.
- Every request goes through ``call_with_retries``; limits on concurrent requests,
  requests per minute and tokens per minute are given as ``Limits``.
- Keys come only from the environment variable named by ``key_env`` and are never
  put in names, cache keys, messages or logs. A self-hosted server (``@BASE_URL``)
  may run without a key. Credentials inside a URL (``https://user:key@host``, from
  ``OPENAI_BASE_URL`` say) are sent to the server but shown as ``***@host`` everywhere
  (``without_credentials``); a key sent to a host other than the provider's own API or
  this machine is announced once with a ``KeySentElsewhere`` warning, before the first call.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from autoprompt.answers import label_form, parse_label
from autoprompt.errors import ConfigError, ExampleFailed, ModelError, require, without_credentials
from autoprompt.models.backend import Limits
from autoprompt.models.retry import RetryPolicy, TransientError, call_with_retries, parse_retry_after, status_error
from autoprompt.records.message import Conversation
from autoprompt.records.model_spec import PROVIDERS, ModelSpec
from autoprompt.records.usage import Usage
from autoprompt.wire import RequestOptions, sent_stops

UNCHOSEN = -50.0
NO_KEY = "no-key-needed"


@dataclass(frozen=True)
class Completion:
    """One chat completion: the text, the first token's top log-probabilities (if any), and usage."""

    text: str
    first_token_logprobs: Mapping[str, float] | None = field(default=None, hash=False)
    usage: Usage = field(default_factory=Usage)


def label_scores(completion: Completion, continuations: Sequence[str]) -> list[float]:
    """Scores for each label from one completion; raises ``ExampleFailed`` if none is recognisable."""
    chosen = parse_label(completion.text, continuations)
    if completion.first_token_logprobs:
        scores = [_first_token_score(completion.first_token_logprobs, c) for c in continuations]
        best = max(range(len(scores)), key=lambda i: scores[i])
        if scores[best] > UNCHOSEN and (chosen is None or chosen == best):
            return scores
    if chosen is None:
        raise ExampleFailed(f"the answer {completion.text.strip()[:80]!r} names none of the labels")
    return [0.0 if i == chosen else UNCHOSEN for i in range(len(continuations))]


def _first_token_score(top: Mapping[str, float], continuation: str) -> float:
    target = label_form(continuation)
    matches = [lp for token, lp in top.items() if label_form(token) and target.startswith(label_form(token))]
    return max(matches) if matches else UNCHOSEN


class KeySentElsewhere(UserWarning):
    """An API key is about to be sent to a server other than the provider's own API."""


LOOPBACK = ("localhost", "127.0.0.1", "::1", "0.0.0.0")


def announce_key(key_env: str, base_url: str) -> None:
    """Warn that the key in ``key_env`` goes to ``base_url``, unless that is this machine."""
    host = urlsplit(base_url if "://" in base_url else f"http://{base_url}").hostname or ""
    if host in LOOPBACK or host.startswith("127."):
        return
    import warnings

    warnings.warn(f"the API key in {key_env} is sent to {without_credentials(base_url)}, not to the provider's own "
                  "API; pass another --api-key-env (or unset the base URL) if that host must not have it",
                  KeySentElsewhere, stacklevel=2)


def api_key(env: str, *, required: bool) -> str:
    """The key in ``env``; without one, a self-hosted server gets a placeholder and a hosted API an error."""
    key = os.environ.get(env, "").strip()
    if key:
        return key
    if required:
        raise ConfigError(f"{env} is not set; export your API key as {env}, or pass a self-hosted server as MODEL@URL")
    return NO_KEY


def split_spec(spec: str, api: str) -> tuple[str, str | None]:
    """``PROVIDER:MODEL[@BASE_URL]`` (or ``PROVIDER/MODEL``, as LiteLLM users write it) for a provider
    speaking ``api`` -> (MODEL, BASE_URL or None), refusing a spec with no model or with credentials in
    its URL."""
    parsed = ModelSpec.parse(spec)
    known = PROVIDERS.get(parsed.provider)
    if known is None or known.api != api or not parsed.model:
        provider = parsed.provider if known is not None else api
        raise ConfigError(f"model spec '{spec}' names no model; use {provider}:MODEL or {provider}:MODEL@BASE_URL")
    provider = parsed.provider
    base = parsed.base_url
    if base and ("@" in base or ("://" in base and (urlsplit(base).username or urlsplit(base).password))):
        raise ConfigError(f"the base URL of the {provider} model spec holds credentials (user:key@host); they would "
                          "be saved with the run: put the key in an environment variable instead, and the URL "
                          "without it in the spec")
    return parsed.model, base


@dataclass
class _Connection:
    """The SDK client of a backend and what its requests learned, shared by its views."""

    client: Any = None
    key: str = ""
    reached: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


class APIBackend:
    """Shared behaviour of chat-API backends; subclasses implement ``_complete``.

    Subclasses name their provider (the spec prefix), the environment variable of the
    key, the SDK module and its client class, and whether the API returns logprobs.
    """

    provider = "api"
    key_env = ""
    sdk_module = ""
    client_class = ""
    has_logprobs = True
    supports_chat = False  # every request is already a chat message; there is no raw mode to choose
    chat_api = True  # so a system message and demonstration turns go as they are
    own_endpoint = False  # True: the provider has no one URL (Azure's resources, Bedrock's and Vertex's regions)

    @classmethod
    def from_spec(cls, spec: str, *, key_env: str | None = None, **options: Any) -> APIBackend:
        """Build from ``PROVIDER:MODEL[@BASE_URL]``: the provider's base URL and key variable
        (``records.model_spec.PROVIDERS``) unless the spec or ``key_env`` names others."""
        model, base_url = split_spec(spec, PROVIDERS[cls.provider].api)
        provider = PROVIDERS[ModelSpec.parse(spec).provider]
        return cls(model, base_url=base_url or provider.base_url, key_env=key_env or provider.key_env,
                   own_base_url=provider.base_url, key_required=provider.key_required and base_url is None, **options)

    def _sdk(self) -> Any:
        return require(self.sdk_module)

    def _client(self) -> Any:
        """The SDK client, created once, on first use (the key is read from the environment then):
        the first requests of a concurrent batch all ask at once, and share one connection pool."""
        connection = self._connection
        with connection.lock:
            if connection.client is None:
                connection.key = api_key(self.key_env, required=self.key_required)
                if connection.key != NO_KEY and self.base_url not in (None, self.own_base_url):
                    announce_key(self.key_env, self.base_url)
                connection.client = getattr(self._sdk(), self.client_class)(
                    max_retries=0, timeout=self.policy.timeout, **self._where(connection.key))
            return connection.client

    def _where(self, key: str) -> dict[str, Any]:
        """The SDK client's arguments that say where requests go and who sends them."""
        return {"api_key": key, "base_url": self.base_url}

    @property
    def _key(self) -> str:
        return self._connection.key

    @property
    def _reached(self) -> bool:
        """Whether any request got an answer (a refused connection before that means nothing listens)."""
        return self._connection.reached

    @_reached.setter
    def _reached(self, value: bool) -> None:
        self._connection.reached = value
    base_url_env = ""  # the SDK's own base-URL variable: read here, so it is part of the name and every cache key

    def __init__(self, model: str, *, base_url: str | None = None, policy: RetryPolicy | None = None,
                 limits: Limits | None = None, max_tokens: int = 12, logprobs: bool = True,
                 extra_body: Mapping[str, object] | None = None, key_env: str | None = None,
                 options: Mapping[str, object] | None = None, own_base_url: str | None = None,
                 key_required: bool | None = None) -> None:
        self.model = model
        self.base_url = base_url or (os.environ.get(self.base_url_env, "").strip() or None if self.base_url_env
                                     else None)
        self.key_env = key_env or self.key_env
        if self.own_endpoint:  # whatever endpoint it names is the provider's own, and it needs a key there or not
            own_base_url, key_required = self.base_url, PROVIDERS[self.provider].key_required
        self.own_base_url = own_base_url  # the provider's own API: its key goes there without a warning
        self.key_required = self.base_url is None if key_required is None else key_required
        self.policy = policy or RetryPolicy()
        self.limits = limits or Limits()
        self.max_tokens = max_tokens
        self.request = RequestOptions.of(model, options)  # what the exports write down too
        self.reasoning = self.request.reasoning
        self.completion_tokens = self.request.completion_tokens
        self.logprobs = logprobs and self.has_logprobs and not self.reasoning
        self.extra_body = {**dict(extra_body or {}), **self.request.extra}
        self._connection = _Connection()  # shared with ``copy.copy`` views of this backend

    @property
    def name(self) -> str:
        return f"{self.provider}:{self.model}" + (f"@{without_credentials(self.base_url)}" if self.base_url else "")

    @property
    def params(self) -> dict[str, object]:
        """Sampling parameters that shape every answer; part of every cache key."""
        reasoning = {"reasoning": True, "max_completion_tokens": self.completion_tokens} if self.reasoning else {}
        return {"temperature": 0.0, "max_tokens": self.max_tokens, "logprobs": self.logprobs,
                "extra_body": self.extra_body, **reasoning}

    def _complete(self, text: str | Conversation, max_tokens: int, logprobs: bool, temperature: float = 0.0,
                  seed: int | None = None, stop: Sequence[str] = (), json_schema: str | None = None) -> Completion:
        raise NotImplementedError

    def _request(self, text: str | Conversation, max_tokens: int, logprobs: bool,
                 on_usage: Callable[[Usage], None] | None, temperature: float = 0.0, seed: int | None = None,
                 stop: Sequence[str] = (), json_schema: str | None = None) -> Completion:
        completion = call_with_retries(lambda: self._complete(text, max_tokens, logprobs, temperature, seed,
                                                              sent_stops(stop), json_schema), self.policy)
        if on_usage is not None:
            on_usage(completion.usage)
        return completion

    def score(self, text: str | Conversation, continuations: Sequence[str], *, chat: bool = False,
              on_usage: Callable[[Usage], None] | None = None) -> list[float]:
        completion = self._request(text, self.max_tokens, self.logprobs, on_usage)
        return label_scores(completion, continuations)

    def generate(self, text: str | Conversation, *, chat: bool = False, max_tokens: int = 16,
                 stop: Sequence[str] = (), on_usage: Callable[[Usage], None] | None = None,
                 temperature: float = 0.0, seed: int | None = None, json_schema: str | None = None) -> str:
        return self._request(text, max_tokens, False, on_usage, temperature, seed, stop, json_schema).text


def first_line_message(exc: BaseException, secret: str) -> str:
    """A one-line description of an SDK error, with the key removed."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if secret and secret != NO_KEY:
        text = text.replace(secret, "***")
    return without_credentials(re.sub(r"(sk|key)-[A-Za-z0-9_\-*]{6,}", r"\1-***", text))[:200]


def translate_sdk_error(sdk: object, exc: BaseException, backend: APIBackend, secret: str, reached: bool) -> Exception:
    """Map an error from the ``openai`` or ``anthropic`` SDK (same exception names) to ours.

    Status errors map by code, timeouts are transient, a refused connection before any
    success is fatal (nothing is listening), and anything else (a body that is not
    JSON, a validation error) is a malformed response, which is transient.
    """
    message = first_line_message(exc, secret)
    if isinstance(exc, sdk.APIStatusError):  # type: ignore[attr-defined]
        retry_after = parse_retry_after(exc.response.headers.get("retry-after"))
        key_env = backend.key_env or "the variable LiteLLM reads for this provider (or name one with --api-key-env)"
        return status_error(exc.status_code, message, retry_after=retry_after, key_env=key_env, model=backend.model)
    if isinstance(exc, sdk.APITimeoutError):  # type: ignore[attr-defined]
        return TransientError(f"request timed out after {backend.policy.timeout:g}s")
    if isinstance(exc, sdk.APIConnectionError):  # type: ignore[attr-defined]
        if not reached:
            where = without_credentials(backend.base_url or f"the {backend.provider} API")
            return ModelError(f"cannot connect to {where} ({message}); start the server, or fix the URL in the "
                              f"model spec {backend.name} (--model, --optimizer-model or --judge-model)")
        return TransientError(f"connection error: {message}")
    return TransientError(f"malformed response: {message}")


@contextmanager
def malformed_response() -> Iterator[None]:
    """Reading a response that lacks the expected fields is a transient failure."""
    try:
        yield
    except (AttributeError, KeyError, IndexError, TypeError, ValueError) as exc:
        raise TransientError(f"malformed response: {type(exc).__name__}: {exc}") from None
