"""The shared bandwidth limit, driven by a fake clock."""

from __future__ import annotations

from desktop_app.throttle import RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def wait(self, seconds: float) -> None:
        self.now += seconds


def test_unlimited_never_waits():
    limiter = RateLimiter(None)
    assert limiter.delay_for(10**9) == 0.0


def test_average_rate_is_held_across_callers():
    clock = FakeClock()
    limiter = RateLimiter(1_000_000, clock=clock)
    sent = 0
    while sent < 10_000_000:
        limiter.consume(256 * 1024, clock.wait)
        sent += 256 * 1024
    elapsed = clock.now - 100.0
    burst = 256 * 1024  # the first block goes out at once
    assert (sent - burst) / 1_000_000 - 0.01 <= elapsed <= sent / 1_000_000 + 0.01


def test_changing_the_rate_applies_at_once():
    clock = FakeClock()
    limiter = RateLimiter(1000, clock=clock)
    assert limiter.delay_for(2000) > 1.0
    limiter.set_rate(0)
    assert limiter.rate is None
    assert limiter.delay_for(10**6) == 0.0
