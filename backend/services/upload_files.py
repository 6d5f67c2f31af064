"""Turning a finished upload into a file: whole-file verification, the file row under a
free name, and the user's own copy of some content (deduplication)."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from backend.extensions import db
from backend.models import FILE, PROCESSING, STORED, Item, Upload, utcnow
from backend.names import numbered_name, split_extension
from backend.problems import Problem
from backend.runtime import Runtime
from backend.services.folders import get_folder
from backend.services.upload_locks import WriterLock

_PUBLISH_ATTEMPTS = 50


def expiry(rt: Runtime) -> datetime:
    return utcnow() + timedelta(seconds=rt.config.upload_ttl_seconds)


def own_copy(user_id: int, sha256: str | None, length: int) -> Item | None:
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


def discard(rt: Runtime, upload: Upload) -> None:
    """Forget an upload session; its staged bytes go too unless they became a file's.
    The row goes first: a crash in between leaves a stray staged file, never a session
    whose bytes are missing."""
    keep_staged = upload.file_id is not None
    db.session.delete(upload)
    db.session.commit()
    if not keep_staged:
        rt.staging.remove(upload.uid)
    rt.hashes.drop(upload.uid)


def complete(rt: Runtime, upload: Upload, sha256: str, lock: WriterLock) -> None:
    """All bytes are staged and `sha256` is their hash: verify, then publish the file row
    (state `processing`)."""
    rt.hashes.drop(upload.uid)
    if upload.sha256 and sha256 != upload.sha256:
        discard(rt, upload)
        raise Problem(
            422,
            "sha256_mismatch",
            "Content does not match its SHA-256",
            "The received file does not match the sha256 given at creation; nothing was "
            "saved. Upload the file again.",
        )
    publish(rt, upload, sha256, None, lock)


def publish(
    rt: Runtime, upload: Upload, sha256: str, source: Item | None, lock: WriterLock
) -> None:
    """Create the upload's file row under a free name. Its content is the upload's staged
    file, or, for `source`, the content that file already has (stored or staged).

    One commit saves the file row, the upload's final offset and the release of its lock:
    a crash before it leaves the upload where its last acknowledged chunk left it."""
    skip: set[str] = set()
    for _ in range(_PUBLISH_ATTEMPTS):
        try:  # the folder may have been deleted while the file was uploading
            get_folder(upload.user_id, upload.parent_id)
        except Problem:
            discard(rt, upload)
            raise
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
            upload.expires = expiry(rt)
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
