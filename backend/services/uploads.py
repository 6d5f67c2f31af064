"""tus upload sessions: creation, chunk append, termination and expiry."""

from __future__ import annotations

import hashlib
import logging
import secrets
from typing import Any, BinaryIO

import sqlalchemy as sa

from backend.database import unsynced
from backend.extensions import db
from backend.models import Upload, utcnow
from backend.names import InvalidName, normalize_name
from backend.problems import Problem
from backend.runtime import Runtime
from backend.services.folders import get_folder, invalid_name
from backend.services.upload_body import (
    BodyCut,
    BodyLost,
    BodyTooLong,
    ChecksumMismatch,
    receive,
)
from backend.services.upload_files import complete, discard, expiry, own_copy, publish
from backend.services.upload_locks import (
    LockLost,
    heartbeat_ticker,
    holding,
    locked_at_birth,
    writer_lock,
)
from backend.storage.staging import StagingFull
from backend.streaming import ServerStopping
from backend.tus_headers import (
    Checksum,
    HeaderError,
    parse_checksum,
    parse_non_negative,
    parse_upload_metadata,
)

log = logging.getLogger(__name__)


def header_problem(exc: HeaderError) -> Problem:
    return Problem(400, "invalid_upload_header", "Invalid upload header", str(exc))


def too_large(detail: str) -> Problem:
    return Problem(413, "upload_too_large", "Upload too large", detail)


def storage_full() -> Problem:
    return Problem(
        507,
        "insufficient_storage",
        "Server storage full",
        "The server has no room left to receive this upload. Nothing past the last "
        "acknowledged chunk was kept; try again later, or ask the administrator to free space.",
    )


def _ensure_room(rt: Runtime, incoming: int) -> None:
    """Refuse a body the staging disk cannot take (keeping the configured reserve free)."""
    free = rt.staging.free_bytes()
    if free <= 0 or free - incoming < rt.config.staging_min_free_bytes:
        raise storage_full()


def _upload_not_found() -> Problem:
    return Problem(
        404,
        "upload_not_found",
        "Upload not found",
        "There is no such upload (it may have been cancelled). Start a new upload.",
    )


def create(
    rt: Runtime, user_id: int, length_header: str | None, metadata_header: str | None
) -> tuple[Upload, bool]:
    """Validate everything before any byte moves, then create the empty staged file.

    When the metadata names a SHA-256 and size the same user already stores, the file is
    added at once from that content and no byte needs to be sent: the upload answers
    complete (second value True). Only the user's own files are looked at, so a hash
    alone never reveals or grants anyone else's content."""
    try:
        length = parse_non_negative("Upload-Length", length_header)
        metadata = parse_upload_metadata(metadata_header)
    except HeaderError as exc:
        raise header_problem(exc) from None
    if length > rt.config.max_upload_bytes:
        raise too_large(
            f"The file is {length} bytes; this server accepts at most "
            f"{rt.config.max_upload_bytes} bytes per file."
        )
    try:
        filename = normalize_name(metadata.filename)
    except InvalidName as exc:
        raise invalid_name(exc) from None
    get_folder(user_id, metadata.parent)
    source = own_copy(user_id, metadata.sha256, length) if metadata.sha256 else None
    upload = Upload(
        uid=secrets.token_hex(16),
        user_id=user_id,
        length=length,
        offset=length if source is not None else 0,
        metadata_header=metadata_header or "",
        filename=filename,
        parent_id=metadata.parent,
        mtime=metadata.mtime,
        sha256=metadata.sha256,
        expires=expiry(rt),
    )
    if source is not None:
        lock = locked_at_birth(upload)
        unsynced(db.session)  # nothing acknowledged yet; the file row syncs it
        db.session.add(upload)
        db.session.commit()
        with holding(upload, lock):
            publish(rt, upload, source.sha256 or "", source, lock)
        return upload, True
    _ensure_room(rt, 0)
    try:
        # An empty file is complete at once, so its staged file must be durable now;
        # any other becomes durable with its first acknowledged chunk.
        rt.staging.create(upload.uid, durable=length == 0)
    except StagingFull:
        raise storage_full() from None
    lock = locked_at_birth(upload) if length == 0 else None
    # Not synced: a session lost in a power cut is one the client restarts (404), and
    # the first acknowledged chunk syncs it along with its offset.
    unsynced(db.session)
    db.session.add(upload)
    db.session.commit()
    rt.hashes.put(upload.uid, 0, hashlib.sha256())
    if lock is not None:
        with holding(upload, lock):
            complete(rt, upload, hashlib.sha256().hexdigest(), lock)
    return upload, False


def get_active(user_id: int, uid: str) -> Upload:
    upload = db.session.scalar(sa.select(Upload).where(Upload.uid == uid))
    if upload is None or upload.user_id != user_id:
        raise _upload_not_found()
    if upload.expires <= utcnow():
        raise Problem(
            410,
            "upload_expired",
            "Upload expired",
            "This upload sat idle too long and expired. Start the upload again.",
        )
    return upload


def _offset_mismatch(expected: int, given: int) -> Problem:
    return Problem(
        409,
        "offset_mismatch",
        "Offset mismatch",
        f"The server holds {expected} bytes of this upload, not {given}. "
        "Ask with HEAD and continue from there.",
    )


