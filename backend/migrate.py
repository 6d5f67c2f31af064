"""Bring a database schema up to date with the migrations shipped in this package."""

from __future__ import annotations

import logging
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig

from backend.database import engine_options, prepare_engine

log = logging.getLogger(__name__)
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class BrokenReferences(RuntimeError):
    """A migration left rows that point at rows that do not exist."""


def upgrade(database_url: str, revision: str = "head") -> None:
    """Apply every pending migration up to `revision` (idempotent)."""
    engine = sa.create_engine(database_url, **engine_options(database_url))
    prepare_engine(engine)
    try:
        alembic_cfg = AlembicConfig()
        alembic_cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        with engine.connect() as connection:
            sqlite = connection.dialect.name == "sqlite"
            if sqlite:
                # SQLite rebuilds a table to change it: new table, copy, drop the old one.
                # Dropping it with foreign keys on would cascade into the copy, so they are
                # off for the migration (the switch only works outside a transaction) and
                # checked before it commits.
                connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                connection.commit()
            try:
                with connection.begin():
                    alembic_cfg.attributes["connection"] = connection
                    command.upgrade(alembic_cfg, revision)
                    if sqlite:
                        _check_references(connection)
            finally:
                if sqlite:
                    connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                    connection.commit()
        log.info("database schema is up to date")
    finally:
        engine.dispose()


def _check_references(connection: sa.Connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise BrokenReferences(f"the migration left {len(broken)} broken references: {broken[:5]}")
