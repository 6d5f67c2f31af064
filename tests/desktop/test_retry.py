"""Backoff bounds and which errors are retried, restarted or final."""

from __future__ import annotations

import random

import pytest

from desktop_app.errors import ApiError, LocalFileError, ServerUnreachable
from desktop_app.retry import Action, RetryPolicy, classify


def test_backoff_grows_exponentially_within_jitter_bounds_and_is_capped():
    policy = RetryPolicy(base=0.5, cap=30.0)
    rng = random.Random(7)
    for attempt in range(12):
        low, high = policy.bounds(attempt)
        assert high == min(30.0, 0.5 * 2**attempt)
        assert low == high / 2
        samples = [policy.delay(attempt, rng=rng) for _ in range(500)]
        assert all(low <= s <= high for s in samples)
        assert max(samples) - min(samples) > (high - low) * 0.5  # really jittered
    assert policy.bounds(100) == (15.0, 30.0)


def test_retry_after_is_honoured_but_bounded():
    policy = RetryPolicy(base=0.5, cap=30.0, max_retry_after=120.0)
    assert policy.delay(0, retry_after=10.0) == 10.0
    assert policy.delay(0, retry_after=10_000.0) == 120.0
    # A Retry-After shorter than the backoff does not make the client hammer the server.
    assert 15.0 <= policy.delay(10, retry_after=1.0) <= 30.0


def test_connection_failures_are_retried():
    assert classify(ServerUnreachable("http://x")) is Action.RETRY
    assert classify(ServerUnreachable("http://x", timed_out=True)) is Action.RETRY


@pytest.mark.parametrize(
    ("status", "code", "action"),
    [
        (500, "internal_error", Action.RETRY),
        (502, "http_502", Action.RETRY),
        (503, "unavailable", Action.RETRY),
        (504, "http_504", Action.RETRY),
        (429, "too_many_requests", Action.RETRY),
        (423, "upload_locked", Action.RETRY),
        (409, "offset_mismatch", Action.RETRY),
        (460, "checksum_mismatch", Action.RETRY),
        (404, "upload_not_found", Action.RESTART),
        (410, "upload_expired", Action.RESTART),
        (404, "folder_not_found", Action.FAIL),
        (400, "invalid_name", Action.FAIL),
        (401, "unauthorized", Action.FAIL),
        (413, "too_large", Action.FAIL),
        (422, "sha256_mismatch", Action.FAIL),
        (520, "http_520", Action.RETRY),
        (599, "http_599", Action.RETRY),
        (501, "http_501", Action.FAIL),
        (507, "insufficient_storage", Action.FAIL),
    ],
)
def test_http_errors_are_classified(status, code, action):
    assert classify(ApiError(code, "detail", status)) is action


def test_local_file_problems_are_final():
    assert classify(LocalFileError("gone")) is Action.FAIL
