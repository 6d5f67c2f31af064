"""Helpers for the desktop client's tests against the real backend (`stack`)."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# Tests (and the apps they start) keep sessions in their own settings files, never in the
# keyring of the person running them; keyring-specific tests bring their own.
os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"

from desktop_app.api import ApiClient, Item
from desktop_app.engine import UploadEngine
from desktop_app.retry import RetryPolicy
from desktop_app.store import QueueStore
from desktop_app.transfers import TransferInfo

FAST_RETRIES = RetryPolicy(max_attempts=30, base=0.05, cap=0.5)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_random(path: Path, size: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(size))
    return path


def remote_tree(api: ApiClient, parent: int | None = None, prefix: str = "") -> dict[str, Item]:
    """Every item below ``parent`` by its slash-separated path."""
    items: dict[str, Item] = {}
    for item in api.list_folder(parent):
        path = f"{prefix}{item.name}"
        items[path] = item
        if item.is_folder:
            items.update(remote_tree(api, item.id, path + "/"))
    return items


class Recorder:
    """A transfer listener that keeps every event and lets tests wait for conditions."""

    def __init__(self) -> None:
        self.events: list[TransferInfo] = []
        self.removed: list[int] = []
        self._cond = threading.Condition()
        self.hooks: list[Callable[[TransferInfo], None]] = []

    def transfer_changed(self, info: TransferInfo) -> None:
        for hook in self.hooks:
            hook(info)
        with self._cond:
            self.events.append(info)
            self._cond.notify_all()

    def transfers_removed(self, transfer_ids: list[int]) -> None:
        with self._cond:
            self.removed.extend(transfer_ids)
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[TransferInfo], bool], timeout: float = 30) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: any(map(predicate, self.events)), timeout)


@pytest.fixture
def api(stack) -> Iterator[ApiClient]:
    client = ApiClient(stack.base_url, stack.token, timeout=(5, 30))
    yield client
    client.close()


@pytest.fixture
def make_engine(api, tmp_path) -> Iterator[Callable[..., UploadEngine]]:
    """Builds started engines on one queue file; every one is shut down afterwards."""
    engines: list[UploadEngine] = []
    stores: list[QueueStore] = []

    def make(**kwargs) -> UploadEngine:
        store = QueueStore(tmp_path / "client-data" / "queue.sqlite3")
        stores.append(store)
        kwargs.setdefault("policy", FAST_RETRIES)
        kwargs.setdefault("progress_interval", 0)
        engine = UploadEngine(kwargs.pop("api", api), store, **kwargs)
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.shutdown()
    for store in stores:
        store.close()


@pytest.fixture
def window(qtbot, stack, tmp_path):
    """The main window on the real backend, with its own engine and upload queue."""
    from desktop_app.settings import Session
    from desktop_app.ui.main_window import MainWindow

    api = ApiClient(stack.base_url, stack.token)
    store = QueueStore(tmp_path / "client-data" / "queue.sqlite3")
    engine = UploadEngine(
        api, store, chunk_size=64 * 1024, policy=FAST_RETRIES, progress_interval=0
    ).start()
    session = Session(api.base_url, stack.username, stack.token)
    main = MainWindow(api, engine, session)
    qtbot.addWidget(main)
    main.show()
    qtbot.waitUntil(lambda: main.usage_label.text() != "", timeout=60_000)
    yield main
    main.close()
    engine.shutdown()
    store.close()
