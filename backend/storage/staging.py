"""Staging area: one file per upload, named by the upload's id, kept until the
compressor has stored the content."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

READ_CHUNK = 1024 * 1024
_KEY = re.compile(r"[0-9a-f]{32}")


class Staging:
    def __init__(self, root: Path) -> None:
        self.root = root

    def ensure(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        if not _KEY.fullmatch(key):
            raise ValueError(f"not a staging key: {key!r}")
        return self.root / key

    def create(self, key: str) -> None:
        """Create the empty staged file (and make its directory entry durable)."""
        with open(self.path(key), "xb") as handle:
            os.fsync(handle.fileno())
        self._sync_dir()

    @contextlib.contextmanager
    def open_write(self, key: str, offset: int) -> Iterator[BinaryIO]:
        """A handle positioned at `offset`; bytes past it (never acknowledged) are dropped."""
        with open(self.path(key), "r+b") as handle:
            handle.truncate(offset)
            handle.seek(offset)
            yield handle

    @staticmethod
    def sync(handle: BinaryIO, length: int) -> None:
        """Cut the file at `length` and make its content durable."""
        handle.flush()
        handle.truncate(length)
        os.fsync(handle.fileno())

    def open_read(self, key: str) -> BinaryIO:
        return open(self.path(key), "rb")

    def sha256(self, key: str) -> str:
        digest = hashlib.sha256()
        with self.open_read(key) as handle:
            while chunk := handle.read(READ_CHUNK):
                digest.update(chunk)
        return digest.hexdigest()

    def remove(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(key).unlink()

    def check_writable(self) -> None:
        """Raise OSError when a file cannot be created and synced in the staging directory."""
        with tempfile.NamedTemporaryFile(dir=self.root, prefix=".probe-") as probe:
            probe.write(b"ok")
            probe.flush()
            os.fsync(probe.fileno())

    def _sync_dir(self) -> None:
        fd = os.open(self.root, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
