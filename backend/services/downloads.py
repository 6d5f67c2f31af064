"""File content: from staging while processing, streamed from the compressor once stored."""

from __future__ import annotations

import mimetypes
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO
from urllib.parse import quote

from backend.compressor_client import CompressorClient, CompressorRejected, CompressorUnavailable
from backend.extensions import db
from backend.models import FILE, PROCESSING, Item
from backend.problems import Problem
from backend.ranges import ByteRange, Unsatisfiable, parse_range
from backend.services.files import file_not_found
from backend.storage.staging import Staging

STREAM_CHUNK = 256 * 1024


@dataclass
class Content:
    status: int
    body: Iterable[bytes]
    headers: dict[str, str] = field(default_factory=dict)


def content_disposition(name: str) -> str:
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\%' else "_" for c in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


class _Body:
    """A response body that releases its source when the server closes it, even when it was
    never iterated (HEAD requests, clients that hang up early)."""

    def __init__(self, chunks: Iterator[bytes], close: Callable[[], None]) -> None:
        self._chunks = chunks
        self.close = close

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks


def _read_staged(handle: BinaryIO, start: int, length: int) -> Iterator[bytes]:
    handle.seek(start)
    while length > 0:
        chunk = handle.read(min(STREAM_CHUNK, length))
        if not chunk:
            return
        length -= len(chunk)
        yield chunk


def _unavailable() -> Problem:
    return Problem(
        503,
        "compressor_unavailable",
        "Storage temporarily unavailable",
        "The storage service is not reachable right now. Try again in a minute.",
        headers={"Retry-After": "30"},
    )


def _from_compressor(
    item: Item, byte_range: ByteRange | None, compressor: CompressorClient
) -> tuple[int, Iterable[bytes], dict[str, str]]:
    assert item.sha256 is not None
    try:
        response = compressor.open_blob(item.sha256, byte_range.header() if byte_range else None)
    except CompressorUnavailable:
        raise _unavailable() from None
    except CompressorRejected as exc:
        raise Problem(
            502,
            "storage_error",
            "Storage error",
            f"The storage service could not return this file ({exc.status}). "
            "Tell the administrator.",
        ) from None

    body = _Body(response.iter_content(STREAM_CHUNK), response.close)
    headers = {"Content-Length": response.headers.get("Content-Length", "")}
    if response.status_code == 206:
        headers["Content-Range"] = response.headers.get("Content-Range", "")
    return response.status_code, body, headers


def open_content(
    user_id: int,
    item_id: int,
    range_header: str | None,
    staging: Staging,
    compressor: CompressorClient,
) -> Content:
    item = db.session.get(Item, item_id)
    if item is None or item.user_id != user_id:
        raise file_not_found()
    if item.kind != FILE:
        raise Problem(
            400,
            "not_a_file",
            "Not a file",
            "Folders have no content to download. Download the files inside instead.",
        )
    try:
        byte_range = parse_range(range_header, item.size)
    except Unsatisfiable:
        raise Problem(
            416,
            "range_not_satisfiable",
            "Range not satisfiable",
            f"The file is {item.size} bytes long; ask for a range inside it.",
            headers={"Content-Range": f"bytes */{item.size}"},
        ) from None
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Type": mimetypes.guess_type(item.name)[0] or "application/octet-stream",
        "Content-Disposition": content_disposition(item.name),
    }
    if item.state == PROCESSING and item.staging_key:
        try:
            handle = staging.open_read(item.staging_key)
        except FileNotFoundError:
            # The worker stored it meanwhile; read the row again and serve from the compressor.
            db.session.refresh(item)
            if item.state == PROCESSING:
                raise
        else:
            start, length = (byte_range.start, byte_range.length) if byte_range else (0, item.size)
            headers["Content-Length"] = str(length)
            if byte_range:
                headers["Content-Range"] = byte_range.content_range(item.size)
            status = 206 if byte_range else 200
            body = _Body(_read_staged(handle, start, length), handle.close)
            return Content(status, body, headers)
    status, body, extra = _from_compressor(item, byte_range, compressor)
    headers.update({key: value for key, value in extra.items() if value})
    return Content(status, body, headers)
