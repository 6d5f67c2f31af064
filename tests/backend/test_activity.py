"""The store worker gives way to uploads in progress, for a bounded time."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from backend import migrate
from backend.activity import UploadActivity
from backend.app import create_app
from backend.config import Config
from backend.worker import Worker
from tests.support.net import free_port


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_idle_time_counts_from_the_end_of_the_last_upload_request() -> None:
    clock = Clock()
    activity = UploadActivity(clock)
    assert activity.idle_for() == float("inf")
    with activity.request(), activity.request():
        clock.now += 5
        assert activity.idle_for() == 0.0
    clock.now += 2
    assert activity.idle_for() == 2.0
    with pytest.raises(RuntimeError), activity.request():
        raise RuntimeError("a failed request ends too")
    assert activity.idle_for() == 0.0


def _worker(tmp_path: Path, defer: float) -> Worker:
    config = Config.for_data_dir(
        tmp_path / "data",
        compressor_url=f"http://127.0.0.1:{free_port()}",
        store_defer_seconds=defer,
    )
    config.data_dir.mkdir(parents=True)
    migrate.upgrade(config.database_url)
    return Worker(create_app(config))


def test_the_worker_waits_while_uploads_run(tmp_path: Path) -> None:
    worker = _worker(tmp_path, defer=60)
    request = worker.rt.uploads.request()
    request.__enter__()
    waiting = threading.Thread(target=worker._give_way_to_uploads)
    waiting.start()
    waiting.join(0.5)
    assert waiting.is_alive()  # an upload is running: the compressor waits
    request.__exit__(None, None, None)
    waiting.join(10)
    assert not waiting.is_alive()  # the uploads paused: the compressor's turn


def test_uploads_cannot_starve_the_compressor(tmp_path: Path) -> None:
    worker = _worker(tmp_path, defer=0.2)
    with worker.rt.uploads.request():
        waiting = threading.Thread(target=worker._give_way_to_uploads)
        waiting.start()
        waiting.join(10)
        assert not waiting.is_alive()
