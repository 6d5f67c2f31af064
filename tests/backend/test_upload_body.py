"""Receiving a PATCH body block by block, hashed on a helper thread."""

from __future__ import annotations

import hashlib
import io
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from backend.services.upload_body import (
    BODY_BLOCK,
    BodyCut,
    BodyLost,
    BodyTooLong,
    ChecksumMismatch,
    receive,
)
from backend.services.upload_locks import LockLost
from backend.storage.staging import Staging
from backend.tus_headers import Checksum

KEY = "ab" * 16


class Trickle(io.RawIOBase):
    """A body that hands out at most `step` bytes per read, as a socket would."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data = io.BytesIO(data)
        self._step = step

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        return self._data.readinto(memoryview(buffer)[: self._step])


@pytest.fixture
def staging(tmp_path: Path) -> Staging:
    staging = Staging(tmp_path / "staging")
    staging.ensure()
    staging.create(KEY)
    return staging


@pytest.fixture
def hashers() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(2)


def test_a_body_of_many_blocks_is_written_and_hashed_in_order(
    staging: Staging, hashers: ThreadPoolExecutor
) -> None:
    head = os.urandom(1000)
    staging.path(KEY).write_bytes(head + b"never acknowledged")
    body = os.urandom(3 * BODY_BLOCK + 12345)
    whole = hashlib.sha256(head)
    checksum = Checksum("sha1", hashlib.sha1(body).digest())
    count = receive(
        staging,
        KEY,
        len(head),
        len(body),
        Trickle(body, 300_000),
        whole,
        checksum,
        hashers,
        lambda: None,
    )
    assert count == len(body)
    assert staging.path(KEY).read_bytes() == head + body
    assert whole.hexdigest() == hashlib.sha256(head + body).hexdigest()


@pytest.mark.parametrize("failure", ["checksum", "too long"])
def test_a_refused_body_leaves_only_the_acknowledged_bytes(
    staging: Staging, hashers: ThreadPoolExecutor, failure: str
) -> None:
    head = b"acknowledged"
    staging.path(KEY).write_bytes(head)
    body = os.urandom(2 * BODY_BLOCK + 7)
    if failure == "checksum":
        checksum, room, error = Checksum("sha256", b"\0" * 32), len(body), ChecksumMismatch
    else:
        checksum, room, error = None, len(body) - 1, BodyTooLong
    with pytest.raises(error):
        receive(
            staging,
            KEY,
            len(head),
            room,
            io.BytesIO(body),
            hashlib.sha256(head),
            checksum,
            hashers,
            lambda: None,
        )
    assert staging.path(KEY).read_bytes() == head


def test_a_staged_file_lost_before_its_first_byte_is_made_again(
    tmp_path: Path, hashers: ThreadPoolExecutor
) -> None:
    """A new staged file is made durable with its first chunk; should a power cut take
    it before that, the first chunk (offset 0) simply makes it again."""
    staging = Staging(tmp_path / "staging")
    staging.ensure()
    staging.create(KEY, durable=False)
    staging.path(KEY).unlink()
    body = b"first chunk"
    whole = hashlib.sha256()
    assert receive(staging, KEY, 0, 100, io.BytesIO(body), whole, None, hashers, lambda: None)
    assert staging.path(KEY).read_bytes() == body
    with pytest.raises(FileNotFoundError):  # past offset 0 nothing is made up
        staging.path(KEY).unlink()
        receive(staging, KEY, 5, 100, io.BytesIO(body), whole, None, hashers, lambda: None)


class CutShort(Trickle):
    """A body whose connection fails once `keep` bytes have come."""

    def __init__(self, data: bytes, step: int, keep: int) -> None:
        super().__init__(data[:keep], step)

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        count = super().readinto(buffer)
        if not count:
            raise ConnectionResetError("the client went away")
        return count


def test_a_body_cut_short_keeps_what_came(staging: Staging, hashers: ThreadPoolExecutor) -> None:
    head = b"acknowledged"
    staging.path(KEY).write_bytes(head)
    body = os.urandom(3 * BODY_BLOCK)
    keep = BODY_BLOCK + 4321  # a block and a half-filled one
    whole = hashlib.sha256(head)
    with pytest.raises(BodyCut) as cut:
        receive(
            staging,
            KEY,
            len(head),
            len(body),
            CutShort(body, 100_000, keep),
            whole,
            None,
            hashers,
            lambda: None,
        )
    assert cut.value.received == keep
    assert staging.path(KEY).read_bytes() == head + body[:keep]
    assert whole.hexdigest() == hashlib.sha256(head + body[:keep]).hexdigest()


def test_a_checked_body_cut_short_is_discarded(
    staging: Staging, hashers: ThreadPoolExecutor
) -> None:
    head = b"acknowledged"
    staging.path(KEY).write_bytes(head)
    body = os.urandom(2 * BODY_BLOCK)
    checksum = Checksum("sha256", hashlib.sha256(body).digest())
    with pytest.raises(BodyLost) as lost:
        receive(
            staging,
            KEY,
            len(head),
            len(body),
            CutShort(body, 100_000, BODY_BLOCK + 1),
            hashlib.sha256(head),
            checksum,
            hashers,
            lambda: None,
        )
    assert isinstance(lost.value.__cause__, ConnectionResetError)
    assert staging.path(KEY).read_bytes() == head


def test_a_writer_that_lost_its_lock_leaves_the_file_to_the_new_one(
    staging: Staging, hashers: ThreadPoolExecutor
) -> None:
    """Once another request holds the upload, bytes past the committed offset are its
    own: the old writer stops at its next tick and cuts nothing back."""
    head = b"acknowledged"
    staging.path(KEY).write_bytes(head)

    def tick() -> None:  # meanwhile the writer that took over has written its chunk
        with open(staging.path(KEY), "r+b") as new_writer:
            new_writer.seek(len(head))
            new_writer.write(b"written by the new writer")
        raise LockLost

    with pytest.raises(LockLost):
        receive(
            staging,
            KEY,
            len(head),
            4 * BODY_BLOCK,
            Trickle(b"z" * 4 * BODY_BLOCK, BODY_BLOCK // 2),
            hashlib.sha256(head),
            None,
            hashers,
            tick,
        )
    assert staging.path(KEY).read_bytes() == head + b"written by the new writer"
