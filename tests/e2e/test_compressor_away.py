"""A file is safe and downloadable while the compressor is away, and stored once it is back."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest

from desktop_app.api import ApiClient
from desktop_app.engine import UploadEngine
from desktop_app.store import QueueStore
from desktop_app.transfers import TransferState
from tests.support.corpus import CorpusFile
from tests.support.services import Stack

pytestmark = pytest.mark.e2e


def pick_photo(corpus_files: list[CorpusFile]) -> CorpusFile:
    return next(f for f in corpus_files if f.media_type == "image/jpeg" and "exif" in f.notes)


def upload(api: ApiClient, path: Path, tmp_path: Path) -> int:
    with UploadEngine(api, QueueStore(tmp_path / "queue.sqlite3")) as engine:
        (transfer_id,) = engine.add_paths([path])
        assert engine.wait_idle(120)
        info = engine.get(transfer_id)
    assert info.state is TransferState.DONE, info.error
    assert info.file_id is not None
    return info.file_id


def download(api: ApiClient, file_id: int, dest: Path) -> str:
    api.download(file_id, dest)
    return hashlib.sha256(dest.read_bytes()).hexdigest()


def wait_state(api: ApiClient, file_id: int, state: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while api.get_item(file_id).state != state:
        if time.monotonic() > deadline:
            pytest.fail(f"file {file_id} did not become {state!r} in {timeout:.0f}s")
        time.sleep(0.5)


def test_upload_survives_compressor_outage_and_backend_restart(
    stack: Stack, corpus_files: list[CorpusFile], tmp_path: Path
) -> None:
    photo = pick_photo(corpus_files)
    api = ApiClient(stack.base_url, stack.token)
    stack.compressor.stop()

    file_id = upload(api, photo.path, tmp_path)
    item = api.get_item(file_id)
    assert (item.state, item.sha256, item.size) == ("processing", photo.sha256, photo.size)
    assert download(api, file_id, tmp_path / "staged.jpg") == photo.sha256

    # The backend restarts while the compressor is still away; the work is not forgotten.
    stack.backend.kill()
    stack.backend.start()
    assert api.get_item(file_id).state == "processing"

    stack.compressor.start()
    wait_state(api, file_id, "stored")
    item = api.get_item(file_id)
    assert item.codec is not None and item.stored_size is not None
    assert download(api, file_id, tmp_path / "stored.jpg") == photo.sha256
