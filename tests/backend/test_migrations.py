"""Upgrading a database that already holds data keeps every row and reference."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from backend import migrate

ITEM = (
    "INSERT INTO items (id, user_id, parent_id, parent_key, kind, name, sort_key, size,"
    " created, attempts) VALUES (?, 1, ?, ?, ?, ?, ?, 0, '2026-01-01', 0)"
)


def test_sqlite_items_keep_their_rows_and_ids_are_not_reused(tmp_path: Path) -> None:
    path = tmp_path / "trove.db"
    url = f"sqlite:///{path}"
    migrate.upgrade(url, "0001")
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute(
            "INSERT INTO users (id, username, password_hash, created)"
            " VALUES (1, 'alice', 'x', '2026-01-01')"
        )
        for item_id, parent, kind in [(1, None, "folder"), (2, 1, "folder"), (3, 2, "file")]:
            db.execute(ITEM, (item_id, parent, parent or 0, kind, f"n{item_id}", f"n{item_id}"))
        db.execute(ITEM, (4, None, 0, "file", "gone", "gone"))
        db.execute(  # an upload session that made file 4, deleted since
            "INSERT INTO uploads (uid, user_id, length, offset, metadata_header, filename,"
            " created, expires, file_id) VALUES ('u', 1, 1, 1, '', 'gone', '2026-01-01',"
            " '2026-01-02', 4)"
        )
        db.execute("DELETE FROM items WHERE id = 4")
        db.commit()

    migrate.upgrade(url)

    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA foreign_keys=ON")
        assert db.execute("SELECT id, parent_id FROM items ORDER BY id").fetchall() == [
            (1, None),
            (2, 1),
            (3, 2),
        ]
        db.execute(ITEM, (None, None, 0, "file", "new", "new"))
        assert db.execute("SELECT MAX(id) FROM items").fetchone() == (5,)
        db.execute("DELETE FROM items WHERE id = 1")  # folders still take their content along
        assert db.execute("SELECT id FROM items").fetchall() == [(5,)]
        indexes = {row[1] for row in db.execute("PRAGMA index_list(items)")}
        assert {"ix_items_listing", "ix_items_state", "ix_items_sha256"} <= indexes
