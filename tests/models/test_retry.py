"""Retrying only what is transient, honouring Retry-After, and giving up cleanly."""

from __future__ import annotations

import pytest

from autoprompt.errors import ExampleFailed, ModelError
from autoprompt.models.retry import RetryPolicy, TransientError, call_with_retries, parse_retry_after, status_error

POLICY = RetryPolicy(attempts=4, initial_wait=0.01, max_wait=5.0)


def flaky(failures: list[Exception], result: str = "ok"):  # type: ignore[no-untyped-def]
    calls = {"n": 0}

    def fn() -> str:
        calls["n"] += 1
        if failures:
            raise failures.pop(0)
        return result

    return fn, calls


def test_transient_errors_are_retried_and_retry_after_is_honoured() -> None:
    sleeps: list[float] = []
    fn, calls = flaky([TransientError("429", retry_after=2.0), TransientError("500")])
    assert call_with_retries(fn, POLICY, sleep=sleeps.append) == "ok"
    assert calls["n"] == 3
    assert sleeps[0] >= 2.0 and sleeps[1] < 2.0


def test_fatal_errors_are_not_retried() -> None:
    fn, calls = flaky([ModelError("bad key")])
    with pytest.raises(ModelError):
        call_with_retries(fn, POLICY, sleep=lambda s: None)
    assert calls["n"] == 1


def test_giving_up_fails_the_example_not_the_run() -> None:
    fn, calls = flaky([TransientError("503")] * 10)
    with pytest.raises(ExampleFailed, match="gave up after 4 attempts"):
        call_with_retries(fn, POLICY, sleep=lambda s: None)
    assert calls["n"] == 4


@pytest.mark.parametrize(("status", "kind"), [(429, TransientError), (500, TransientError), (529, TransientError),
                                              (503, TransientError), (401, ModelError), (400, ModelError),
                                              (404, ModelError)])
def test_status_mapping(status: int, kind: type) -> None:
    error = status_error(status, "x", retry_after=None, key_env="OPENAI_API_KEY", model="m")
    assert isinstance(error, kind)
    if status == 401:
        assert "OPENAI_API_KEY" in str(error)


def test_retry_after_parsing() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") is None
