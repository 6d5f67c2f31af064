"""File downloads streamed to disk off the UI thread, with progress as signals."""

from __future__ import annotations

import itertools
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from desktop_app.api import ApiClient, Item
from desktop_app.ui.tasks import TaskRunner


class Downloads(QObject):
    """Runs downloads in the background; every signal arrives on the UI thread."""

    started = Signal(int, str)  # key, file name
    progress = Signal(int, int, int)  # key, bytes done, total
    finished = Signal(int, object)  # key, Path
    failed = Signal(int, object)  # key, Exception

    # Emitted from worker threads; connected with queued connections below.
    _progress = Signal(int, int, int)

    def __init__(self, api: ApiClient, parent=None) -> None:
        super().__init__(parent)
        self.api = api
        self.tasks = TaskRunner(self, max_threads=2)
        self._keys = itertools.count(1)
        self._active: set[int] = set()
        self._last: dict[int, int] = {}
        self._progress.connect(self._relay)

    def start(self, item: Item, dest: str | Path) -> int:
        """Download ``item`` to ``dest`` (verified against its hash); returns a key."""
        key = next(self._keys)
        self._active.add(key)
        self.started.emit(key, item.name)
        dest = Path(dest)

        def run() -> Path:
            dest.parent.mkdir(parents=True, exist_ok=True)
            return self.api.download(
                item.id,
                dest,
                expected_sha256=item.sha256,
                progress=lambda done, total: self._progress.emit(key, done, total),
            )

        self.tasks.run(run, lambda path: self._done(key, path), lambda exc: self._fail(key, exc))
        return key

    @property
    def active(self) -> int:
        return len(self._active)

    def _relay(self, key: int, done: int, total: int) -> None:
        # Forward about every percent, not every chunk.
        step = max(1, total // 100)
        if done == total or done - self._last.get(key, -step) >= step:
            self._last[key] = done
            self.progress.emit(key, done, total)

    def _done(self, key: int, path: Path) -> None:
        self._active.discard(key)
        self._last.pop(key, None)
        self.finished.emit(key, path)

    def _fail(self, key: int, error: Exception) -> None:
        self._active.discard(key)
        self._last.pop(key, None)
        self.failed.emit(key, error)

    def wait(self, msecs: int = -1) -> bool:
        return self.tasks.wait(msecs)
