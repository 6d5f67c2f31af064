"""Fixtures shared by every test package: real services, a real MariaDB, the real corpus."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import corpus
from tests.support.mariadb import MariaDB
from tests.support.services import (
    COMPRESSOR_BIN,
    Compressor,
    Stack,
    make_compressor,
    start_stack,
)

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="session")
def compressor_bin() -> Path:
    if not COMPRESSOR_BIN.exists():
        pytest.fail(
            f"compressor binary missing at {COMPRESSOR_BIN}: run `make build` first", pytrace=False
        )
    return COMPRESSOR_BIN


@pytest.fixture
def compressor_service(tmp_path: Path, compressor_bin: Path) -> Iterator[Compressor]:
    """The real compressor on a free port with an embedded SQLite index."""
    service = make_compressor(tmp_path / "data" / "compressor")
    service.start()
    yield service
    service.stop()


@pytest.fixture
def stack(tmp_path: Path, compressor_bin: Path) -> Iterator[Stack]:
    """Compressor + backend on SQLite, with user `alice` signed in."""
    running = start_stack(tmp_path)
    yield running
    running.stop()


@pytest.fixture(scope="session")
def mariadb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDB]:
    """One MariaDB server for the session, from Debian's packages, on a free port."""
    server = MariaDB(tmp_path_factory.mktemp("mariadb"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mysql_stack(tmp_path: Path, compressor_bin: Path, mariadb: MariaDB) -> Iterator[Stack]:
    """Compressor + backend each on its own MariaDB database, with `alice` signed in."""
    trove_db = mariadb.create_database("trove")
    compressor_db = mariadb.create_database("compressor")
    running = start_stack(
        tmp_path,
        backend_database_url=trove_db.sqlalchemy_url,
        compressor_database_url=compressor_db.sqlx_url,
    )
    yield running
    running.stop()


@pytest.fixture(scope="session")
def corpus_root() -> Path:
    """The real-world corpus (built once with ../shared/corpus/make_corpus.sh, then cached)."""
    return corpus.ensure()


@pytest.fixture(scope="session")
def corpus_files(corpus_root: Path) -> list[corpus.CorpusFile]:
    return corpus.read_manifest(corpus_root)
