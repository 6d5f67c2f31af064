"""Local file identity: streamed SHA-256 (with per-chunk digests) and the (path, size,
mtime) fingerprint."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
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


@dataclass(frozen=True)
class FileDigests:
    """A file's SHA-256 and the SHA-256 of each ``chunk_size`` piece of it, so that a
    chunk's ``Upload-Checksum`` costs no second read of the file."""

    sha256: str
    length: int
    chunk_size: int
    chunks: tuple[bytes, ...]

    def chunk(self, start: int, size: int) -> bytes | None:
        """The digest of ``size`` bytes at ``start`` when that is one of the pieces."""
        index, misaligned = divmod(start, self.chunk_size)
        if misaligned or index >= len(self.chunks):
            return None
        if size != min(self.chunk_size, self.length - start):
            return None
        return self.chunks[index]


class _Pieces:
    """SHA-256 of consecutive ``size``-byte pieces of a stream fed block by block."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.digests: list[bytes] = []
        self._hasher = hashlib.sha256()
        self._filled = 0

    def feed(self, block: memoryview) -> None:
        while block:
            take = min(len(block), self.size - self._filled)
            self._hasher.update(block[:take])
            self._filled += take
            block = block[take:]
            if self._filled == self.size:
                self.digests.append(self._hasher.digest())
                self._hasher, self._filled = hashlib.sha256(), 0

    def finish(self) -> tuple[bytes, ...]:
        if self._filled:
            self.digests.append(self._hasher.digest())
        return tuple(self.digests)


def digest_file(
    path: str | os.PathLike[str],
    *,
    chunk_size: int | None = None,
    progress: Callable[[int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    block_size: int = HASH_BLOCK,
) -> FileDigests | None:
    """Hash a file in one read: its SHA-256 and, with ``chunk_size``, the SHA-256 of each
    piece (on a helper thread, since hashlib lets go of the GIL: two cores, one pass).
    ``None`` when ``should_stop`` said so."""
    whole = hashlib.sha256()
    buffers = (bytearray(block_size), bytearray(block_size))
    done = 0
    with open(path, "rb") as stream:
        split = chunk_size is not None and os.fstat(stream.fileno()).st_size > chunk_size
        pieces = _Pieces(chunk_size) if split and chunk_size else None
        helper = ThreadPoolExecutor(1, thread_name_prefix="trove-hash") if pieces else None
        pending: Future[None] | None = None
        turn = 0
        try:
            while count := stream.readinto(buffers[turn]):  # type: ignore[attr-defined]
                if should_stop is not None and should_stop():
                    return None
                block = memoryview(buffers[turn])[:count]
                if pending is not None:
                    pending.result()  # pieces are fed in order; the other buffer is free
                if helper is not None and pieces is not None:
                    pending = helper.submit(pieces.feed, block)
                whole.update(block)
                done += count
                turn = 1 - turn
                if progress is not None:
                    progress(done)
        finally:
            if pending is not None:
                pending.result()
            if helper is not None:
                helper.shutdown()
    sha256 = whole.hexdigest()
    # A file of one chunk is its own only piece.
    chunks = pieces.finish() if pieces else ((whole.digest(),) if done else ())
    return FileDigests(sha256, done, chunk_size or max(done, 1), chunks)
