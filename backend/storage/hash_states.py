"""Running SHA-256 states of uploads in progress, so that the PATCH that completes an
upload only hashes its own bytes instead of re-reading the whole staged file."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

DEFAULT_LIMIT = 4096  # a state is a few hundred bytes; idle uploads fall out first


class HashStates:
    """uid -> (committed offset, hash state). A state is only ever handed out for the
    exact offset it covers; anything else (a restarted process, another process behind
    the same load balancer, an evicted entry) makes the caller re-hash the staged prefix."""

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self._limit = limit
        self._lock = threading.Lock()
        self._states: OrderedDict[str, tuple[int, Any]] = OrderedDict()

    def get(self, uid: str, offset: int) -> Any | None:
        """A copy of the state covering exactly `offset` bytes, or None."""
        with self._lock:
            entry = self._states.get(uid)
            if entry is None or entry[0] != offset:
                return None
            self._states.move_to_end(uid)
            return entry[1].copy()

    def put(self, uid: str, offset: int, state: Any) -> None:
        with self._lock:
            self._states[uid] = (offset, state)
            self._states.move_to_end(uid)
            while len(self._states) > self._limit:
                self._states.popitem(last=False)

    def drop(self, uid: str) -> None:
        with self._lock:
            self._states.pop(uid, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._states)
