"""Retries: which failures deserve another try, how long to wait, and when to give up.

Contract:
- Backends turn a transient failure (429, 5xx including Anthropic's 529, timeouts,
  dropped connections, a malformed response body) into ``TransientError``, carrying
  the server's ``Retry-After`` when it sent one, and any other failure of the
  request (bad key, unknown model, other 4xx) into ``ModelConfigError``, which is fatal.
- ``call_with_retries(fn, policy)`` retries only ``TransientError``, with exponential
  backoff and jitter (tenacity), waiting at least ``Retry-After``, for at most
  ``policy.attempts`` attempts; then the example fails (``ExampleFailed``), the run goes on.
- ``status_error(status, ...)`` maps an HTTP status to the right exception, with a
  message that says what to fix.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from autoprompt.errors import AutopromptError, ExampleFailed, MissingDependency, ModelConfigError

T = TypeVar("T")
TRANSIENT_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 529})


class TransientError(AutopromptError):
    """A failure worth retrying; ``retry_after`` is the server's requested wait in seconds."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts in all, backoff bounds and the per-request timeout (seconds)."""

    attempts: int = 6
    initial_wait: float = 0.5
    max_wait: float = 30.0
    timeout: float = 60.0


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds form); None if absent or unparseable."""
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def status_error(status: int, message: str, *, retry_after: float | None, key_env: str, model: str) -> Exception:
    """The exception for an HTTP error status."""
    if status in TRANSIENT_STATUS:
        return TransientError(f"HTTP {status}: {message}", retry_after)
    if status in (401, 403):
        return ModelConfigError(f"the server rejected the API key (HTTP {status}); set a valid key in {key_env}")
    if status == 404:
        return ModelConfigError(f"model '{model}' or its endpoint was not found (HTTP 404); check the name in --model")
    return ModelConfigError(f"the request was refused (HTTP {status}: {message}); check --model and its parameters")


def _wait(policy: RetryPolicy) -> Callable[[Any], float]:
    import tenacity

    # exponential with up to a second of jitter, from waits every tenacity since 8.2 has (the jitter wait's
    # own ``multiplier`` only came in 9.2, and its ``initial`` warns there)
    backoff = tenacity.wait_exponential(multiplier=policy.initial_wait, max=policy.max_wait) \
        + tenacity.wait_random(0, 1)

    def wait(state: Any) -> float:
        exc = state.outcome.exception() if state.outcome else None
        delay = min(float(backoff(state)), policy.max_wait)
        if isinstance(exc, TransientError) and exc.retry_after is not None:
            delay = max(delay, min(exc.retry_after, policy.max_wait))
        return delay

    return wait


def call_with_retries(fn: Callable[[], T], policy: RetryPolicy, *, sleep: Callable[[float], None] | None = None) -> T:
    """Run ``fn``, retrying transient failures; a request that never succeeds fails its example."""
    try:
        import tenacity
    except ImportError:
        raise MissingDependency("tenacity") from None
    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(TransientError),
        stop=tenacity.stop_after_attempt(policy.attempts),
        wait=_wait(policy),
        reraise=True,
        sleep=sleep or time.sleep,
    )
    try:
        return retrying(fn)
    except TransientError as exc:
        raise ExampleFailed(f"{exc} (gave up after {policy.attempts} attempts)", cacheable=False) from None
