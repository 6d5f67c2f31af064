"""tus upload sessions: creation, chunk append, completion, termination and expiry."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import secrets
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any, BinaryIO

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from backend.extensions import db
from backend.models import FILE, PROCESSING, STORED, Item, Upload, utcnow
from backend.names import InvalidName, normalize_name, numbered_name, split_extension
from backend.problems import Problem
from backend.runtime import Runtime
from backend.services.folders import folder_not_found, get_folder, invalid_name
from backend.services.upload_body import BodyTooLong, ChecksumMismatch, receive
from backend.storage.staging import StagingFull
from backend.tus_headers import (
    Checksum,
    HeaderError,
    parse_checksum,
    parse_non_negative,
    parse_upload_metadata,
)

log = logging.getLogger(__name__)

# A writer that died (kill -9, power cut) keeps the lock this long at most; a live one
# renews it every LOCK_HEARTBEAT_SECONDS while it writes or hashes.
LOCK_STALE = timedelta(seconds=30)
LOCK_HEARTBEAT_SECONDS = 5.0
_PUBLISH_ATTEMPTS = 50


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


def _expires(rt: Runtime) -> datetime:
    return utcnow() + timedelta(seconds=rt.config.upload_ttl_seconds)


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
    source = _own_copy(user_id, metadata.sha256, length) if metadata.sha256 else None
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
        expires=_expires(rt),
    )
    if source is not None:
        db.session.add(upload)
        db.session.commit()
        with _writer_lock(upload) as lock:
            _publish(rt, upload, source.sha256 or "", source, lock)
        return upload, True
    _ensure_room(rt, 0)
    try:
        rt.staging.create(upload.uid)
    except StagingFull:
        raise storage_full() from None
    db.session.add(upload)
    db.session.commit()
    rt.hashes.put(upload.uid, 0, hashlib.sha256())
    if length == 0:
        with _writer_lock(upload) as lock:
            _complete(rt, upload, hashlib.sha256().hexdigest(), lock)
    return upload, False


def _own_copy(user_id: int, sha256: str | None, length: int) -> Item | None:
    """A file of this user with exactly this content whose bytes the server holds."""
    if not sha256 or length == 0:
        return None
    return db.session.scalar(
        sa.select(Item)
        .where(
            Item.user_id == user_id,
            Item.kind == FILE,
            Item.sha256 == sha256,
            Item.size == length,
            sa.or_(
                Item.state == STORED,
                sa.and_(Item.state == PROCESSING, Item.staging_key.is_not(None)),
            ),
        )
        .order_by(sa.case((Item.state == STORED, 0), else_=1), Item.id)
        .limit(1)
    )


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


@dataclasses.dataclass
class _Lock:
    token: str
    released: bool = False  # let go together with the last change made under it


@contextlib.contextmanager
def _writer_lock(upload: Upload) -> Iterator[_Lock]:
    """Take the upload's lock with a conditional UPDATE (one writer per upload across every
    thread and process); 423 when another writer holds it. Released in all cases."""
    token = secrets.token_hex(16)
    now = utcnow()
    taken = db.session.execute(
        sa.update(Upload)
        .where(
            Upload.id == upload.id,
            sa.or_(Upload.lock_token.is_(None), Upload.locked_at < now - LOCK_STALE),
        )
        .values(lock_token=token, locked_at=now)
    )
    db.session.commit()
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise Problem(
            423,
            "upload_locked",
            "Upload busy",
            "Another request is writing to this upload. Wait for it to finish, then retry.",
        )
    lock = _Lock(token)
    try:
        yield lock
    finally:
        db.session.rollback()
        if not lock.released:
            _release(upload.id, token)


def _release(upload_id: int, token: str) -> None:
    db.session.execute(
        sa.update(Upload)
        .where(Upload.id == upload_id, Upload.lock_token == token)
        .values(lock_token=None, locked_at=None)
    )
    db.session.commit()


def _heartbeat(upload_id: int, token: str) -> None:
    db.session.execute(
        sa.update(Upload)
        .where(Upload.id == upload_id, Upload.lock_token == token)
        .values(locked_at=utcnow())
    )
    db.session.commit()


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
    with _writer_lock(upload) as lock:
        db.session.refresh(upload)
        if offset != upload.offset or upload.file_id is not None:
            raise _offset_mismatch(upload.offset, offset)
        try:
            received, whole = _write_body(rt, upload, lock.token, offset, checksum, body)
        except StagingFull:
            raise storage_full() from None
        new_offset = offset + received
        if new_offset < upload.length:
            # One commit saves the offset and lets the lock go.
            db.session.execute(
                sa.update(Upload)
                .where(Upload.id == upload.id, Upload.lock_token == lock.token)
                .values(offset=new_offset, expires=_expires(rt), lock_token=None, locked_at=None)
            )
            db.session.commit()
            lock.released = True
            rt.hashes.put(upload.uid, new_offset, whole)
        else:
            _complete(rt, upload, whole.hexdigest(), lock)
    return upload


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
) -> tuple[int, Any]:
    """Stream the body into the staged file; returns the byte count and the running
    whole-file hash. Nothing past `offset` survives a failure."""
    tick = _heartbeat_ticker(upload.id, token)
    whole = rt.hashes.get(upload.uid, offset)
    if whole is None:  # a restarted (or another) process: hash what is staged so far
        whole = rt.staging.hash_prefix(upload.uid, offset, tick)
    remaining = upload.length - offset
    try:
        received = receive(
            rt.staging, upload.uid, offset, remaining, body, whole, checksum, rt.hashers, tick
        )
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
    return received, whole


def _heartbeat_ticker(upload_id: int, token: str) -> Callable[[], None]:
    beat = time.monotonic()

    def tick() -> None:
        nonlocal beat
        if time.monotonic() - beat > LOCK_HEARTBEAT_SECONDS:
            _heartbeat(upload_id, token)
            beat = time.monotonic()

    return tick


def _discard(rt: Runtime, upload: Upload) -> None:
    db.session.delete(upload)
    db.session.commit()
    rt.staging.remove(upload.uid)
    rt.hashes.drop(upload.uid)


def _complete(rt: Runtime, upload: Upload, sha256: str, lock: _Lock) -> None:
    """All bytes are staged and `sha256` is their hash: verify, then publish the file row
    (state `processing`)."""
    rt.hashes.drop(upload.uid)
    if upload.sha256 and sha256 != upload.sha256:
        _discard(rt, upload)
        raise Problem(
            422,
            "sha256_mismatch",
            "Content does not match its SHA-256",
            "The received file does not match the sha256 given at creation; nothing was "
            "saved. Upload the file again.",
        )
    _publish(rt, upload, sha256, None, lock)


def _publish(rt: Runtime, upload: Upload, sha256: str, source: Item | None, lock: _Lock) -> None:
    """Create the upload's file row under a free name. Its content is the upload's staged
    file, or, for `source`, the content that file already has (stored or staged).

    One commit saves the file row, the upload's final offset and the release of its lock:
    a crash before it leaves the upload where its last acknowledged chunk left it."""
    skip: set[str] = set()
    for _ in range(_PUBLISH_ATTEMPTS):
        if upload.parent_id is not None and (
            db.session.scalar(sa.select(Item.id).where(Item.id == upload.parent_id)) is None
        ):
            if source is None:
                _discard(rt, upload)
            else:
                db.session.delete(upload)
                db.session.commit()
            raise folder_not_found()
        name = _free_name(upload, skip)
        item = Item(
            user_id=upload.user_id,
            kind=FILE,
            size=upload.length,
            sha256=sha256,
            mtime=upload.mtime,
            state=PROCESSING,
            staging_key=upload.uid,
            attempts=0,
        )
        if source is not None and source.state == STORED:
            item.state, item.staging_key = STORED, None
            item.stored_size, item.codec = source.stored_size, source.codec
        elif source is not None:
            item.staging_key = source.staging_key
        item.place(upload.parent_id, name)
        db.session.add(item)
        try:
            db.session.flush()
            upload.file_id = item.id
            upload.offset = upload.length
            upload.expires = _expires(rt)
            upload.lock_token = upload.locked_at = None
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            skip.add(name)
            continue
        lock.released = True
        rt.work_ready.set()
        return
    raise Problem(
        409, "name_taken", "Name already taken", "No free name was found. Rename the file."
    )


def _free_name(upload: Upload, skip: set[str]) -> str:
    """The upload's name, or the first free 'name (n).ext' in its folder."""
    stem = split_extension(upload.filename)[0]
    taken = set(
        db.session.scalars(
            sa.select(Item.name).where(
                Item.user_id == upload.user_id,
                Item.parent_key == (upload.parent_id or 0),
                Item.name.startswith(stem, autoescape=True),
            )
        )
    )
    taken |= skip
    number = 0
    while numbered_name(upload.filename, number) in taken:
        number += 1
    return numbered_name(upload.filename, number)


def terminate(rt: Runtime, user_id: int, uid: str) -> None:
    upload = get_active(user_id, uid)
    with _writer_lock(upload):
        db.session.refresh(upload)
        if upload.file_id is None:
            rt.staging.remove(upload.uid)
        rt.hashes.drop(upload.uid)
        db.session.delete(upload)
        db.session.commit()


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
            with _writer_lock(upload):
                db.session.refresh(upload)
                if upload.file_id is None:
                    rt.staging.remove(upload.uid)
                rt.hashes.drop(upload.uid)
                db.session.delete(upload)
                db.session.commit()
                removed += 1
        except Problem:
            continue  # a writer is active; the upload is not idle after all
    return removed
