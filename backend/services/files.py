"""Files and folders as items: listing, lookup, rename/move and recursive delete."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from backend.extensions import db
from backend.models import FILE, FOLDER, PROCESSING, BlobDeletion, Item
from backend.names import InvalidName, normalize_name
from backend.problems import Problem
from backend.services.folders import (
    get_folder,
    invalid_name,
    lock_tree,
    name_in_use,
    name_taken,
)
from backend.storage.staging import Staging
from backend.validation import is_id, is_text

DEFAULT_LIMIT = 200
MAX_LIMIT = 1000
_IN_BATCH = 500
_RANK = sa.case((Item.kind == FOLDER, 0), else_=1)


def _rfc3339(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def to_json(item: Item) -> dict[str, Any]:
    is_file = item.kind == FILE
    return {
        "id": item.id,
        "name": item.name,
        "kind": item.kind,
        "parent": item.parent_id,
        "size": item.size if is_file else 0,
        "sha256": item.sha256 if is_file else None,
        "mtime": _rfc3339(item.mtime),
        "state": item.state if is_file else None,
        "stored_size": item.stored_size if is_file else None,
        "codec": item.codec if is_file else None,
        "created": _rfc3339(item.created),
    }


def file_not_found() -> Problem:
    return Problem(
        404,
        "file_not_found",
        "File not found",
        "There is no such file or folder (it may have been deleted). Refresh the listing.",
    )


def invalid_request(detail: str) -> Problem:
    return Problem(400, "invalid_request", "Invalid request", detail)


def get_item(user_id: int, item_id: int) -> Item:
    if not is_id(item_id):
        raise file_not_found()
    item = db.session.scalar(sa.select(Item).where(Item.id == item_id, Item.user_id == user_id))
    if item is None:
        raise file_not_found()
    return item


@dataclass(frozen=True)
class Page:
    items: list[Item]
    next_cursor: str | None


def _encode_cursor(item: Item) -> str:
    key = [0 if item.kind == FOLDER else 1, item.sort_key, item.id]
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[int, str, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        rank, key, item_id = json.loads(base64.urlsafe_b64decode(padded))
        if not (rank in (0, 1) and type(rank) is int and is_text(key) and is_id(item_id)):
            raise ValueError(cursor)
    except (ValueError, TypeError, binascii.Error):
        raise Problem(
            400,
            "invalid_cursor",
            "Invalid cursor",
            "The cursor is not one this server handed out. Start again from the first page.",
        ) from None
    return rank, key, item_id


def list_items(
    user_id: int,
    parent_id: int | None,
    limit: int,
    cursor: str | None,
    search: str | None = None,
) -> Page:
    """Folders first, then files, each by case-insensitive name (keyset pagination).

    With `search`, the items whose name contains it (case-insensitive): in the whole
    account, or only in `parent_id` when that is given.
    """
    get_folder(user_id, parent_id)
    query = sa.select(Item).where(Item.user_id == user_id)
    if search:
        query = query.where(Item.sort_key.contains(search.casefold(), autoescape=True))
        if parent_id is not None:
            query = query.where(Item.parent_key == parent_id)
    else:
        query = query.where(Item.parent_key == (parent_id or 0))
    if cursor:
        rank, key, item_id = _decode_cursor(cursor)
        query = query.where(
            sa.or_(
                rank < _RANK,
                sa.and_(rank == _RANK, Item.sort_key > key),
                sa.and_(rank == _RANK, Item.sort_key == key, Item.id > item_id),
            )
        )
    rows = list(db.session.scalars(query.order_by(_RANK, Item.sort_key, Item.id).limit(limit + 1)))
    if len(rows) > limit:
        return Page(rows[:limit], _encode_cursor(rows[limit - 1]))
    return Page(rows, None)


def _is_inside(user_id: int, folder_id: int | None, ancestor_id: int) -> bool:
    """True when `folder_id` is `ancestor_id` or lies somewhere below it (or below a loop
    of folders, which nothing should move into)."""
    seen: set[int] = set()
    while folder_id is not None:
        if folder_id == ancestor_id or folder_id in seen:
            return True
        seen.add(folder_id)
        folder_id = db.session.scalar(
            sa.select(Item.parent_id).where(Item.id == folder_id, Item.user_id == user_id)
        )
    return False


def update_item(user_id: int, item_id: int, changes: dict[str, Any]) -> Item:
    """Rename (`name`) and/or move (`parent`, null for the root)."""
    if "parent" in changes:
        lock_tree(user_id)  # the checks below hold until this move commits
    item = get_item(user_id, item_id)
    unknown = set(changes) - {"name", "parent"}
    if unknown:
        raise invalid_request(f"Unknown fields: {', '.join(sorted(unknown))}. Send name/parent.")
    name = item.name
    if "name" in changes:
        try:
            name = normalize_name(changes["name"])
        except InvalidName as exc:
            raise invalid_name(exc) from None
    parent_id = item.parent_id
    if "parent" in changes:
        parent_id = changes["parent"]
        if parent_id is not None and (type(parent_id) is not int):
            raise invalid_request("'parent' must be a folder id or null for the root.")
        get_folder(user_id, parent_id)
        if item.kind == FOLDER and _is_inside(user_id, parent_id, item.id):
            raise Problem(
                400,
                "invalid_move",
                "Invalid move",
                "A folder cannot be moved into itself or one of its subfolders.",
            )
    if (name, parent_id) == (item.name, item.parent_id):
        return item
    if name_in_use(user_id, parent_id, name):
        raise name_taken(name)
    item.place(parent_id, name)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise name_taken(name) from None
    return item


def _batches(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), _IN_BATCH):
        yield ids[start : start + _IN_BATCH]


def _subtree_levels(user_id: int, root: Item) -> list[list[int]]:
    """The ids of `root` and everything below it, level by level (a loop of folders is
    walked once)."""
    levels = [[root.id]]
    if root.kind != FOLDER:
        return levels
    seen = {root.id}
    while True:
        children: list[int] = []
        for batch in _batches(levels[-1]):
            children.extend(
                db.session.scalars(
                    sa.select(Item.id).where(Item.user_id == user_id, Item.parent_id.in_(batch))
                )
            )
        children = [child for child in children if child not in seen]
        if not children:
            return levels
        seen.update(children)
        levels.append(children)


def queue_blob_deletions(shas: Iterable[str]) -> bool:
    """Queue a deletion for every blob no file references any more (within this transaction)."""
    queued = False
    for sha in set(shas):
        if db.session.scalar(sa.select(Item.id).where(Item.sha256 == sha).limit(1)) is None:
            db.session.add(BlobDeletion(sha256=sha))
            queued = True
    return queued


def delete_item(user_id: int, item_id: int, staging: Staging) -> bool:
    """Delete an item and everything below it. True when blob deletions were queued."""
    lock_tree(user_id)  # nothing moves into the subtree while it is collected and deleted
    root = get_item(user_id, item_id)
    levels = _subtree_levels(user_id, root)
    shas: list[str] = []
    staged: list[str] = []
    for level in levels:
        for batch in _batches(level):
            for sha, state, key in db.session.execute(
                sa.select(Item.sha256, Item.state, Item.staging_key).where(
                    Item.id.in_(batch), Item.kind == FILE
                )
            ):
                shas.append(sha)
                if state == PROCESSING and key:
                    staged.append(key)
    for level in reversed(levels):
        for batch in _batches(level):
            db.session.execute(sa.delete(Item).where(Item.id.in_(batch)))
    queued = queue_blob_deletions(shas)
    db.session.commit()
    remove_unreferenced_staging(staging, staged)
    return queued


def remove_unreferenced_staging(staging: Staging, keys: Iterable[str]) -> None:
    """Remove staged files no processing file reads any more (deduplicated copies of a
    file still being processed share its staged file)."""
    for key in set(keys):
        still_used = db.session.scalar(
            sa.select(Item.id).where(Item.staging_key == key, Item.state == PROCESSING).limit(1)
        )
        if still_used is None:
            staging.remove(key)
