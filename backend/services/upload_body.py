"""Receiving one PATCH body into the staged file.

Each block is written once and hashed once or twice (the upload's running SHA-256 and,
when the client sent one, the chunk's Upload-Checksum). hashlib lets go of the GIL on
large blocks, so each hash of a block runs on a helper thread while this one writes the
block and reads the next into a second buffer from the socket: the work of one body
spreads over the cores and memory stays at two blocks per request. Each block's
write-back to disk starts as soon as it is written, so the sync that ends the body waits
for little."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, BinaryIO

from werkzeug.exceptions import ClientDisconnected

from backend.services.upload_locks import LockLost
from backend.storage.staging import Staging
from backend.tus_headers import Checksum

BODY_BLOCK = 1024 * 1024


class BodyTooLong(Exception):
    """The body carries more bytes than the upload has room for."""


class ChecksumMismatch(Exception):
    """The body does not match its Upload-Checksum."""


class BodyLost(Exception):
    """The body ended early and nothing of it was kept: a chunk with a checksum is all
    or nothing, and a body may end before its first byte. Raised from the read error."""


class BodyCut(Exception):
    """The body ended early (the client went away); its first `received` bytes are
    durable all the same, since without a checksum every byte that came is good."""

    def __init__(self, received: int) -> None:
        super().__init__(f"the body ended after {received} bytes")
        self.received = received


def _fill(
    body: BinaryIO, view: memoryview, tick: Callable[[], None]
) -> tuple[int, Exception | None]:
    """Read into `view` until it is full or the body ends; the byte count, and the error
    that cut the body short (None when it did not). `tick` runs after every read: a body
    streamed from a slow client may take long to fill a block."""
    filled = 0
    while filled < len(view):
        try:
            count = body.readinto(view[filled:])  # type: ignore[attr-defined]
        except (OSError, ClientDisconnected) as exc:
            return filled, exc
        if not count:
            break
        filled += count
        tick()
    return filled, None


def _wait(futures: list[Future[None]]) -> None:
    for future in futures:
        future.result()


def receive(
    staging: Staging,
    key: str,
    offset: int,
    room: int,
    body: BinaryIO,
    whole: Any,
    checksum: Checksum | None,
    hashers: Executor,
    tick: Callable[[], None],
) -> int:
    """Write `body` into staged file `key` at `offset`, advancing `whole`; returns the
    byte count once the bytes are durable. A body cut short without a checksum keeps
    what came (BodyCut says how much, `whole` covers it). On any other failure (BodyLost
    for a body that ended early) the file is cut back to `offset` and `whole` must be
    dropped (it may cover part of the body), except when the lock was lost (LockLost
    from `tick`): then the file is left alone."""
    digest = hashlib.new(checksum.algorithm) if checksum else None
    hashes = (whole,) if digest is None else (whole, digest)
    buffers = (memoryview(bytearray(BODY_BLOCK)), memoryview(bytearray(BODY_BLOCK)))
    received = 0
    hashing: list[Future[None]] = []
    cut: Exception | None = None
    with staging.open_write(key, offset) as handle:
        try:
            turn = 0
            while cut is None:
                size, cut = _fill(body, buffers[turn], tick)
                if not size:
                    break
                if received + size > room:
                    raise BodyTooLong
                block = buffers[turn][:size]
                staging.write_all(handle, block)
                staging.start_writeback(handle, offset + received, size)
                _wait(hashing)  # the previous block is in every hash: keep the order
                hashing = [hashers.submit(h.update, block) for h in hashes]
                received += size
                turn = 1 - turn
            _wait(hashing)
            if cut is not None and (checksum is not None or not received):
                raise BodyLost from cut  # a chunk with a checksum is all or nothing
            if checksum is not None and digest is not None and digest.digest() != checksum.digest:
                raise ChecksumMismatch
        except LockLost:
            _wait(hashing)  # the file is the new writer's now: leave it as it is
            raise
        except BaseException:
            _wait(hashing)  # no thread may still read a buffer or update a hash
            staging.sync(handle, offset)
            raise
        staging.sync(handle, offset + received)
    if offset == 0:
        staging.sync_directory()  # the staged file itself, made without a sync
    if cut is not None:
        raise BodyCut(received) from cut
    return received
