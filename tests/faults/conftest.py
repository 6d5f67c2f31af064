"""Helpers for fault tests: large random files written on the fly, engines, waiting."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from desktop_app.api import ApiClient
from desktop_app.engine import UploadEngine
from desktop_app.retry import RetryPolicy
from desktop_app.store import QueueStore
from tests.support.services import Stack

# Patient enough to outlast a backend restart or a dead writer's lock (30 s).
PATIENT = RetryPolicy(max_attempts=40, base=0.1, cap=2.0)
MIB = 1024 * 1024


def write_random_file(path: Path, size: int, block: int = MIB) -> str:
    """Random (incompressible) bytes written block by block; returns their SHA-256."""
    digest = hashlib.sha256()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        left = size
        while left:
            data = os.urandom(min(block, left))
            out.write(data)
            digest.update(data)
            left -= len(data)
    return digest.hexdigest()


def staged_files(stack: Stack) -> list[Path]:
    return sorted((stack.data_dir / "staging").iterdir())


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@pytest.fixture
def engines(tmp_path: Path) -> Iterator[Callable[..., UploadEngine]]:
    """Builds engines for a base URL (the backend or a proxy in front of it)."""
    made: list[tuple[UploadEngine, QueueStore, ApiClient]] = []

    def make(base_url: str, token: str, **kwargs: object) -> UploadEngine:
        api = ApiClient(base_url, token, timeout=(5, 30))
        store = QueueStore(tmp_path / f"queue-{len(made)}.sqlite3")
        kwargs.setdefault("policy", PATIENT)
        kwargs.setdefault("progress_interval", 0)
        engine = UploadEngine(api, store, **kwargs)  # type: ignore[arg-type]
        made.append((engine, store, api))
        return engine

    yield make
    for engine, store, api in made:
        engine.shutdown()
        store.close()
        api.close()
