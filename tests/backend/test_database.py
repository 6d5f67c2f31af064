"""The SQLite write gate: writers of one process queue in Python, not in SQLite's
sleeping busy handler."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.database import WriteGate, prepare_engine, unsynced


def _engine(tmp_path: Path, busy_timeout: float) -> tuple[sa.Engine, WriteGate]:
    engine = sa.create_engine(
        f"sqlite:///{tmp_path / 'gate.db'}",
        connect_args={"timeout": busy_timeout, "check_same_thread": False},
    )
    gate = prepare_engine(engine)
    assert gate is not None
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)")
    return engine, gate


def test_a_second_writer_waits_for_the_first(tmp_path: Path) -> None:
    # A busy timeout far shorter than the first writer's transaction: without the gate
    # the second writer would fail with "database is locked".
    engine, gate = _engine(tmp_path, busy_timeout=0.01)
    first_wrote = threading.Event()
    errors: list[BaseException] = []

    def second() -> None:
        first_wrote.wait()
        try:
            with engine.begin() as connection:
                connection.exec_driver_sql("INSERT INTO t (v) VALUES ('second')")
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=second)
    thread.start()
    with engine.begin() as connection:
        connection.exec_driver_sql("INSERT INTO t (v) VALUES ('first')")
        first_wrote.set()
        thread.join(0.3)  # the second writer is blocked meanwhile
        assert thread.is_alive()
    thread.join(10)
    assert errors == []
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT v FROM t ORDER BY id").scalars().all() == [
            "first",
            "second",
        ]
    assert not gate.held


def test_the_gate_opens_after_a_failed_write_and_for_readers(tmp_path: Path) -> None:
    engine, gate = _engine(tmp_path, busy_timeout=5)
    with engine.begin() as connection:
        connection.exec_driver_sql("INSERT INTO t (v) VALUES ('x')")
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
        connection.exec_driver_sql("INSERT INTO t (v) VALUES ('x')")
    assert not gate.held
    with engine.connect() as connection:
        connection.exec_driver_sql("SELECT * FROM t").all()
        assert not gate.held
        connection.exec_driver_sql("UPDATE t SET v = 'y'")
        assert gate.held
        connection.rollback()
    assert not gate.held


def test_an_unsynced_commit_commits_and_leaves_the_connection_durable(tmp_path: Path) -> None:
    engine, _gate = _engine(tmp_path, busy_timeout=5)
    with Session(engine) as session:
        unsynced(session)
        session.execute(sa.text("INSERT INTO t (v) VALUES ('lock')"))
        assert session.execute(sa.text("PRAGMA synchronous")).scalar() == 1  # NORMAL
        session.commit()
        assert session.execute(sa.text("PRAGMA synchronous")).scalar() == 2  # FULL again
        session.execute(sa.text("INSERT INTO t (v) VALUES ('file')"))
        session.commit()
        unsynced(session)
        session.execute(sa.text("INSERT INTO t (v) VALUES ('dropped')"))
        session.rollback()
        session.execute(sa.text("INSERT INTO t (v) VALUES ('pending')"))
        unsynced(session)  # too late: this transaction wrote already and stays durable
        session.execute(sa.text("INSERT INTO t (v) VALUES ('durable')"))
        assert session.execute(sa.text("PRAGMA synchronous")).scalar() == 2
        session.commit()
    with engine.connect() as connection:
        rows = connection.exec_driver_sql("SELECT v FROM t ORDER BY id").scalars().all()
        assert rows == ["lock", "file", "pending", "durable"]
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2


def test_a_failed_unsynced_commit_still_leaves_the_connection_durable(tmp_path: Path) -> None:
    engine, gate = _engine(tmp_path, busy_timeout=5)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
        connection.exec_driver_sql(
            "CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id))"
        )
    with Session(engine) as session:
        session.execute(sa.text("PRAGMA defer_foreign_keys=ON"))  # checked at COMMIT
        unsynced(session)
        session.execute(sa.text("INSERT INTO child (parent_id) VALUES (42)"))
        with pytest.raises(sa.exc.IntegrityError):
            session.commit()  # the COMMIT itself fails; the transaction stays open
        session.rollback()
        assert session.execute(sa.text("PRAGMA synchronous")).scalar() == 2
    assert not gate.held
