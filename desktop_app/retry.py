"""When to retry a failed request, and how long to wait before doing so."""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass

from desktop_app.errors import ApiError, ServerUnreachable

RETRYABLE_STATUSES = frozenset({408, 423, 425, 429, 500, 502, 503, 504})
# Server errors that repeat however often the request is sent: not implemented, HTTP
# version, and a full disk (507), which needs a person; the transfer fails with the
# server's sentence and can be retried by hand.
FINAL_SERVER_STATUSES = frozenset({501, 505, 507})


class Action(enum.Enum):
    """What an upload does about an error."""

    RETRY = "retry"  # wait, then ask the server for its offset and carry on
    RESTART = "restart"  # the server no longer knows the upload: start again from zero
    FAIL = "fail"  # retrying cannot help


def classify(exc: BaseException) -> Action:
    """Sort an error from a tus exchange into retry, restart or fail."""
    if isinstance(exc, ServerUnreachable):
        return Action.RETRY
    if isinstance(exc, ApiError):
        if exc.status in (404, 410) and exc.code in (
            "upload_not_found",
            "upload_expired",
            "http_404",
            "http_410",
        ):
            return Action.RESTART
        if exc.status in RETRYABLE_STATUSES:
            return Action.RETRY
        if exc.status >= 500 and exc.status not in FINAL_SERVER_STATUSES:
            return Action.RETRY
        # offset_mismatch: resynchronise with HEAD; checksum_mismatch: the chunk was
        # damaged on the way and discarded, send it again.
        if exc.code in ("offset_mismatch", "checksum_mismatch") or exc.status == 460:
            return Action.RETRY
    return Action.FAIL


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, honouring the server's ``Retry-After``.

    The n-th retry (n from 0) waits between half and all of ``min(cap, base * 2**n)``,
    so waits grow steadily while clients that failed together spread out.
    """

    max_attempts: int = 8
    base: float = 0.5
    cap: float = 30.0
    max_retry_after: float = 300.0

    def delay(
        self, attempt: int, retry_after: float | None = None, rng: random.Random | None = None
    ) -> float:
        ceiling = min(self.cap, self.base * (2 ** min(attempt, 32)))
        pick = (rng or random).uniform(ceiling / 2, ceiling)
        if retry_after is not None:
            return min(self.max_retry_after, max(retry_after, pick))
        return pick

    def bounds(self, attempt: int) -> tuple[float, float]:
        """The interval :meth:`delay` draws from when there is no ``Retry-After``."""
        ceiling = min(self.cap, self.base * (2 ** min(attempt, 32)))
        return ceiling / 2, ceiling
