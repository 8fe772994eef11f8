"""Requests- and tokens-per-minute limits, on a fake clock."""

from __future__ import annotations

from autoprompt.models.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_requests_per_minute() -> None:
    clock = Clock()
    limiter = RateLimiter(rpm=2, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        limiter.acquire()
    assert clock.slept == [60.0]


def test_tokens_per_minute() -> None:
    clock = Clock()
    limiter = RateLimiter(tpm=1000, clock=clock, sleep=clock.sleep)
    limiter.acquire(600)
    clock.now = 10.0
    limiter.acquire(600)
    assert clock.slept == [50.0]


def test_no_limits_never_wait() -> None:
    clock = Clock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    for _ in range(100):
        limiter.acquire(10_000)
    assert clock.slept == []
