from datetime import UTC, datetime

from backend.backoff import Backoff, parse_retry_after


def test_delay_grows_exponentially_up_to_the_cap() -> None:
    backoff = Backoff(base=0.5, cap=60.0, rand=lambda: 1.0)
    assert [backoff.delay(n) for n in range(4)] == [0.5, 1.0, 2.0, 4.0]
    assert backoff.delay(10) == 60.0
    assert backoff.delay(10_000) == 60.0


def test_full_jitter_scales_the_ceiling() -> None:
    assert Backoff(base=1.0, cap=60.0, rand=lambda: 0.25).delay(3) == 2.0
    assert Backoff(base=1.0, cap=60.0, rand=lambda: 0.0).delay(3) == 0.0


def test_retry_after_is_a_floor_but_capped() -> None:
    backoff = Backoff(base=0.5, cap=60.0, rand=lambda: 0.0)
    assert backoff.delay(0, retry_after=7.0) == 7.0
    assert backoff.delay(0, retry_after=3600.0) == 60.0
    assert Backoff(base=32.0, cap=60.0, rand=lambda: 1.0).delay(1, retry_after=2.0) == 60.0


def test_parse_retry_after() -> None:
    now = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Mon, 01 Jan 2024 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("Mon, 01 Jan 2024 11:00:00 GMT", now) == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
