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


def upgrade(database_url: str) -> None:
    """Apply every pending migration (idempotent)."""
    engine = sa.create_engine(database_url, **engine_options(database_url))
    prepare_engine(engine)
    try:
        alembic_cfg = AlembicConfig()
        alembic_cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        with engine.begin() as connection:
            alembic_cfg.attributes["connection"] = connection
            command.upgrade(alembic_cfg, "head")
        log.info("database schema is up to date")
    finally:
        engine.dispose()
