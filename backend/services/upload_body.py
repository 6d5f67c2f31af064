"""Receiving one PATCH body into the staged file.

Each block is written and hashed twice (the upload's running SHA-256 and the chunk's
Upload-Checksum). hashlib lets go of the GIL on large blocks, so the running hash of a
block is computed on a helper thread while this one writes it, checks the chunk's own
digest and reads the next block into a second buffer: the work of one body spreads over
two cores and memory stays at two blocks per request. Each block's write-back to disk
starts as soon as it is written, so the sync that ends the body waits for little."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, BinaryIO

from backend.storage.staging import Staging
from backend.tus_headers import Checksum

BODY_BLOCK = 1024 * 1024


class BodyTooLong(Exception):
    """The body carries more bytes than the upload has room for."""


class ChecksumMismatch(Exception):
    """The body does not match its Upload-Checksum."""


def _fill(body: BinaryIO, view: memoryview) -> int:
    """Read into `view` until it is full or the body ends; the byte count."""
    filled = 0
    while filled < len(view):
        count = body.readinto(view[filled:])  # type: ignore[attr-defined]
        if not count:
            break
        filled += count
    return filled


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
    byte count once the bytes are durable. On any failure the file is cut back to
    `offset` and `whole` must be dropped (it may cover part of the body)."""
    digest = hashlib.new(checksum.algorithm) if checksum else None
    buffers = (memoryview(bytearray(BODY_BLOCK)), memoryview(bytearray(BODY_BLOCK)))
    received = 0
    hashing: Future[None] | None = None
    with staging.open_write(key, offset) as handle:
        try:
            turn = 0
            while size := _fill(body, buffers[turn]):
                if received + size > room:
                    raise BodyTooLong
                block = buffers[turn][:size]
                staging.write_all(handle, block)
                staging.start_writeback(handle, offset + received, size)
                if hashing is not None:
                    hashing.result()  # the previous block is in `whole`: keep the order
                hashing = hashers.submit(whole.update, block)
                if digest is not None:
                    digest.update(block)
                received += size
                turn = 1 - turn
                tick()
            if hashing is not None:
                hashing.result()
            if checksum is not None and digest is not None and digest.digest() != checksum.digest:
                raise ChecksumMismatch
        except BaseException:
            if hashing is not None:
                hashing.result()  # no thread may still read a buffer or update `whole`
            staging.sync(handle, offset)
            raise
        staging.sync(handle, offset + received)
    if offset == 0:
        staging.sync_directory()  # the staged file itself, made without a sync
    return received
