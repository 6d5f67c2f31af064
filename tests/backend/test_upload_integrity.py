"""Finalising without re-reading the staged file, deduplication and a full staging disk."""

import hashlib
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from backend.app import create_app
from backend.config import Config
from backend.extensions import db
from backend.models import Item
from backend.storage.staging import Staging
from tests.backend.conftest import tus
from tests.backend.test_uploads_api import create, patch, staged_files


def _count_staged_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    reads: list[str] = []
    original = Staging.open_read

    def counting(self: Staging, key: str) -> Any:
        reads.append(key)
        return original(self, key)

    monkeypatch.setattr(Staging, "open_read", counting)
    return reads


def test_the_final_patch_does_not_read_the_staged_file_again(
    client: FlaskClient, alice: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = bytes(range(256)) * 4096
    sha = hashlib.sha256(data).hexdigest()
    location = create(client, alice, len(data), sha256=sha).headers["Location"]
    reads = _count_staged_reads(monkeypatch)
    for start in range(0, len(data), 300_000):
        response = patch(client, alice, location, start, data[start : start + 300_000])
        assert response.status_code == 204
    file_id = response.headers["Trove-File-Id"]
    assert reads == []  # hashed as the chunks arrived
    item = client.get(f"/api/v1/files/{file_id}", headers=alice).json
    assert item["sha256"] == sha


def test_a_restarted_server_hashes_the_staged_prefix_once(
    app: Flask, config: Config, alice: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = b"0123456789" * 100_000
    first = app.test_client()
    location = create(first, alice, len(data), sha256=hashlib.sha256(data).hexdigest()).headers[
        "Location"
    ]
    assert patch(first, alice, location, 0, data[:400_000]).status_code == 204
    restarted = create_app(config).test_client()  # a new process: no hash state in memory
    reads = _count_staged_reads(monkeypatch)
    assert patch(restarted, alice, location, 400_000, data[400_000:700_000]).status_code == 204
    assert len(reads) == 1
    done = patch(restarted, alice, location, 700_000, data[700_000:])
    assert len(reads) == 1
    file_id = done.headers["Trove-File-Id"]
    assert restarted.get(f"/api/v1/files/{file_id}/content", headers=alice).data == data


def test_a_wrong_whole_file_hash_refuses_the_file_after_a_restart(
    app: Flask, config: Config, alice: dict[str, str]
) -> None:
    data = b"abcdef" * 1000
    first = app.test_client()
    location = create(first, alice, len(data), sha256="1" * 64).headers["Location"]
    assert patch(first, alice, location, 0, data[:3000]).status_code == 204
    restarted = create_app(config).test_client()
    response = patch(restarted, alice, location, 3000, data[3000:])
    assert (response.status_code, response.json["code"]) == (422, "sha256_mismatch")
    assert restarted.get("/api/v1/files", headers=alice).json["items"] == []
    assert staged_files(app) == []


def _file_ids_by_sha(app: Flask, sha: str) -> list[Item]:
    with app.app_context():
        items = db.session.scalars(sa.select(Item).where(Item.sha256 == sha)).all()
        db.session.expunge_all()
        return list(items)


def test_content_the_user_already_has_is_added_without_sending_bytes(
    client: FlaskClient, alice: dict[str, str], app: Flask
) -> None:
    data = b"holiday photo bytes" * 1000
    sha = hashlib.sha256(data).hexdigest()
    original = create(client, alice, len(data), filename="a.jpg", sha256=sha)
    first_id = patch(client, alice, original.headers["Location"], 0, data).headers["Trove-File-Id"]
    folder = client.post("/api/v1/folders", json={"name": "copies"}, headers=alice).json

    again = create(client, alice, len(data), filename="b.jpg", sha256=sha, parent=folder["id"])
    assert again.status_code == 201
    assert again.headers["Upload-Offset"] == str(len(data))
    assert again.headers["Trove-Deduplicated"] == "true"
    second_id = again.headers["Trove-File-Id"]
    assert second_id != first_id
    head = client.head(again.headers["Location"], headers=tus(alice))
    assert (head.headers["Upload-Offset"], head.headers["Trove-File-Id"]) == (
        str(len(data)),
        second_id,
    )
    item = client.get(f"/api/v1/files/{second_id}", headers=alice).json
    assert (item["name"], item["parent"], item["size"], item["sha256"]) == (
        "b.jpg",
        folder["id"],
        len(data),
        sha,
    )
    # Both read the one staged copy while processing.
    assert len(staged_files(app)) == 1
    assert client.get(f"/api/v1/files/{second_id}/content", headers=alice).data == data
    # Deleting the original keeps the copy's bytes.
    assert client.delete(f"/api/v1/files/{first_id}", headers=alice).status_code == 204
    assert client.get(f"/api/v1/files/{second_id}/content", headers=alice).data == data
    assert len(staged_files(app)) == 1
    assert client.delete(f"/api/v1/files/{second_id}", headers=alice).status_code == 204
    assert staged_files(app) == []


def test_a_hash_never_grants_another_users_content(
    client: FlaskClient, alice: dict[str, str], make_user: Any
) -> None:
    bob = make_user("bob")
    data = b"alice's secret" * 100
    sha = hashlib.sha256(data).hexdigest()
    location = create(client, alice, len(data), sha256=sha).headers["Location"]
    patch(client, alice, location, 0, data)

    attempt = create(client, bob, len(data), sha256=sha)
    assert attempt.status_code == 201
    assert attempt.headers["Upload-Offset"] == "0"
    assert "Trove-File-Id" not in attempt.headers
    assert "Trove-Deduplicated" not in attempt.headers
    # Bob must really send the bytes, and wrong bytes are refused.
    bad = patch(client, bob, attempt.headers["Location"], 0, b"x" * len(data))
    assert (bad.status_code, bad.json["code"]) == (422, "sha256_mismatch")
    assert client.get("/api/v1/files", headers=bob).json["items"] == []
    # A different size with the same hash is not a match either.
    other_size = create(client, alice, len(data) + 1, filename="x", sha256=sha)
    assert other_size.headers["Upload-Offset"] == "0"


def test_staging_full_answers_507_and_keeps_nothing_partial(
    app: Flask, config: Config, alice: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = app.test_client()
    location = create(client, alice, 6, filename="big.bin").headers["Location"]
    assert patch(client, alice, location, 0, b"abc").status_code == 204
    monkeypatch.setattr(Staging, "free_bytes", lambda self: 2)
    full = patch(client, alice, location, 3, b"def")
    assert full.status_code == 507
    assert full.content_type == "application/problem+json"
    assert full.json["code"] == "insufficient_storage"
    assert "room" in full.json["detail"]
    monkeypatch.setattr(Staging, "free_bytes", lambda self: 0)
    refused = create(client, alice, 1, filename="other.bin")
    assert refused.status_code == 507
    assert client.head(location, headers=tus(alice)).headers["Upload-Offset"] == "3"
    assert client.get("/api/v1/files", headers=alice).json["items"] == []
    monkeypatch.undo()
    done = patch(client, alice, location, 3, b"def")
    file_id = done.headers["Trove-File-Id"]
    assert client.get(f"/api/v1/files/{file_id}/content", headers=alice).data == b"abcdef"


def test_a_write_that_hits_a_full_disk_is_cut_back(
    client: FlaskClient, alice: dict[str, str], app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    location = create(client, alice, 8).headers["Location"]
    assert patch(client, alice, location, 0, b"abcd").status_code == 204
    original = Staging.write_all

    def fill_up(handle: Any, data: Any) -> None:
        original(handle, bytes(data)[:2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Staging, "write_all", staticmethod(fill_up))
    response = patch(client, alice, location, 4, b"efgh")
    assert (response.status_code, response.json["code"]) == (507, "insufficient_storage")
    staged = app.extensions["trove"].staging.path(location.rsplit("/", 1)[1])
    assert staged.read_bytes() == b"abcd"
    monkeypatch.undo()
    assert patch(client, alice, location, 4, b"efgh").headers["Trove-File-Id"]


def test_min_free_bytes_is_read_from_the_environment() -> None:
    config = Config.from_env({"TROVE_STAGING_MIN_FREE_BYTES": "1048576"})
    assert config.staging_min_free_bytes == 1048576
    assert Config.from_env({"TROVE_MAX_REQUEST_BYTES": "5"}).max_request_bytes == 5