def append(
    rt: Runtime,
    user_id: int,
    uid: str,
    offset_header: str | None,
    checksum_header: str | None,
    body: BinaryIO,
    content_length: int | None = None,
) -> Upload:
    """Write one PATCH body at the given offset (fsynced before the new offset is saved).

    The whole-file SHA-256 advances with every chunk, so the PATCH that completes the
    upload verifies it without reading the staged file again."""
    try:
        offset = parse_non_negative("Upload-Offset", offset_header)
        checksum = parse_checksum(checksum_header)
    except HeaderError as exc:
        raise header_problem(exc) from None
    upload = get_active(user_id, uid)
    if upload.file_id is not None and offset == upload.length:
        return upload  # a retried final PATCH: the upload already produced its file
    if offset != upload.offset:
        raise _offset_mismatch(upload.offset, offset)
    remaining = upload.length - upload.offset
    if content_length is not None and content_length > remaining:
        raise _too_much(remaining)
    _ensure_room(rt, content_length if content_length is not None else 0)
    with writer_lock(upload) as lock:
        db.session.refresh(upload)
        if offset != upload.offset or upload.file_id is not None:
            raise _offset_mismatch(upload.offset, offset)
        try:
            received, whole, cut = _write_body(rt, upload, lock.token, offset, checksum, body)
        except StagingFull:
            raise storage_full() from None
        new_offset = offset + received
        if new_offset < upload.length:
            # One commit saves the offset and lets the lock go.
            saved = db.session.execute(
                sa.update(Upload)
                .where(Upload.id == upload.id, Upload.lock_token == lock.token)
                .values(offset=new_offset, expires=expiry(rt), lock_token=None, locked_at=None)
            )
            db.session.commit()
            if saved.rowcount != 1:  # type: ignore[attr-defined]
                raise LockLost
            lock.released = True
            rt.hashes.put(upload.uid, new_offset, whole)
        else:
            complete(rt, upload, whole.hexdigest(), lock)
    if cut is not None:
        raise _stopping(new_offset) if _server_stopping(cut) else _body_cut(new_offset)
    return upload


def _body_cut(offset: int) -> Problem:
    return Problem(
        400,
        "body_cut_short",
        "Request body cut short",
        f"The request ended before its Content-Length; the server kept what came and now "
        f"holds {offset} bytes of this upload. Continue from there.",
        headers={"Upload-Offset": str(offset)},
    )


# How soon a client should come back after a restart cut its request short.
STOPPING_RETRY_SECONDS = 5


def _stopping(offset: int) -> Problem:
    return Problem(
        503,
        "server_stopping",
        "Server stopping",
        f"The server is stopping, so it ended this request early; it holds {offset} "
        "bytes of this upload. Continue from there once it is back.",
        headers={"Upload-Offset": str(offset), "Retry-After": str(STOPPING_RETRY_SECONDS)},
    )


def _server_stopping(exc: BaseException) -> bool:
    """Whether a body failed because this server is stopping (see backend.streaming)."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ServerStopping):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def _too_much(remaining: int) -> Problem:
    return too_large(
        f"This upload has room for {remaining} more bytes; the request carries more. "
        "Send only the rest of the file."
    )


def _write_body(
    rt: Runtime,
    upload: Upload,
    token: str,
    offset: int,
    checksum: Checksum | None,
    body: BinaryIO,
) -> tuple[int, Any, BodyCut | None]:
    """Stream the body into the staged file; returns the byte count, the running
    whole-file hash and, when the body was cut short, why (its bytes kept all the same).
    Nothing past `offset` survives any other failure."""
    tick = heartbeat_ticker(upload.id, token)
    whole = rt.hashes.get(upload.uid, offset)
    if whole is None:  # a restarted (or another) process: hash what is staged so far
        whole = rt.staging.hash_prefix(upload.uid, offset, tick)
    remaining = upload.length - offset
    try:
        received = receive(
            rt.staging, upload.uid, offset, remaining, body, whole, checksum, rt.hashers, tick
        )
    except BodyCut as exc:
        return exc.received, whole, exc
    except BodyLost as exc:  # nothing of the body was kept
        raise (_stopping(offset) if _server_stopping(exc) else _body_cut(offset)) from None
    except BodyTooLong:
        raise _too_much(remaining) from None
    except ChecksumMismatch:
        assert checksum is not None
        raise Problem(
            460,
            "checksum_mismatch",
            "Checksum mismatch",
            f"The chunk's {checksum.algorithm} does not match Upload-Checksum; it was "
            "discarded. Send the chunk again.",
        ) from None
    return received, whole, None


def terminate(rt: Runtime, user_id: int, uid: str) -> None:
    _discard_idle(get_active(user_id, uid), rt)


def sweep_expired(rt: Runtime) -> int:
    """Remove expired sessions nobody is writing to, with their staged bytes. Staged bytes
    of a completed upload belong to its file and stay."""
    removed = 0
    uids = db.session.scalars(sa.select(Upload.uid).where(Upload.expires <= utcnow()))
    for uid in list(uids):
        upload = db.session.scalar(sa.select(Upload).where(Upload.uid == uid))
        if upload is None:
            continue
        try:
            _discard_idle(upload, rt)
        except Problem:
            continue  # a writer is active; the upload is not idle after all
        removed += 1
    return removed


def _discard_idle(upload: Upload, rt: Runtime) -> None:
    """Discard a session under its writer lock (423 while another request writes)."""
    with writer_lock(upload):
        db.session.refresh(upload)
        discard(rt, upload)
