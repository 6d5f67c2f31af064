"""The single-writer lock of an upload session: a conditional UPDATE on its row, so that
one request writes to an upload at a time across every thread and process. Lock changes
need not survive a power cut (a dead writer's lock goes stale anyway), so they are
committed without syncing the database log."""

from __future__ import annotations

import contextlib
import dataclasses
import math
import secrets
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import sqlalchemy as sa

from backend.database import unsynced
from backend.extensions import db
from backend.models import Upload, utcnow
from backend.problems import Problem

# A writer that died (kill -9, power cut) keeps the lock this long at most; a live one
# renews it every LOCK_HEARTBEAT_SECONDS while it writes or hashes.
LOCK_STALE = timedelta(seconds=30)
LOCK_HEARTBEAT_SECONDS = 5.0
# The longest a writer waits for the next bytes of a streamed body before it gives up:
# it renews the lock after every read, so a live writer's lock never goes stale.
BODY_IDLE_TIMEOUT_SECONDS = 15.0


class LockLost(Problem):
    """The writer paused past LOCK_STALE and another request took the upload over: what
    this writer has not committed is not its to keep, nor to cut back."""

    def __init__(self) -> None:
        super().__init__(
            423,
            "upload_lock_lost",
            "Upload taken over",
            "This request stalled so long that another request took over the upload, and "
            "the bytes it carried were not kept. Ask for the upload's offset (HEAD) and "
            "continue from there.",
        )


@dataclasses.dataclass
class WriterLock:
    """A held lock; `released` once the last change made under it also let it go."""

    token: str
    released: bool = False


@contextlib.contextmanager
def writer_lock(upload: Upload) -> Iterator[WriterLock]:
    """Take the upload's lock with a conditional UPDATE (one writer per upload across every
    thread and process); 423 when another writer holds it. Released in all cases."""
    token = secrets.token_hex(16)
    now = utcnow()
    unsynced(db.session)
    taken = db.session.execute(
        sa.update(Upload)
        .where(
            Upload.id == upload.id,
            sa.or_(Upload.lock_token.is_(None), Upload.locked_at < now - LOCK_STALE),
        )
        .values(lock_token=token, locked_at=now)
    )
    db.session.commit()
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        held_since = db.session.scalar(sa.select(Upload.locked_at).where(Upload.id == upload.id))
        raise Problem(
            423,
            "upload_locked",
            "Upload busy",
            "Another request is writing to this upload. Wait for it to finish, then retry.",
            headers={"Retry-After": str(retry_after_seconds(held_since, now))},
        )
    with holding(upload, WriterLock(token)) as lock:
        yield lock


def retry_after_seconds(held_since: datetime | None, now: datetime) -> int:
    """When to try a busy upload again: once its lock would go stale, but no later than a
    live writer whose client went away takes to give up (BODY_IDLE_TIMEOUT_SECONDS)."""
    if held_since is None:  # released between the UPDATE and the SELECT
        return 1
    until_stale = (held_since + LOCK_STALE - now).total_seconds()
    return max(1, min(math.ceil(until_stale), math.ceil(BODY_IDLE_TIMEOUT_SECONDS)))


def locked_at_birth(upload: Upload) -> WriterLock:
    """Mark a new upload (not yet added to the session) as locked by the request that
    creates it, so that its first commit also takes the lock."""
    lock = WriterLock(secrets.token_hex(16))
    upload.lock_token, upload.locked_at = lock.token, utcnow()
    return lock


@contextlib.contextmanager
def holding(upload: Upload, lock: WriterLock) -> Iterator[WriterLock]:
    """Work under a lock already taken; it is let go in all cases."""
    try:
        yield lock
    finally:
        db.session.rollback()
        if not lock.released:
            _release(upload.id, lock.token)


def _release(upload_id: int, token: str) -> None:
    unsynced(db.session)
    db.session.execute(
        sa.update(Upload)
        .where(Upload.id == upload_id, Upload.lock_token == token)
        .values(lock_token=None, locked_at=None)
    )
    db.session.commit()


def _heartbeat(upload_id: int, token: str) -> None:
    unsynced(db.session)
    renewed = db.session.execute(
        sa.update(Upload)
        .where(Upload.id == upload_id, Upload.lock_token == token)
        .values(locked_at=utcnow())
    )
    db.session.commit()
    if renewed.rowcount != 1:  # type: ignore[attr-defined]
        raise LockLost


def heartbeat_ticker(upload_id: int, token: str) -> Callable[[], None]:
    """A function to call often while writing: it renews the lock every
    LOCK_HEARTBEAT_SECONDS and raises LockLost once another writer holds it."""
    beat = time.monotonic()

    def tick() -> None:
        nonlocal beat
        if time.monotonic() - beat > LOCK_HEARTBEAT_SECONDS:
            _heartbeat(upload_id, token)
            beat = time.monotonic()

    return tick
