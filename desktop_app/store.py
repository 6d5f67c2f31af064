"""The upload queue on disk (SQLite), so that a restarted client resumes its transfers.

Local paths are kept byte for byte: one that is not UTF-8 (Python holds its undecodable
bytes as surrogate escapes) is stored as a BLOB of its bytes and read back as the same
string, so the file can still be opened after a restart. Other text, such as an error
message, is only ever shown, so any such character in it is stored as U+FFFD.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from desktop_app.formatting import displayable, is_utf8

SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS transfers (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account     TEXT    NOT NULL,
    path        TEXT    NOT NULL,
    parent_id   INTEGER,
    size        INTEGER NOT NULL DEFAULT 0,
    mtime_ns    INTEGER NOT NULL DEFAULT 0,
    sha256      TEXT,
    upload_url  TEXT,
    state       TEXT    NOT NULL,
    error       TEXT,
    file_id     INTEGER,
    bytes_done  INTEGER NOT NULL DEFAULT 0,
    retryable   INTEGER NOT NULL DEFAULT 1,
    created     REAL    NOT NULL,
    note        TEXT
);
CREATE INDEX IF NOT EXISTS transfers_account ON transfers (account, id);
"""


@dataclass
class TransferRecord:
    """One queued file as persisted; ``size``/``mtime_ns`` are its fingerprint."""

    account: str
    path: str
    parent_id: int | None
    size: int = 0
    mtime_ns: int = 0
    sha256: str | None = None
    upload_url: str | None = None
    state: str = "queued"
    error: str | None = None
    file_id: int | None = None
    bytes_done: int = 0
    retryable: bool = True
    created: float = field(default_factory=time.time)
    note: str | None = None  # something the user should know that is not an error
    id: int | None = None


_COLUMNS = tuple(f.name for f in fields(TransferRecord) if f.name != "id")


class QueueStore:
    """Thread-safe persistence of :class:`TransferRecord` rows."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._upgrade()
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def _upgrade(self) -> None:
        """Bring a queue written by an older version up to date, keeping its rows."""
        present = {row["name"] for row in self._db.execute("PRAGMA table_info(transfers)")}
        if "note" not in present:
            self._db.execute("ALTER TABLE transfers ADD COLUMN note TEXT")

    def add(self, record: TransferRecord) -> int:
        values = [_column_value(name, getattr(record, name)) for name in _COLUMNS]
        marks = ",".join("?" * len(_COLUMNS))
        with self._lock:
            cursor = self._db.execute(
                f"INSERT INTO transfers ({','.join(_COLUMNS)}) VALUES ({marks})", values
            )
        record.id = int(cursor.lastrowid or 0)
        return record.id

    def update(self, transfer_id: int, **changes: Any) -> None:
        unknown = set(changes) - set(_COLUMNS)
        if unknown:
            raise ValueError(f"Unknown transfer fields: {sorted(unknown)}")
        if not changes:
            return
        assignments = ",".join(f"{name}=?" for name in changes)
        with self._lock:
            self._db.execute(
                f"UPDATE transfers SET {assignments} WHERE id=?",
                [*(_column_value(k, v) for k, v in changes.items()), transfer_id],
            )

    def get(self, transfer_id: int) -> TransferRecord | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM transfers WHERE id=?", (transfer_id,)).fetchone()
        return _record(row) if row else None

    def load(self, account: str) -> list[TransferRecord]:
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM transfers WHERE account=? ORDER BY id", (account,)
            ).fetchall()
        return [_record(row) for row in rows]

    def delete(self, transfer_ids: list[int]) -> None:
        with self._lock:
            self._db.executemany("DELETE FROM transfers WHERE id=?", [(i,) for i in transfer_ids])

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _column_value(name: str, value: Any) -> Any:
    """``value`` as SQLite can hold it (its text must be UTF-8)."""
    if not isinstance(value, str) or is_utf8(value):
        return value
    if name == "path":
        return os.fsencode(value)  # the exact bytes of the name on disk
    return displayable(value)


def _record(row: sqlite3.Row) -> TransferRecord:
    values = {key: row[key] for key in row.keys()}  # noqa: SIM118
    if isinstance(values["path"], bytes):
        values["path"] = os.fsdecode(values["path"])
    values["retryable"] = bool(values["retryable"])
    return TransferRecord(**values)
