"""The same models, migrations and queries on a real MariaDB server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from backend import migrate
from backend.app import create_app
from backend.config import Config
from backend.extensions import db
from backend.models import User
from tests.backend.conftest import PASSWORD, PASSWORD_HASH, upload_file
from tests.backend.test_items_api import move_into_each_other_at_once
from tests.support.mariadb import MariaDB
from tests.support.net import free_port

pytestmark = pytest.mark.mariadb


@pytest.fixture
def maria_app(tmp_path: Path, mariadb: MariaDB) -> Iterator[Flask]:
    database = mariadb.create_database("trove")
    config = Config.for_data_dir(
        tmp_path / "data",
        database_url=database.sqlalchemy_url,
        compressor_url=f"http://127.0.0.1:{free_port()}",
    )
    migrate.upgrade(config.database_url)
    migrate.upgrade(config.database_url)  # idempotent
    app = create_app(config)
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def maria_alice(maria_app: Flask) -> tuple[FlaskClient, dict[str, str]]:
    with maria_app.app_context():
        db.session.add(User(username="alice", password_hash=PASSWORD_HASH))
        db.session.commit()
    client = maria_app.test_client()
    token = client.post(
        "/api/v1/auth/login", json={"username": "alice", "password": PASSWORD}
    ).json["token"]
    return client, {"Authorization": f"Bearer {token}"}


def test_tables_are_utf8mb4_with_an_exact_collation(maria_app: Flask) -> None:
    with maria_app.app_context():
        rows = db.session.execute(
            sa.text(
                "SELECT table_name, table_collation FROM information_schema.tables "
                "WHERE table_schema = DATABASE() AND table_name <> 'alembic_version'"
            )
        ).all()
    assert {name for name, _ in rows} == {
        "users",
        "auth_tokens",
        "items",
        "uploads",
        "blob_deletions",
    }
    assert {collation for _, collation in rows} == {"utf8mb4_nopad_bin"}


def test_names_compare_exactly(maria_alice: tuple[FlaskClient, dict[str, str]]) -> None:
    client, auth = maria_alice
    for name in ("Docs", "docs", "Docs ", "Ünïcødé 😀", "ﬁ"):
        response = client.post("/api/v1/folders", json={"name": name}, headers=auth)
        assert response.status_code == 201, name
    again = client.post("/api/v1/folders", json={"name": "Ünïcødé 😀"}, headers=auth)
    assert again.status_code == 409
    names = [i["name"] for i in client.get("/api/v1/files?limit=2", headers=auth).json["items"]]
    assert names == ["Docs", "docs"]


def test_upload_list_download_usage_delete(
    maria_alice: tuple[FlaskClient, dict[str, str]],
) -> None:
    client, auth = maria_alice
    folder = client.post("/api/v1/folders", json={"name": "Music"}, headers=auth).json
    data = b"\x00\x01 binary \xff" * 1000
    first = upload_file(client, auth, data, "song.mp3", parent=folder["id"])
    second = upload_file(client, auth, data, "song.mp3", parent=folder["id"])
    listing = client.get(f"/api/v1/files?parent={folder['id']}", headers=auth).json["items"]
    assert [i["name"] for i in listing] == ["song (1).mp3", "song.mp3"]
    part = client.get(f"/api/v1/files/{second}/content", headers={**auth, "Range": "bytes=0-9"})
    assert (part.status_code, part.data) == (206, data[:10])
    usage = client.get("/api/v1/usage", headers=auth).json
    assert (usage["files"], usage["folders"], usage["original_bytes"]) == (2, 1, 2 * len(data))
    assert client.delete(f"/api/v1/files/{folder['id']}", headers=auth).status_code == 204
    assert client.get(f"/api/v1/files/{first}", headers=auth).status_code == 404
    assert client.get("/api/v1/usage", headers=auth).json["files"] == 0


def test_upload_names_are_kept_as_given_and_compared_after_nfc(
    maria_alice: tuple[FlaskClient, dict[str, str]],
) -> None:
    import unicodedata

    from tests.backend.conftest import metadata, tus

    client, auth = maria_alice
    emoji = "Ferien 🏖️ Straße 写真.jpg"
    upload_file(client, auth, b"a", emoji)
    decomposed = unicodedata.normalize("NFD", "Café.txt")
    upload_file(client, auth, b"b", decomposed)
    upload_file(client, auth, b"c", unicodedata.normalize("NFC", "Café.txt"))
    names = sorted(i["name"] for i in client.get("/api/v1/files", headers=auth).json["items"])
    assert names == sorted([emoji, "Café.txt", "Café (1).txt"])
    too_long = "é" * 128 + ".txt"  # 260 bytes in UTF-8
    for bad in (too_long, "a/b", "..", "tab\there"):
        response = client.post(
            "/api/v1/uploads/",
            headers=tus(auth, **{"Upload-Length": "1", "Upload-Metadata": metadata(filename=bad)}),
        )
        assert (response.status_code, response.json["code"]) == (400, "invalid_name"), bad


def test_two_folders_moved_into_each_other_at_once_make_no_loop(
    maria_app: Flask,
    maria_alice: tuple[FlaskClient, dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    move_into_each_other_at_once(maria_app, maria_alice[1], monkeypatch)
