"""Worker behaviour that needs no compressor: a file whose staged bytes are gone."""

from datetime import UTC, datetime

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from backend.backoff import Backoff
from backend.extensions import db
from backend.models import Item
from backend.worker import Worker
from tests.backend.conftest import upload_file


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
