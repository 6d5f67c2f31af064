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

from backend.storage.staging import Staging
from backend.tus_headers import Checksum

BODY_BLOCK = 1024 * 1024


class BodyTooLong(Exception):
    """The body carries more bytes than the upload has room for."""


class ChecksumMismatch(Exception):
    """The body does not match its Upload-Checksum."""


def _fill(body: BinaryIO, view: memoryview, tick: Callable[[], None]) -> int:
    """Read into `view` until it is full or the body ends; the byte count. `tick` runs
    after every read: a body streamed from a slow client may take long to fill a block."""
    filled = 0
    while filled < len(view):
        count = body.readinto(view[filled:])  # type: ignore[attr-defined]
        if not count:
            break
        filled += count
        tick()
    return filled


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
    byte count once the bytes are durable. On any failure the file is cut back to
    `offset` and `whole` must be dropped (it may cover part of the body)."""
    digest = hashlib.new(checksum.algorithm) if checksum else None
    hashes = (whole,) if digest is None else (whole, digest)
    buffers = (memoryview(bytearray(BODY_BLOCK)), memoryview(bytearray(BODY_BLOCK)))
    received = 0
    hashing: list[Future[None]] = []
    with staging.open_write(key, offset) as handle:
        try:
            turn = 0
            while size := _fill(body, buffers[turn], tick):
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
            if checksum is not None and digest is not None and digest.digest() != checksum.digest:
                raise ChecksumMismatch
        except BaseException:
            _wait(hashing)  # no thread may still read a buffer or update a hash
            staging.sync(handle, offset)
            raise
        staging.sync(handle, offset + received)
    if offset == 0:
        staging.sync_directory()  # the staged file itself, made without a sync
    return received
