"""Rate limits: requests per minute and tokens per minute, shared by all threads.

Contract: ``RateLimiter(rpm, tpm).acquire(tokens)`` blocks until one more request of
about ``tokens`` tokens fits in both sliding one-minute windows. ``None`` means no
limit. The clock and sleep are injectable for tests. ``Limiter`` is the one-method contract a
``Client`` takes (a shared run's limiter counts every process's requests in its database);
``wait_time(events, now, ...)`` is the window arithmetic both use: how long until one more
request fits, given the (time, tokens) of the requests of the last minute, oldest first.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Protocol


class Limiter(Protocol):
    """Blocks until one more request of about ``tokens`` tokens is allowed."""

    def acquire(self, tokens: int = 0) -> None: ...


def wait_time(events: Sequence[tuple[float, int]], now: float, rpm: float | None, tpm: float | None,
              tokens: int) -> float:
    """Seconds until one more request of ``tokens`` tokens fits in both one-minute windows (0: now),
    given the (time, tokens) of the requests made in the last minute, oldest first."""
    waits = [0.0]
    if rpm is not None and len(events) >= rpm:
        waits.append(60.0 - (now - events[int(len(events) - rpm)][0]))
    if tpm is not None:
        used = sum(t for _, t in events)
        for stamp, spent in events:
            if used + tokens <= tpm:
                break
            used -= spent
            waits.append(60.0 - (now - stamp))
    return max(waits)


class RateLimiter:
    """Sliding-window limiter for requests and tokens per minute."""

    def __init__(self, rpm: float | None = None, tpm: float | None = None, *,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self.rpm = rpm
        self.tpm = tpm
        self.clock = clock
        self.sleep = sleep
        self._events: deque[tuple[float, int]] = deque()
        self._lock = threading.Lock()

    def _wait_time(self, now: float, tokens: int) -> float:
        while self._events and now - self._events[0][0] >= 60.0:
            self._events.popleft()
        return wait_time(self._events, now, self.rpm, self.tpm, tokens)

    def acquire(self, tokens: int = 0) -> None:
        if self.rpm is None and self.tpm is None:
            return
        while True:
            with self._lock:
                now = self.clock()
                wait = self._wait_time(now, tokens)
                if wait <= 0:
                    self._events.append((now, tokens))
                    return
            self.sleep(wait)
