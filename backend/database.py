"""Engine settings shared by the app and the migrations (SQLite and MySQL/MariaDB)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa


def engine_options(database_url: str) -> dict[str, Any]:
    if sa.engine.make_url(database_url).get_backend_name() == "sqlite":
        return {"connect_args": {"timeout": 30, "check_same_thread": False}}
    return {"pool_pre_ping": True, "pool_recycle": 3600}


def prepare_engine(engine: sa.Engine) -> None:
    """SQLite: write-ahead log for concurrent readers, enforced foreign keys."""
    if engine.dialect.name != "sqlite":
        return

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()
