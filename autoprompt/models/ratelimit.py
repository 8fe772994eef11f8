"""Rate limits: requests per minute and tokens per minute, shared by all threads.

Contract: ``RateLimiter(rpm, tpm).acquire(tokens)`` blocks until one more request of
about ``tokens`` tokens fits in both sliding one-minute windows. ``None`` means no
limit. The clock and sleep are injectable for tests.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


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
        waits = [0.0]
        if self.rpm is not None and len(self._events) >= self.rpm:
            waits.append(60.0 - (now - self._events[0][0]))
        if self.tpm is not None:
            used = sum(t for _, t in self._events)
            for stamp, spent in self._events:
                if used + tokens <= self.tpm:
                    break
                used -= spent
                waits.append(60.0 - (now - stamp))
        return max(waits)

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
