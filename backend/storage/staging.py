"""Staging area: one file per upload, named by the upload's id, kept until the
compressor has stored the content."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

READ_CHUNK = 1024 * 1024
_KEY = re.compile(r"[0-9a-f]{32}")
NO_SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
_SYNC_FILE_RANGE_WRITE = 2


def _sync_file_range() -> Callable[[int, int, int, int], int] | None:
    """Linux's sync_file_range(2), when the C library has it."""
    try:
        function = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    function.argtypes = (ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint)
    function.restype = ctypes.c_int
    return function  # type: ignore[no-any-return]


_START_WRITEBACK = _sync_file_range()


class StagingFull(OSError):
    """The staging file system has no room left for the bytes about to be written."""


class Staging:
    def __init__(self, root: Path) -> None:
        self.root = root

    def ensure(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        if not _KEY.fullmatch(key):
            raise ValueError(f"not a staging key: {key!r}")
        return self.root / key

    def free_bytes(self) -> int:
        return shutil.disk_usage(self.root).free

    def create(self, key: str, durable: bool = True) -> None:
        """Create the empty staged file. With `durable`, also make it and its directory
        entry durable now; without, that waits for the first bytes written into it (see
        :meth:`open_write` and :meth:`sync_directory`)."""
        try:
            with open(self.path(key), "xb") as handle:
                if durable:
                    os.fsync(handle.fileno())
            if durable:
                self.sync_directory()
        except OSError as exc:
            if exc.errno in NO_SPACE_ERRNOS:
                self.remove(key)
                raise StagingFull(exc.errno, exc.strerror) from exc
            raise

    @contextlib.contextmanager
    def open_write(self, key: str, offset: int) -> Iterator[BinaryIO]:
        """An unbuffered handle positioned at `offset`; bytes past it (never acknowledged)
        are dropped. A full disk surfaces as StagingFull after the file is cut back to
        `offset`, so the space the failed write took is freed at once. At offset 0 a
        staged file that a power cut took before anything was acknowledged is made anew."""
        flags = os.O_RDWR | (os.O_CREAT if offset == 0 else 0)
        with open(os.open(self.path(key), flags, 0o644), "r+b", buffering=0) as handle:
            handle.truncate(offset)
            handle.seek(offset)
            try:
                yield handle  # type: ignore[misc]
            except OSError as exc:
                if exc.errno not in NO_SPACE_ERRNOS:
                    raise
                with contextlib.suppress(OSError):
                    handle.truncate(offset)
                    os.fsync(handle.fileno())
                raise StagingFull(exc.errno, exc.strerror) from exc

    @staticmethod
    def write_all(handle: BinaryIO, data: bytes | memoryview) -> None:
        """Write every byte (an unbuffered write may take only part of them)."""
        view = memoryview(data)
        while view:
            written = handle.write(view)
            if not written:
                raise OSError(errno.EIO, "the staged file accepted no bytes")
            view = view[written:]

    @staticmethod
    def start_writeback(handle: BinaryIO, offset: int, length: int) -> None:
        """Start writing a just-written range to disk without waiting for it, so that the
        sync that ends the chunk finds most of its bytes there already. Only a hint:
        where the system has no such call nothing happens, and durability still comes
        from :meth:`sync`."""
        if _START_WRITEBACK is not None:
            _START_WRITEBACK(handle.fileno(), offset, length, _SYNC_FILE_RANGE_WRITE)

    @staticmethod
    def sync(handle: BinaryIO, length: int) -> None:
        """Cut the file at `length` and make its content durable."""
        handle.flush()
        handle.truncate(length)
        os.fsync(handle.fileno())

    def open_read(self, key: str) -> BinaryIO:
        return open(self.path(key), "rb")

    def sha256(self, key: str) -> str:
        return self.hash_prefix(key, None).hexdigest()

    def hash_prefix(
        self, key: str, length: int | None, tick: Callable[[], None] | None = None
    ) -> Any:
        """A running SHA-256 over the first `length` staged bytes (None: all of them)."""
        digest = hashlib.sha256()
        remaining = length
        if remaining == 0:
            return digest
        with self.open_read(key) as handle:
            while remaining is None or remaining > 0:
                size = READ_CHUNK if remaining is None else min(READ_CHUNK, remaining)
                chunk = handle.read(size)
                if not chunk:
                    break
                digest.update(chunk)
                if remaining is not None:
                    remaining -= len(chunk)
                if tick is not None:
                    tick()
        if remaining:
            raise OSError(errno.EIO, f"staged file {key} is shorter than its committed offset")
        return digest

    def remove(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(key).unlink()

    def check_writable(self) -> None:
        """Raise OSError when a file cannot be created and synced in the staging directory."""
        with tempfile.NamedTemporaryFile(dir=self.root, prefix=".probe-") as probe:
            probe.write(b"ok")
            probe.flush()
            os.fsync(probe.fileno())

    def sync_directory(self) -> None:
        """Make the staging directory's entries (new staged files) durable."""
        fd = os.open(self.root, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
