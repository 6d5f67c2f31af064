"""When uploads last moved bytes, so that background work can give way to them."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator


class UploadActivity:
    """Counts upload requests in progress and remembers when the last one ended."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._running = 0
        self._last = float("-inf")

    @contextlib.contextmanager
    def request(self) -> Iterator[None]:
        with self._lock:
            self._running += 1
        try:
            yield
        finally:
            with self._lock:
                self._running -= 1
                self._last = self._clock()

    def idle_for(self) -> float:
        """Seconds since the last upload request ended; 0 while one is running."""
        with self._lock:
            if self._running:
                return 0.0
            return max(0.0, self._clock() - self._last)
