"""An optional upload bandwidth limit shared by every transfer of an engine."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RateLimiter:
    """A token bucket: at most ``rate`` bytes per second on average across all callers,
    with bursts of up to ``burst_seconds`` worth of bytes. ``None`` or 0: unlimited."""

    def __init__(
        self,
        rate: float | None = None,
        *,
        burst_seconds: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._burst_seconds = burst_seconds
        self._rate: float | None = None
        self._tokens = 0.0
        self._stamp = clock()
        self.set_rate(rate)

    @property
    def rate(self) -> float | None:
        return self._rate

    def set_rate(self, rate: float | None) -> None:
        with self._lock:
            self._rate = float(rate) if rate and rate > 0 else None
            self._tokens = 0.0
            self._stamp = self._clock()

    def _capacity(self, rate: float) -> float:
        return max(rate * self._burst_seconds, 64 * 1024)

    def delay_for(self, amount: int) -> float:
        """Take ``amount`` bytes from the bucket; the seconds to wait before sending them."""
        with self._lock:
            rate = self._rate
            if rate is None:
                return 0.0
            now = self._clock()
            self._tokens = min(self._capacity(rate), self._tokens + (now - self._stamp) * rate)
            self._stamp = now
            self._tokens -= amount
            return 0.0 if self._tokens >= 0 else -self._tokens / rate

    def consume(self, amount: int, wait: Callable[[float], object]) -> None:
        """Block (through ``wait``, e.g. an abort event's ``wait``) until ``amount`` bytes
        may go out."""
        delay = self.delay_for(amount)
        if delay > 0:
            wait(delay)
