"""Retry timing (pure): exponential backoff with full jitter, and Retry-After parsing."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


@dataclass
class Backoff:
    """Delay before retry number `attempt` (0-based): uniform in [0, min(cap, base*2^attempt)],
    but never shorter than a server's Retry-After (itself capped)."""

    base: float = 0.5
    cap: float = 60.0
    rand: Callable[[], float] = field(default=random.random)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        ceiling = min(self.cap, self.base * 2 ** min(attempt, 62))
        jittered = ceiling * self.rand()
        if retry_after is not None:
            return max(jittered, min(retry_after, self.cap))
        return jittered


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delay-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())
