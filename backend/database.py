"""Engine settings shared by the app and the migrations (SQLite and MySQL/MariaDB)."""

from __future__ import annotations

import threading
from typing import Any

import sqlalchemy as sa

BUSY_TIMEOUT_SECONDS = 30
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
_UNSYNCED = "trove_unsynced_commit"


def engine_options(database_url: str) -> dict[str, Any]:
    if sa.engine.make_url(database_url).get_backend_name() == "sqlite":
        return {"connect_args": {"timeout": BUSY_TIMEOUT_SECONDS, "check_same_thread": False}}
    return {"pool_pre_ping": True, "pool_recycle": 3600}


class WriteGate:
    """Lets one connection of this process at a time hold SQLite's write lock.

    SQLite has a single writer; a second one waits in its busy handler, which sleeps in
    growing steps (up to 100 ms) and so wastes most of the wait once the first writer is
    done. Threads of one process queue here instead and go on the moment the writer
    before them commits or rolls back. Other processes still meet SQLite's busy handler,
    as does a writer that waited here longer than the busy timeout."""

    def __init__(self, timeout: float = BUSY_TIMEOUT_SECONDS) -> None:
        self._lock = threading.Lock()
        self._owner: int | None = None
        self._timeout = timeout

    def enter(self, connection: Any) -> None:
        key = id(connection)
        if self._owner == key:
            return
        if self._lock.acquire(timeout=self._timeout):
            self._owner = key

    def leave(self, connection: Any) -> None:
        if self._owner == id(connection):
            self._owner = None
            self._lock.release()

    @property
    def held(self) -> bool:
        return self._lock.locked()


def unsynced(session: Any) -> None:
    """Mark the session's transaction as one that need not survive a power cut, such as
    a writer lock taken or let go, or a session nothing was acknowledged for yet: call it
    before its first write. On SQLite its commit then skips syncing the write-ahead log
    (still safe against a killed process); the next ordinary commit syncs the log with
    its own change. A transaction that already wrote stays durable; other databases
    commit as always."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        connection.info[_UNSYNCED] = True


def _info(connection: Any) -> dict[str, Any]:
    """The pool's per-connection info (empty for a connection handed around without one)."""
    try:
        info: dict[str, Any] = connection.info
    except (AttributeError, NotImplementedError):
        return {}
    return info


def _dbapi(connection: Any) -> Any:
    """The DBAPI connection behind a pool proxy (or the connection itself)."""
    return getattr(connection, "dbapi_connection", connection)


def prepare_engine(engine: sa.Engine) -> WriteGate | None:
    """SQLite: write-ahead log for concurrent readers, enforced foreign keys, and a
    :class:`WriteGate` in front of every writing transaction (returned)."""
    if engine.dialect.name != "sqlite":
        return None

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")  # every commit durable, unless unsynced
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")
        cursor.close()

    gate = WriteGate()

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _enter(conn: sa.Connection, _c: Any, statement: str, *_args: Any) -> None:
        # The driver opens the transaction right before the first write: take the gate
        # first, so that SQLite's lock is free when this connection asks for it.
        if not statement.lstrip()[:7].upper().startswith(_WRITES):
            return
        raw = _dbapi(conn.connection)
        info = _info(conn.connection)
        if info.get(_UNSYNCED) is True and not raw.in_transaction:
            raw.execute("PRAGMA synchronous=NORMAL")  # only outside a transaction
            info[_UNSYNCED] = "switched"
        gate.enter(raw)

    # The gate opens only after the driver's COMMIT or ROLLBACK has returned (SQLAlchemy's
    # commit and rollback events fire before it), so the dialect's own calls are wrapped.
    dialect = engine.dialect
    commit, rollback = dialect.do_commit, dialect.do_rollback

    def _after(dbapi_connection: Any) -> None:
        raw = _dbapi(dbapi_connection)
        info = _info(dbapi_connection)
        try:
            if info.get(_UNSYNCED) == "switched":
                if raw.in_transaction:
                    return  # the COMMIT failed: the ROLLBACK that follows switches back
                raw.execute("PRAGMA synchronous=FULL")  # to the pool as durable as ever
            info.pop(_UNSYNCED, None)
        finally:
            gate.leave(raw)

    def do_commit(dbapi_connection: Any) -> None:
        try:
            commit(dbapi_connection)
        finally:
            _after(dbapi_connection)

    def do_rollback(dbapi_connection: Any) -> None:
        try:
            rollback(dbapi_connection)
        finally:
            _after(dbapi_connection)

    dialect.do_commit = do_commit  # type: ignore[method-assign]
    dialect.do_rollback = do_rollback  # type: ignore[method-assign]

    @sa.event.listens_for(engine, "close")
    @sa.event.listens_for(engine, "invalidate")
    def _closed(dbapi_connection: Any, *_args: Any) -> None:
        gate.leave(_dbapi(dbapi_connection))

    return gate
