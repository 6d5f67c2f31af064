"""tus upload sessions over time: expiry, the single-writer lock and its heartbeat."""

import hashlib
import io
import time
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from backend.extensions import db
from backend.models import Upload
from backend.services.upload_locks import (
    BODY_IDLE_TIMEOUT_SECONDS,
    LOCK_STALE,
    retry_after_seconds,
)
from backend.services.uploads import sweep_expired
from tests.backend.conftest import metadata, tus, upload_file
from tests.backend.test_uploads_api import create, patch, staged_files

OFFSET = {"Content-Type": "application/offset+octet-stream"}


def test_expiry_slides_with_activity_and_expired_uploads_are_gone(
    client: FlaskClient, alice: dict[str, str], app: Flask
) -> None:
    location = create(client, alice, 10).headers["Location"]
    uid = location.rsplit("/", 1)[1]

    def set_expiry(moment: datetime) -> None:
        with app.app_context():
            db.session.execute(sa.update(Upload).where(Upload.uid == uid).values(expires=moment))
            db.session.commit()

    set_expiry(datetime.now(UTC) + timedelta(minutes=1))
    response = patch(client, alice, location, 0, b"abc")
    slid = parsedate_to_datetime(response.headers["Upload-Expires"])
    assert slid - datetime.now(UTC) > timedelta(hours=23)
    set_expiry(datetime.now(UTC) - timedelta(seconds=1))
    assert client.head(location, headers=tus(alice)).status_code == 410
    expired = patch(client, alice, location, 3, b"def")
    assert (expired.status_code, expired.json["code"]) == (410, "upload_expired")

    with app.app_context():
        assert sweep_expired(app.extensions["trove"]) == 1
    assert staged_files(app) == []
    assert client.head(location, headers=tus(alice)).status_code == 404


def test_a_second_writer_is_locked_out(
    client: FlaskClient, alice: dict[str, str], app: Flask
) -> None:
    location = create(client, alice, 10).headers["Location"]
    uid = location.rsplit("/", 1)[1]
    with app.app_context():
        db.session.execute(
            sa.update(Upload)
            .where(Upload.uid == uid)
            .values(lock_token="other-writer", locked_at=datetime.now(UTC))
        )
        db.session.commit()
    response = patch(client, alice, location, 0, b"abc")
    assert (response.status_code, response.json["code"]) == (423, "upload_locked")
    # a fresh lock: come back once a writer whose client left would have given up
    assert response.headers["Retry-After"] == str(int(BODY_IDLE_TIMEOUT_SECONDS))
    assert client.delete(location, headers=tus(alice)).status_code == 423
    with app.app_context():  # a writer that died long ago no longer blocks anyone
        db.session.execute(
            sa.update(Upload)
            .where(Upload.uid == uid)
            .values(locked_at=datetime.now(UTC) - timedelta(hours=1))
        )
        db.session.commit()
    assert patch(client, alice, location, 0, b"abc").status_code == 204
    with app.app_context():
        upload = db.session.scalar(sa.select(Upload).where(Upload.uid == uid))
        assert upload is not None
        assert upload.lock_token is None


def test_a_busy_upload_is_retried_when_its_lock_would_go_stale() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert retry_after_seconds(now - LOCK_STALE + timedelta(seconds=2.5), now) == 3
    assert retry_after_seconds(now - LOCK_STALE - timedelta(seconds=9), now) == 1
    assert retry_after_seconds(now, now) == BODY_IDLE_TIMEOUT_SECONDS
    assert retry_after_seconds(None, now) == 1


