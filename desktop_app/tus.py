"""A tus 1.0.0 client (core, creation, termination, checksum) for Trove uploads.

Files are streamed from disk chunk by chunk; no chunk is ever held whole in memory.
The server's offset is the only truth: after any interruption the client asks for it
with ``HEAD`` and carries on from there.
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import BinaryIO

from desktop_app.api import ApiClient
from desktop_app.errors import ApiError, LocalFileError, TroveError, error_from_response
from desktop_app.retry import Action, RetryPolicy, classify
from desktop_app.throttle import RateLimiter

TUS_VERSION = "1.0.0"
DEFAULT_CHUNK_SIZE = 64 * 1024 * 1024
UPLOADS_PATH = "/api/v1/uploads/"
_READ_BLOCK = 256 * 1024
_MAX_RESTARTS = 3


class UploadAborted(Exception):
    """The caller asked the upload to stop (pause, cancel or shutdown)."""


def encode_metadata(pairs: Mapping[str, str | None]) -> str:
    """``Upload-Metadata``: ``key base64(value)`` pairs joined by commas; ``None`` is skipped."""
    parts = []
    for key, value in pairs.items():
        if value is None:
            continue
        if not key or any(c in key for c in " ,") or not key.isascii():
            raise ValueError(f"Invalid tus metadata key: {key!r}")
        encoded = base64.b64encode(value.encode("utf-8")).decode("ascii")
        parts.append(f"{key} {encoded}")
    return ",".join(parts)


def decode_metadata(header: str) -> dict[str, str]:
    result: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in header.split(","))):
        key, _, value = pair.partition(" ")
        result[key] = base64.b64decode(value).decode("utf-8") if value else ""
    return result


def plan_chunks(offset: int, length: int, chunk_size: int) -> Iterator[tuple[int, int]]:
    """``(start, size)`` of every chunk still to send from ``offset`` to ``length``."""
    if chunk_size <= 0:
        raise ValueError("chunk_size must be positive")
    position = offset
    while position < length:
        size = min(chunk_size, length - position)
        yield position, size
        position += size


def checksum_header(digest: bytes) -> str:
    return "sha256 " + base64.b64encode(digest).decode("ascii")


def hash_range(stream: BinaryIO, start: int, size: int) -> bytes:
    """SHA-256 of ``size`` bytes at ``start``; the file getting shorter is an error."""
    stream.seek(start)
    hasher = hashlib.sha256()
    remaining = size
    while remaining:
        block = stream.read(min(_READ_BLOCK, remaining))
        if not block:
            raise LocalFileError("The file got shorter while it was being uploaded.")
        hasher.update(block)
        remaining -= len(block)
    return hasher.digest()


class ChunkBody:
    """A file-like request body: ``size`` bytes from ``start``, stoppable between reads."""

    def __init__(
        self,
        stream: BinaryIO,
        start: int,
        size: int,
        abort: threading.Event,
        on_read: Callable[[int], None] | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self._limiter = limiter
        self._stream = stream
        self._start = start
        self._remaining = size
        self._size = size
        self._abort = abort
        self._on_read = on_read
        stream.seek(start)

    def __len__(self) -> int:
        return self._size

    def read(self, amount: int = -1) -> bytes:
        if self._remaining <= 0:
            return b""  # all sent: let the request finish and the server answer
        if self._abort.is_set():
            raise UploadAborted
        if amount is None or amount < 0:
            amount = self._remaining
        amount = min(amount, self._remaining, _READ_BLOCK)
        if self._limiter is not None:
            self._limiter.consume(amount, self._abort.wait)
            if self._abort.is_set():
                raise UploadAborted
        block = self._stream.read(amount)
        if not block:
            raise LocalFileError("The file got shorter while it was being uploaded.")
        self._remaining -= len(block)
        if self._on_read is not None:
            self._on_read(self._start + self._size - self._remaining)
        return block


class _Blocks:
    """Hands a :class:`ChunkBody` to ``requests`` as an iterable of large blocks with a
    known length: sent with ``Content-Length`` in ``_READ_BLOCK`` pieces instead of the
    16 KiB reads urllib3 makes from file-like bodies (which cost a quarter of the speed)."""

    def __init__(self, body: ChunkBody) -> None:
        self._body = body

    def __len__(self) -> int:
        return len(self._body)

    def __iter__(self) -> Iterator[bytes]:
        while block := self._body.read(_READ_BLOCK):
            yield block


@dataclass(frozen=True)
class UploadResult:
    url: str
    file_id: int | None


class TusClient:
    """Creates, resumes and finishes uploads against ``/api/v1/uploads/``."""

    def __init__(
        self,
        api: ApiClient,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        policy: RetryPolicy | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.api = api
        self.chunk_size = chunk_size
        self.policy = policy or RetryPolicy()
        self.limiter = limiter

    # -- single exchanges ----------------------------------------------------------------

    def _send(self, method: str, url: str, headers: dict[str, str] | None = None, **kw):
        all_headers = {"Tus-Resumable": TUS_VERSION, **(headers or {})}
        response = self.api.send(method, url, headers=all_headers, **kw)
        if response.status_code >= 400:
            raise error_from_response(response)
        return response

    def create(self, length: int, metadata: Mapping[str, str | None]) -> UploadResult:
        """``POST``: a new upload; a zero-length one is complete at once."""
        response = self._send(
            "POST",
            UPLOADS_PATH,
            {"Upload-Length": str(length), "Upload-Metadata": encode_metadata(metadata)},
        )
        location = response.headers.get("Location")
        if not location:
            raise TroveError("invalid_response", "The server did not say where to upload.")
        return UploadResult(self.api.url(location), _file_id(response))

    def offset(self, url: str) -> int:
        """``HEAD``: how many bytes the server holds for this upload."""
        return self.status(url)[0]

    def status(self, url: str) -> tuple[int, int | None]:
        """``HEAD``: the server's offset, and the file id once the upload has produced
        its file (so a lost answer to the final ``PATCH`` costs nothing)."""
        response = self._send("HEAD", url, {"Cache-Control": "no-store"})
        return _header_int(response.headers, "Upload-Offset"), _file_id(response)

    def patch(
        self,
        url: str,
        stream: BinaryIO,
        start: int,
        size: int,
        abort: threading.Event,
        on_sending: Callable[[int], None] | None = None,
        digest: bytes | None = None,
    ) -> tuple[int, int | None]:
        """``PATCH`` one chunk, with its SHA-256 as ``Upload-Checksum`` when ``digest`` is
        given; returns the new offset and any file id."""
        headers = {
            "Upload-Offset": str(start),
            "Content-Type": "application/offset+octet-stream",
        }
        if digest is not None:
            headers["Upload-Checksum"] = checksum_header(digest)
        body = ChunkBody(stream, start, size, abort, on_sending, self.limiter)
        response = self._send("PATCH", url, headers, data=_Blocks(body))
        return _header_int(response.headers, "Upload-Offset"), _file_id(response)

    def terminate(self, url: str, attempts: int = 5) -> None:
        """``DELETE``: drop an upload; one the server no longer knows is fine too.

        A busy upload (a writer finishing its chunk) or a passing outage is retried.
        """
        for attempt in range(attempts):
            try:
                self._send("DELETE", url)
                return
            except TroveError as exc:
                if isinstance(exc, ApiError) and exc.status in (404, 410):
                    return
                if classify(exc) is not Action.RETRY or attempt == attempts - 1:
                    raise
                time.sleep(self.policy.delay(attempt, getattr(exc, "retry_after", None)))

    # -- the whole transfer --------------------------------------------------------------

    def upload(
        self,
        path: str | os.PathLike[str],
        *,
        length: int,
        metadata: Mapping[str, str | None],
        url: str | None = None,
        abort: threading.Event | None = None,
        on_url: Callable[[str | None], None] | None = None,
        on_progress: Callable[[int], None] | None = None,
        on_sending: Callable[[int], None] | None = None,
        on_restart: Callable[[TroveError], None] | None = None,
        sleep: Callable[[float], bool] | None = None,
    ) -> UploadResult:
        """Send ``path`` completely, resuming ``url`` when given.

        ``on_url`` hears about every new (or dropped) upload URL so that the caller can
        persist it; ``on_progress`` hears the server-confirmed offset and ``on_sending``
        the position of the bytes in flight (for display only). ``abort`` stops the
        transfer between reads with :class:`UploadAborted`. ``sleep(seconds)`` waits
        between retries and returns True when it was interrupted. ``on_restart`` hears
        that the upload starts again from zero: the server no longer knew it, or the file
        arrived damaged.

        The server checks the whole file against its SHA-256 in ``metadata``, so chunks
        go without a checksum of their own (hashing each chunk on both sides would cost
        as much CPU as the rest of the upload). A file that arrives damaged anyway is
        sent once more with every chunk checked, so that a damaged chunk is sent again
        on its own.
        """
        abort = abort or threading.Event()
        wait = sleep or abort.wait
        attempt = restarts = 0
        checked = False  # chunks carry Upload-Checksum
        with open(path, "rb") as stream:
            while True:
                if abort.is_set():
                    raise UploadAborted
                try:
                    if url is None:
                        created = self.create(length, metadata)
                        url = created.url
                        if on_url:
                            on_url(url)
                        if created.file_id is not None or length == 0:
                            return created
                        offset = 0
                    else:
                        offset, file_id = self.status(url)
                        if file_id is not None:  # finished; only its answer went missing
                            if on_progress:
                                on_progress(length)
                            return UploadResult(url, file_id)
                    if on_progress:
                        on_progress(offset)
                    file_id = None
                    if offset >= length:
                        # Every byte is there but no file yet (the server stopped while
                        # finalising): an empty PATCH at the end finalises it.
                        offset, file_id = self.patch(url, stream, length, 0, abort, on_sending)
                    for start, size in plan_chunks(offset, length, self.chunk_size):
                        if abort.is_set():
                            raise UploadAborted
                        digest = hash_range(stream, start, size) if checked else None
                        offset, file_id = self.patch(
                            url, stream, start, size, abort, on_sending, digest
                        )
                        attempt = 0
                        if on_progress:
                            on_progress(offset)
                        if offset != start + size and file_id is None:
                            raise ApiError(
                                "offset_mismatch",
                                "The server kept only part of a chunk.",
                                409,
                            )
                    else:
                        return UploadResult(url, file_id)
                except UploadAborted:
                    raise
                except TroveError as exc:
                    if abort.is_set():
                        raise UploadAborted from exc
                    action = classify(exc)
                    damaged = _arrived_damaged(exc) and not checked
                    if (action is Action.RESTART or damaged) and restarts < _MAX_RESTARTS:
                        restarts += 1
                        checked = checked or damaged
                        url = None
                        if on_url:
                            on_url(None)
                        if on_restart:
                            on_restart(exc)
                        continue
                    if action is not Action.RETRY or attempt >= self.policy.max_attempts:
                        raise
                    delay = self.policy.delay(attempt, getattr(exc, "retry_after", None))
                    attempt += 1
                    if wait(delay):
                        raise UploadAborted from exc
                except OSError:
                    if abort.is_set():
                        raise UploadAborted from None
                    raise


def _arrived_damaged(exc: TroveError) -> bool:
    """The server refused the finished file: it does not match its SHA-256."""
    return isinstance(exc, ApiError) and exc.code == "sha256_mismatch"


def _file_id(response) -> int | None:
    value = response.headers.get("Trove-File-Id")
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _header_int(headers: Mapping[str, str], name: str) -> int:
    try:
        return int(headers[name])
    except (KeyError, ValueError) as exc:
        raise TroveError(
            "invalid_response", f"The server's answer lacks a valid {name} header."
        ) from exc
