"""Transfer states and the snapshots the upload engine hands to its listeners."""

from __future__ import annotations

import collections
import enum
import os
import threading
from dataclasses import dataclass
from typing import Protocol

from desktop_app.formatting import displayable
from desktop_app.store import TransferRecord


class TransferState(enum.StrEnum):
    QUEUED = "queued"
    HASHING = "hashing"
    UPLOADING = "uploading"
    PAUSED = "paused"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE = frozenset({TransferState.HASHING, TransferState.UPLOADING})
PENDING = ACTIVE | {TransferState.QUEUED}
FINISHED = frozenset({TransferState.DONE, TransferState.CANCELLED})


@dataclass(frozen=True)
class TransferInfo:
    """A snapshot of one transfer, safe to hand to any thread.

    ``path`` is the local path exactly (it may hold surrogate escapes for bytes that are
    not UTF-8); ``name`` is for showing.
    """

    id: int
    path: str
    parent_id: int | None
    size: int
    state: TransferState
    bytes_done: int
    hashed_bytes: int
    speed: float  # bytes per second while uploading, else 0
    error: str | None
    file_id: int | None
    retryable: bool
    note: str | None = None  # e.g. "started again": worth showing, not an error

    @property
    def eta(self) -> float | None:
        """Seconds left at the current speed while uploading, else None."""
        if self.state is not TransferState.UPLOADING or self.speed <= 0:
            return None
        return max(0, self.size - self.bytes_done) / self.speed

    @property
    def name(self) -> str:
        return displayable(os.path.basename(self.path))

    @property
    def progress(self) -> float:
        """0..1 of the current phase (hashing, then uploading)."""
        if self.state is TransferState.DONE:
            return 1.0
        if not self.size:
            return 0.0
        done = self.hashed_bytes if self.state is TransferState.HASHING else self.bytes_done
        return min(1.0, done / self.size)


class TransferListener(Protocol):
    def transfer_changed(self, info: TransferInfo) -> None: ...

    def transfers_removed(self, transfer_ids: list[int]) -> None: ...


class Transfer:
    """Mutable bookkeeping for one transfer; guarded by the engine's lock."""

    def __init__(self, record: TransferRecord) -> None:
        self.record = record
        self.state = TransferState(record.state)
        self.hashed = 0
        self.abort = threading.Event()
        self.intent: TransferState | None = None  # PAUSED/CANCELLED/QUEUED while aborting
        self.samples: collections.deque[tuple[float, int]] = collections.deque()
        self.last_emit = 0.0

    @property
    def id(self) -> int:
        assert self.record.id is not None
        return self.record.id

    def speed(self) -> float:
        if self.state is not TransferState.UPLOADING or len(self.samples) < 2:
            return 0.0
        (t0, b0), (t1, b1) = self.samples[0], self.samples[-1]
        return (b1 - b0) / (t1 - t0) if t1 > t0 else 0.0

    def info(self) -> TransferInfo:
        r = self.record
        return TransferInfo(
            id=self.id,
            path=r.path,
            parent_id=r.parent_id,
            size=r.size,
            state=self.state,
            bytes_done=r.bytes_done,
            hashed_bytes=self.hashed,
            speed=self.speed(),
            error=r.error,
            file_id=r.file_id,
            retryable=r.retryable,
            note=r.note,
        )