def test_a_long_write_keeps_its_lock_fresh(
    client: FlaskClient, alice: dict[str, str], app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    from backend.services import upload_body, upload_locks

    monkeypatch.setattr(upload_locks, "LOCK_HEARTBEAT_SECONDS", 0.0)
    chunk = upload_body.BODY_BLOCK
    location = create(client, alice, 3 * chunk).headers["Location"]
    uid = location.rsplit("/", 1)[1]
    with app.app_context():
        engine = db.engine
    seen: list[datetime] = []

    def observe() -> None:
        with engine.connect() as connection:
            seen.append(
                connection.execute(
                    sa.select(Upload.locked_at).where(Upload.uid == uid)
                ).scalar_one()
            )
        time.sleep(0.01)

    class SlowBody(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            observe()
            return super().read(size)

        def readinto(self, buffer: Any) -> int:
            observe()
            return super().readinto(buffer)

    response = client.patch(
        location,
        input_stream=SlowBody(b"z" * 3 * chunk),
        headers=tus(alice, **OFFSET, **{"Upload-Offset": "0", "Content-Length": str(3 * chunk)}),
    )
    assert response.status_code == 204
    assert len(set(seen)) >= 3  # the lock's timestamp moved while the body streamed in


def test_each_chunk_costs_two_commits(
    client: FlaskClient, alice: dict[str, str], app: Flask
) -> None:
    """Taking the lock is one commit; the chunk's offset (or, for the last chunk, the
    offset, the new file and the lock's release together) is the other."""
    location = create(client, alice, 6).headers["Location"]
    with app.app_context():
        engine = db.engine
    commits: list[object] = []

    def count(connection: object) -> None:
        commits.append(connection)

    sa.event.listen(engine, "commit", count)
    try:
        assert patch(client, alice, location, 0, b"abc").status_code == 204
        assert len(commits) == 2
        commits.clear()
        final = patch(client, alice, location, 3, b"def")
        assert final.status_code == 204
        assert "Trove-File-Id" in final.headers
        assert len(commits) == 2
    finally:
        sa.event.remove(engine, "commit", count)
    with app.app_context():
        upload = db.session.scalar(
            sa.select(Upload).where(Upload.uid == location.rsplit("/", 1)[1])
        )
        assert upload is not None
        assert (upload.offset, upload.lock_token, upload.locked_at) == (6, None, None)


def test_content_the_user_has_is_added_in_two_commits(
    client: FlaskClient, alice: dict[str, str], app: Flask
) -> None:
    data = b"the same bytes twice"
    upload_file(client, alice, data, filename="one.txt")
    with app.app_context():
        engine = db.engine
    commits: list[object] = []

    def count(connection: object) -> None:
        commits.append(connection)

    sa.event.listen(engine, "commit", count)
    try:
        again = client.post(
            "/api/v1/uploads/",
            headers=tus(
                alice,
                **{
                    "Upload-Length": str(len(data)),
                    "Upload-Metadata": metadata(
                        filename="two.txt", sha256=hashlib.sha256(data).hexdigest()
                    ),
                },
            ),
        )
    finally:
        sa.event.remove(engine, "commit", count)
    assert again.status_code == 201
    assert again.headers["Trove-Deduplicated"] == "true"
    assert "Trove-File-Id" in again.headers
    assert len(commits) == 2  # the locked session, then the file with the lock let go
    with app.app_context():
        upload = db.session.scalar(
            sa.select(Upload).where(Upload.uid == again.headers["Location"].rsplit("/", 1)[1])
        )
        assert upload is not None
        assert (upload.lock_token, upload.file_id) == (None, int(again.headers["Trove-File-Id"]))


def test_a_writer_whose_lock_was_taken_over_stops_and_says_so(
    client: FlaskClient, alice: dict[str, str], app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer stalled past the lock's staleness may find another request holding the
    upload: it must neither report its bytes as committed nor touch the new writer's."""
    from backend.services import upload_body, upload_locks

    monkeypatch.setattr(upload_locks, "LOCK_HEARTBEAT_SECONDS", 0.0)
    chunk = upload_body.BODY_BLOCK
    location = create(client, alice, 3 * chunk).headers["Location"]
    uid = location.rsplit("/", 1)[1]
    with app.app_context():
        engine = db.engine

    class TakenOverBody(io.BytesIO):
        def readinto(self, buffer: Any) -> int:
            with engine.begin() as connection:  # another request takes the stale lock
                connection.execute(
                    sa.update(Upload).where(Upload.uid == uid).values(lock_token="new-writer")
                )
            return super().readinto(buffer)

    response = client.patch(
        location,
        input_stream=TakenOverBody(b"z" * 3 * chunk),
        headers=tus(alice, **OFFSET, **{"Upload-Offset": "0", "Content-Length": str(3 * chunk)}),
    )
    assert (response.status_code, response.json["code"]) == (423, "upload_lock_lost")
    with app.app_context():
        upload = db.session.scalar(sa.select(Upload).where(Upload.uid == uid))
        assert upload is not None
        assert (upload.offset, upload.lock_token) == (0, "new-writer")
