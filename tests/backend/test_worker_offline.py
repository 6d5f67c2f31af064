"""Worker behaviour that needs no compressor: a file whose staged bytes are gone, a database
that is away."""

import logging
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from backend.app import create_app
from backend.backoff import Backoff
from backend.config import Config
from backend.extensions import db
from backend.models import Item
from backend.worker import Worker
from tests.backend.conftest import upload_file
from tests.support.net import free_port


def test_a_file_that_cannot_be_stored_is_postponed_not_retried_in_a_loop(
    app: Flask, client: FlaskClient, alice: dict[str, str]
) -> None:
    file_id = upload_file(client, alice, b"content")
    for path in app.extensions["trove"].staging.root.iterdir():
        path.unlink()
    worker = Worker(app, item_backoff=Backoff(base=60.0, cap=60.0, rand=lambda: 1.0))
    with app.app_context():
        assert worker.run_once() is True
        row = db.session.scalar(sa.select(Item).where(Item.id == file_id))
        assert row is not None
        assert row.state == "processing"
        assert row.attempts == 1
        assert row.retry_at is not None and row.retry_at > datetime.now(UTC)
        assert worker.run_once() is False  # not due again yet


def test_a_database_outage_is_logged_in_one_line_and_retried(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Nothing listens on either port: the worker meets a real connection failure.
    config = Config.for_data_dir(
        tmp_path / "data",
        database_url=f"mysql+pymysql://trove:pw@127.0.0.1:{free_port()}/trove",
        compressor_url=f"http://127.0.0.1:{free_port()}",
        worker_poll_seconds=0.05,
    )
    worker = Worker(create_app(config))
    with caplog.at_level(logging.WARNING, logger="backend.worker"):
        worker.start()
        deadline = time.monotonic() + 20
        while sum("database unavailable" in r.getMessage() for r in caplog.records) < 2:
            assert time.monotonic() < deadline, caplog.text
            time.sleep(0.05)
        worker.stop()
    records = [r for r in caplog.records if r.name == "backend.worker"]
    assert all(r.exc_info is None for r in records), caplog.text
    assert "Can't connect to MySQL server" in records[0].getMessage()
