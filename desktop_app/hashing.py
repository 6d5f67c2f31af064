"""Local file identity: streamed SHA-256 and the (path, size, mtime) fingerprint."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

HASH_BLOCK = 1024 * 1024


@dataclass(frozen=True)
class Fingerprint:
    """What a file looked like when it was queued; any change means re-hashing."""

    path: str
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: str | os.PathLike[str]) -> Fingerprint:
        """Raises ``OSError`` for a missing or unreadable path or for a folder."""
        st = os.stat(path)
        if not os.path.isfile(path):
            raise IsADirectoryError(21, "Is a directory", os.fspath(path))
        return cls(os.path.abspath(path), st.st_size, st.st_mtime_ns)

    @property
    def mtime_rfc3339(self) -> str:
        moment = datetime.fromtimestamp(self.mtime_ns / 1e9, UTC)
        return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def digest_file(
    path: str | os.PathLike[str],
    *,
    progress: Callable[[int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    block_size: int = HASH_BLOCK,
) -> str | None:
    """The file's SHA-256 (lowercase hex), read once; ``None`` when ``should_stop`` said
    so."""
    whole = hashlib.sha256()
    buffer = bytearray(block_size)
    done = 0
    with open(path, "rb") as stream:
        while count := stream.readinto(buffer):  # type: ignore[attr-defined]
            if should_stop is not None and should_stop():
                return None
            whole.update(memoryview(buffer)[:count])
            done += count
            if progress is not None:
                progress(done)
    return whole.hexdigest()
