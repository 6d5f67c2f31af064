"""Folders: lookup and creation."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from backend.extensions import db
from backend.models import FOLDER, Item, User
from backend.names import InvalidName, normalize_name
from backend.problems import Problem
from backend.validation import is_id


def invalid_name(exc: InvalidName) -> Problem:
    return Problem(400, "invalid_name", "Invalid name", str(exc))


def name_taken(name: str) -> Problem:
    return Problem(
        409,
        "name_taken",
        "Name already taken",
        f"This folder already holds an item named '{name}'. Choose another name.",
    )


def folder_not_found() -> Problem:
    return Problem(
        404,
        "folder_not_found",
        "Folder not found",
        "The folder does not exist (or was deleted). Refresh and pick another folder.",
    )


def get_folder(user_id: int, folder_id: int | None) -> Item | None:
    """The user's folder `folder_id`, or None for the root; 404 when absent or not a folder."""
    if folder_id is None:
        return None
    if not is_id(folder_id):
        raise folder_not_found()
    folder = db.session.scalar(
        sa.select(Item).where(Item.id == folder_id, Item.user_id == user_id, Item.kind == FOLDER)
    )
    if folder is None:
        raise folder_not_found()
    return folder


def lock_tree(user_id: int) -> None:
    """Make this transaction the only one changing the shape of the user's folder tree
    until it ends, and let it read the tree as it is now.

    Checks such as "is the target folder inside the one being moved" hold only while no
    other move commits in between; two moves checked at once could otherwise each pass
    and together make a cycle. Ends the transaction so far (call it before any change),
    then takes the user's row for writing: a row lock on MySQL/MariaDB, the write lock
    on SQLite, each held until commit or rollback."""
    db.session.commit()
    db.session.execute(sa.update(User).where(User.id == user_id).values(created=User.created))


def name_in_use(user_id: int, parent_id: int | None, name: str) -> bool:
    return (
        db.session.scalar(
            sa.select(Item.id).where(
                Item.user_id == user_id, Item.parent_key == (parent_id or 0), Item.name == name
            )
        )
        is not None
    )


def create_folder(user_id: int, raw_name: object, parent_id: int | None) -> Item:
    try:
        name = normalize_name(raw_name)
    except InvalidName as exc:
        raise invalid_name(exc) from None
    get_folder(user_id, parent_id)
    if name_in_use(user_id, parent_id, name):
        raise name_taken(name)
    folder = Item(user_id=user_id, kind=FOLDER, size=0, attempts=0)
    folder.place(parent_id, name)
    db.session.add(folder)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise name_taken(name) from None
    return folder
