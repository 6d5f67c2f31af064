"""Fixtures for backend tests: an app on a temporary SQLite data directory."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from backend import migrate
from backend.app import create_app
from backend.auth.passwords import hash_password
from backend.config import Config
from backend.extensions import db
from backend.models import User
from tests.support.net import free_port

PASSWORD = "correct horse battery staple"
PASSWORD_HASH = hash_password(PASSWORD)  # scrypt is slow by design: hash once


@pytest.fixture
def config(tmp_path: Path) -> Config:
    # Nothing listens on the compressor port unless a test starts the real compressor.
    return Config.for_data_dir(
        tmp_path / "data",
        compressor_url=f"http://127.0.0.1:{free_port()}",
        max_upload_bytes=10 * 1024 * 1024,
    )


@pytest.fixture
def app(config: Config) -> Iterator[Flask]:
    config.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(config.database_url)
    application = create_app(config)
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def make_user(app: Flask, client: FlaskClient) -> Callable[[str], dict[str, str]]:
    """Create a user and return the Authorization header of a fresh session."""

    def make(username: str) -> dict[str, str]:
        with app.app_context():
            db.session.add(User(username=username, password_hash=PASSWORD_HASH))
            db.session.commit()
        response = client.post(
            "/api/v1/auth/login", json={"username": username, "password": PASSWORD}
        )
        assert response.status_code == 200, response.json
        return {"Authorization": f"Bearer {response.json['token']}"}

    return make


@pytest.fixture
def alice(make_user: Callable[[str], dict[str, str]]) -> dict[str, str]:
    return make_user("alice")


def metadata(**values: Any) -> str:
    """An Upload-Metadata header from keyword values."""
    return ",".join(
        f"{key} {base64.b64encode(str(value).encode()).decode()}" for key, value in values.items()
    )


def tus(auth: dict[str, str], **headers: str) -> dict[str, str]:
    return {**auth, "Tus-Resumable": "1.0.0", **headers}


def upload_file(
    client: FlaskClient,
    auth: dict[str, str],
    data: bytes,
    filename: str = "file.bin",
    **meta: Any,
) -> int:
    """Upload `data` in one creation-with-upload request; return the new file's id."""
    response = client.post(
        "/api/v1/uploads/",
        data=data,
        headers=tus(
            auth,
            **{
                "Upload-Length": str(len(data)),
                "Upload-Metadata": metadata(filename=filename, **meta),
                "Content-Type": "application/offset+octet-stream",
            },
        ),
    )
    assert response.status_code == 201, response.json
    return int(response.headers["Trove-File-Id"])
