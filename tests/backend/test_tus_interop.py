"""An unmodified third-party tus client (tuspy, from PyPI) against the real backend."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import requests
from tusclient import client as tus_client

from tests.support.services import Stack


def _download(stack: Stack, file_id: int) -> bytes:
    response = requests.get(
        f"{stack.base_url}/api/v1/files/{file_id}/content", headers=stack.auth(), timeout=60
    )
    response.raise_for_status()
    return response.content


def _file_id(stack: Stack, upload_url: str) -> int:
    head = requests.head(upload_url, headers={**stack.auth(), "Tus-Resumable": "1.0.0"}, timeout=30)
    assert head.status_code == 200
    return int(head.headers["Trove-File-Id"])


def test_tuspy_uploads_in_chunks_with_checksums_and_resumes(stack: Stack, tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 12345)
    path = tmp_path / "Füße 🦶.bin"
    path.write_bytes(data)
    client = tus_client.TusClient(f"{stack.base_url}/api/v1/uploads/", headers=stack.auth())

    first = client.uploader(
        str(path),
        chunk_size=1024 * 1024,
        metadata={"filename": path.name, "sha256": hashlib.sha256(data).hexdigest()},
        upload_checksum=True,
    )
    first.upload(stop_at=2 * 1024 * 1024)  # stop part-way, as a closed laptop would
    assert first.url is not None
    resumed = client.uploader(
        str(path), url=first.url, chunk_size=1024 * 1024, upload_checksum=True
    )
    assert resumed.offset == 2 * 1024 * 1024  # asked the server with HEAD
    resumed.upload()

    file_id = _file_id(stack, first.url)
    assert _download(stack, file_id) == data
    item = requests.get(
        f"{stack.base_url}/api/v1/files/{file_id}", headers=stack.auth(), timeout=30
    ).json()
    assert (item["name"], item["size"]) == (path.name, len(data))


def test_tuspy_default_single_request_upload(stack: Stack, tmp_path: Path) -> None:
    data = os.urandom(700_000)
    path = tmp_path / "one-go.bin"
    path.write_bytes(data)
    client = tus_client.TusClient(f"{stack.base_url}/api/v1/uploads/", headers=stack.auth())
    uploader = client.uploader(str(path), metadata={"filename": "one-go.bin"})
    uploader.upload()
    assert _download(stack, _file_id(stack, uploader.url)) == data
