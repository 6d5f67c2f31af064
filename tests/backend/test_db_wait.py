"""The backend waits at start for a database that is not reachable yet (a real MariaDB)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from backend.db_wait import DatabaseUnavailable, wait_for_database
from tests.support.mariadb import MariaDB
from tests.support.net import free_port
from tests.support.proxy import FaultyProxy

REPO_ROOT = Path(__file__).resolve().parents[2]


def _url(user: str, password: str, port: int, name: str) -> str:
    return f"mysql+pymysql://{user}:{password}@127.0.0.1:{port}/{name}?charset=utf8mb4"


@pytest.mark.mariadb
def test_waits_until_the_database_answers(
    mariadb: MariaDB, caplog: pytest.LogCaptureFixture
) -> None:
    database = mariadb.create_database("wait")
    port = free_port()
    proxies: list[FaultyProxy] = []

    def sleep(_seconds: float) -> None:  # the database server "comes up" on the 2nd wait
        if len(proxies) == 0 and len(caplog.records) >= 2:
            proxies.append(FaultyProxy("127.0.0.1", mariadb.port, listen_port=port).start())

    caplog.set_level(logging.INFO, "backend.db_wait")
    try:
        wait_for_database(_url(database.user, database.password, port, database.name), 30, sleep)
    finally:
        for proxy in proxies:
            proxy.stop()
    waits = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(waits) == 2
    assert all(w.startswith(f"waiting for the database at 127.0.0.1:{port}/") for w in waits)
    assert f"/{database.name}: Can't connect to MySQL server" in waits[0]
    assert "retrying in" in waits[0]
    assert caplog.records[-1].getMessage() == (
        f"the database at 127.0.0.1:{port}/{database.name} is reachable"
    )
    assert proxies[0].log.connections >= 1


def test_gives_up_after_the_timeout_with_a_clear_message() -> None:
    now = [0.0]
    delays: list[float] = []

    def sleep(seconds: float) -> None:
        delays.append(seconds)
        now[0] += 10

    with pytest.raises(DatabaseUnavailable) as caught:
        wait_for_database(_url("u", "p", free_port(), "trove"), 25, sleep, lambda: now[0])
    assert len(delays) == 3
    message = str(caught.value)
    assert "is still unreachable after 25 s" in message
    assert "check that it runs and that TROVE_DATABASE_URL names it" in message


@pytest.mark.mariadb
def test_a_wrong_password_stops_at_once_with_the_reason(mariadb: MariaDB) -> None:
    database = mariadb.create_database("pw")
    slept: list[float] = []
    with pytest.raises(DatabaseUnavailable) as caught:
        url = _url(database.user, "not-the-password", mariadb.port, database.name)
        wait_for_database(url, 30, slept.append)
    assert slept == []
    assert "Access denied" in str(caught.value)
    assert "keeps the passwords of its first start" in str(caught.value)


def test_sqlite_needs_no_wait(tmp_path: Path) -> None:
    wait_for_database(f"sqlite:///{tmp_path / 'none' / 'x.db'}", 0, lambda _s: pytest.fail())


def test_the_server_exits_with_the_reason_when_the_database_stays_away(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TROVE_", "COMPRESSOR_"))}
    env |= {
        "TROVE_DATA_DIR": str(tmp_path / "data"),
        "TROVE_PORT": str(free_port()),
        "TROVE_DATABASE_URL": _url("trove", "pw", free_port(), "trove"),
        "TROVE_DATABASE_WAIT_SECONDS": "2",
    }
    done = subprocess.run(
        [sys.executable, "-m", "backend"],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 3
    assert "WARNING backend.db_wait: waiting for the database at 127.0.0.1:" in done.stderr
    assert "is still unreachable after 2 s" in done.stderr
    assert "Traceback" not in done.stderr
