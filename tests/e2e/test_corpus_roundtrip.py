"""Every corpus file, uploaded with the desktop app's own engine, comes back byte-exact.

Runs the real compressor binary and the real backend under waitress as processes, once on
the embedded SQLite databases and once on a real MariaDB server.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests

from desktop_app.api import ApiClient, Item
from desktop_app.engine import UploadEngine
from desktop_app.store import QueueStore
from desktop_app.transfers import TransferState
from tests.support.corpus import CorpusFile
from tests.support.downloads import download_sha256
from tests.support.services import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(2400)]

UPLOAD_TIMEOUT = 900.0
STORE_TIMEOUT = 900.0


def remote_tree(api: ApiClient, folder: int | None, prefix: str = "") -> dict[str, Item]:
    """Every file below ``folder`` by its path relative to it."""
    found: dict[str, Item] = {}
    for item in api.iter_folder(folder):
        path = f"{prefix}{item.name}"
        if item.is_folder:
            found |= remote_tree(api, item.id, f"{path}/")
        else:
            found[path] = item
    return found


def wait_all_stored(api: ApiClient, folder: int) -> dict[str, Item]:
    deadline = time.monotonic() + STORE_TIMEOUT
    while True:
        tree = remote_tree(api, folder)
        waiting = [p for p, item in tree.items() if item.state != "stored"]
        if not waiting:
            return tree
        if time.monotonic() > deadline:
            pytest.fail(f"{len(waiting)} files never reached 'stored', e.g. {waiting[:3]}")
        time.sleep(1.0)


def upload_corpus_and_verify(
    stack: Stack, corpus_root: Path, corpus_files: list[CorpusFile], tmp_path: Path
) -> None:
    api = ApiClient(stack.base_url, stack.token)
    engine = UploadEngine(api, QueueStore(tmp_path / "queue.sqlite3"), workers=3)
    with engine:
        ids = engine.add_paths([corpus_root / "A"])
        assert engine.wait_idle(UPLOAD_TIMEOUT), "uploads did not finish in time"
        transfers = [engine.get(i) for i in ids]
    failed = [(t.path, t.error) for t in transfers if t.state is not TransferState.DONE]
    assert not failed, f"transfers that did not finish: {failed[:5]}"
    assert len(transfers) == len(corpus_files)

    root_folder = next(i for i in api.list_folder(None) if i.name == "A" and i.is_folder)
    tree = wait_all_stored(api, root_folder.id)
    expected = {f.relpath.removeprefix("A/"): f for f in corpus_files}
    assert sorted(tree) == sorted(expected)

    for path, item in tree.items():
        want = expected[path]
        assert item.size == want.size, path
        assert item.sha256 == want.sha256, path
        assert download_sha256(stack, item.id) == (want.sha256, want.size), path

    usage = api.usage()
    assert usage.files == len(corpus_files)
    assert usage.original_bytes == sum(f.size for f in corpus_files)
    assert 0 < usage.stored_bytes <= usage.original_bytes

    stats = requests.get(
        f"{stack.compressor_url}/v1/stats", headers=stack.compressor.auth(), timeout=10
    ).json()
    distinct = {f.sha256: f.size for f in corpus_files}
    assert stats["blobs"] == len(distinct), "identical content must be stored once"
    assert stats["original_bytes"] == sum(distinct.values())


def test_corpus_round_trip_on_sqlite(
    stack: Stack, corpus_root: Path, corpus_files: list[CorpusFile], tmp_path: Path
) -> None:
    upload_corpus_and_verify(stack, corpus_root, corpus_files, tmp_path)


@pytest.mark.mariadb
def test_corpus_round_trip_on_mariadb(
    mysql_stack: Stack, corpus_root: Path, corpus_files: list[CorpusFile], tmp_path: Path
) -> None:
    upload_corpus_and_verify(mysql_stack, corpus_root, corpus_files, tmp_path)
