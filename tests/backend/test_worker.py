"""The worker against the real compressor process (fixtures from tests/conftest.py)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from backend.app import create_app
from backend.backoff import Backoff
from backend.config import Config
from backend.extensions import db
from backend.models import Item
from backend.worker import Worker
from tests.backend.conftest import upload_file
from tests.support.services import Compressor

TEXT = b"All work and no play makes Jack a dull boy.\n" * 5000


@pytest.fixture
def config(tmp_path: Path, compressor_service: Compressor) -> Config:
    return Config.for_data_dir(
        tmp_path / "data",
        compressor_url=compressor_service.url,
        compressor_data_dir=compressor_service.data_dir,
        worker_poll_seconds=0.2,
        store_threads=3,
    )


@pytest.fixture
def start_worker(app: Flask) -> Iterator[Callable[[], Worker]]:
    workers: list[Worker] = []

    def start() -> Worker:
        worker = Worker(app, outage_backoff=Backoff(base=0.05, cap=0.3))
        worker.start()
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def item(client: FlaskClient, auth: dict[str, str], file_id: int) -> dict[str, Any]:
    body: dict[str, Any] = client.get(f"/api/v1/files/{file_id}", headers=auth).json
    return body


def blob_status(compressor: Compressor, sha256: str) -> int:
    return requests.head(
        f"{compressor.url}/v1/blobs/{sha256}", headers=compressor.auth(), timeout=10
    ).status_code


def test_stored_files_stream_from_the_compressor(
    app: Flask,
    client: FlaskClient,
    alice: dict[str, str],
    start_worker: Callable[[], Worker],
) -> None:
    file_id = upload_file(client, alice, TEXT, "jack.txt")
    start_worker()
    wait_for(lambda: item(client, alice, file_id)["state"] == "stored")
    stored = item(client, alice, file_id)
    assert stored["codec"]
    assert 0 < stored["stored_size"] < len(TEXT)
    # the staged file goes right after the file is marked stored
    wait_for(lambda: list(app.extensions["trove"].staging.root.iterdir()) == [])

    url = f"/api/v1/files/{file_id}/content"
    whole = client.get(url, headers=alice)
    assert (whole.status_code, whole.data) == (200, TEXT)
    assert whole.headers["Content-Length"] == str(len(TEXT))
    part = client.get(url, headers={**alice, "Range": "bytes=100-199"})
    assert (part.status_code, part.data) == (206, TEXT[100:200])
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(TEXT)}"
    tail = client.get(url, headers={**alice, "Range": "bytes=-10"})
    assert tail.data == TEXT[-10:]

    usage = client.get("/api/v1/usage", headers=alice).json
    assert usage["stored_bytes"] == stored["stored_size"]
    assert usage["saved_bytes"] == len(TEXT) - stored["stored_size"]
    assert usage["processing"] == 0
    assert client.get("/readyz").json["checks"]["compressor"] == "ok"


def test_an_empty_file_is_stored_and_served(
    client: FlaskClient,
    alice: dict[str, str],
    start_worker: Callable[[], Worker],
    compressor_service: Compressor,
) -> None:
    file_id = upload_file(client, alice, b"", "empty.txt")
    start_worker()
    wait_for(lambda: item(client, alice, file_id)["state"] == "stored", timeout=15)
    assert blob_status(compressor_service, item(client, alice, file_id)["sha256"]) == 200
    content = client.get(f"/api/v1/files/{file_id}/content", headers=alice)
    assert (content.status_code, content.data) == (200, b"")


def test_same_content_shares_one_blob_until_its_last_file_is_deleted(
    client: FlaskClient,
    alice: dict[str, str],
    compressor_service: Compressor,
    start_worker: Callable[[], Worker],
) -> None:
    start_worker()
    first = upload_file(client, alice, TEXT, "a.txt")
    second = upload_file(client, alice, TEXT, "b.txt")
    wait_for(lambda: all(item(client, alice, i)["state"] == "stored" for i in (first, second)))
    sha = item(client, alice, first)["sha256"]
    stats = requests.get(
        f"{compressor_service.url}/v1/stats", headers=compressor_service.auth(), timeout=10
    ).json()
    assert stats["blobs"] == 1

    assert client.delete(f"/api/v1/files/{first}", headers=alice).status_code == 204
    time.sleep(1.0)  # give the worker time to (wrongly) delete the shared blob
    assert blob_status(compressor_service, sha) == 200
    assert client.get(f"/api/v1/files/{second}/content", headers=alice).data == TEXT

    assert client.delete(f"/api/v1/files/{second}", headers=alice).status_code == 204
    wait_for(lambda: blob_status(compressor_service, sha) == 404)


def test_waits_for_an_absent_compressor_then_catches_up(
    client: FlaskClient,
    alice: dict[str, str],
    compressor_service: Compressor,
    start_worker: Callable[[], Worker],
) -> None:
    compressor_service.stop()
    file_id = upload_file(client, alice, TEXT, "later.txt")
    start_worker()
    time.sleep(1.0)
    assert item(client, alice, file_id)["state"] == "processing"
    assert client.get(f"/api/v1/files/{file_id}/content", headers=alice).data == TEXT
    compressor_service.start()
    wait_for(lambda: item(client, alice, file_id)["state"] == "stored")
    assert client.get(f"/api/v1/files/{file_id}/content", headers=alice).data == TEXT


def test_a_restarted_backend_resumes_files_left_processing(
    config: Config, client: FlaskClient, alice: dict[str, str]
) -> None:
    ids = [upload_file(client, alice, TEXT + bytes([n]), f"{n}.txt") for n in range(3)]
    restarted = create_app(config)  # a new process over the same data directory
    worker = Worker(restarted)
    worker.start()
    try:
        wait_for(lambda: all(item(client, alice, i)["state"] == "stored" for i in ids))
    finally:
        worker.stop()
        with restarted.app_context():
            db.engine.dispose()


def test_stored_download_while_the_compressor_is_away(
    client: FlaskClient,
    alice: dict[str, str],
    compressor_service: Compressor,
    start_worker: Callable[[], Worker],
) -> None:
    file_id = upload_file(client, alice, TEXT)
    start_worker()
    wait_for(lambda: item(client, alice, file_id)["state"] == "stored")
    compressor_service.stop()
    response = client.get(f"/api/v1/files/{file_id}/content", headers=alice)
    assert response.status_code == 503
    assert response.json["code"] == "compressor_unavailable"
    assert response.headers["Retry-After"]


def _row(app: Flask, file_id: int) -> Item:
    with app.app_context():
        row = db.session.get(Item, file_id)
        assert row is not None
        db.session.expunge(row)
        return row


def test_storing_matches_files_by_their_staged_content_not_their_id(
    app: Flask, client: FlaskClient, alice: dict[str, str]
) -> None:
    # The file a store began for was deleted and its id went to a newer file: the
    # compressor's answer must land on the files with that content, not on the id.
    stored = _row(app, upload_file(client, alice, TEXT, "stored.txt"))
    newer = _row(app, upload_file(client, alice, b"other bytes", "newer.txt"))
    worker = Worker(app)
    with app.app_context():
        worker._mark_stored(newer.id, stored.staging_key or "", stored.sha256 or "", 1, 1, "z")
    assert item(client, alice, stored.id)["state"] == "stored"
    assert item(client, alice, newer.id)["state"] == "processing"


def test_a_file_deleted_while_it_is_being_stored_is_let_go_quietly(
    app: Flask,
    client: FlaskClient,
    alice: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    file_id = upload_file(client, alice, TEXT, "short-lived.txt")
    staging = app.extensions["trove"].staging
    open_read = staging.open_read

    def deleted_first(key: str) -> Any:
        assert client.delete(f"/api/v1/files/{file_id}", headers=alice).status_code == 204
        return open_read(key)

    monkeypatch.setattr(staging, "open_read", deleted_first)
    worker = Worker(app)
    with app.app_context(), caplog.at_level(logging.INFO, logger="backend.worker"):
        assert worker.run_once()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert "deleted before it could be stored" in caplog.text


def test_files_are_handed_to_the_compressor_side_by_side(
    app: Flask,
    client: FlaskClient,
    alice: dict[str, str],
    start_worker: Callable[[], Worker],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    compressor = app.extensions["trove"].compressor
    put_blob = compressor.put_blob
    together = threading.Barrier(2, timeout=10)
    lock = threading.Lock()
    in_flight: list[str] = []
    overlaps: list[str] = []

    def put_side_by_side(sha256: str, body: Any, size: int) -> Any:
        with lock:
            if sha256 in in_flight:
                overlaps.append(sha256)
            in_flight.append(sha256)
        try:
            if size == len(TEXT) + 1:  # the two different files meet here
                together.wait()
            return put_blob(sha256, body, size)
        finally:
            with lock:
                in_flight.remove(sha256)

    monkeypatch.setattr(compressor, "put_blob", put_side_by_side)
    ids = [upload_file(client, alice, TEXT + bytes([n]), f"{n}.txt") for n in range(2)]
    ids += [upload_file(client, alice, TEXT, f"same-{n}.txt") for n in range(3)]
    start_worker()
    wait_for(lambda: all(item(client, alice, i)["state"] == "stored" for i in ids))
    assert overlaps == []  # one content is never sent twice at once
