"""Run the desktop app's upload engine headless in its own process (for tests that kill
the client): queue FILE unless the queue already holds transfers, work the queue off,
then print one JSON line per transfer, with the lowest offset any PATCH was sent from.

    python -m tests.support.upload_child BASE_URL TOKEN QUEUE_DB FILE [BYTES_PER_SECOND]
"""

from __future__ import annotations

import json
import sys
from typing import Any

from desktop_app.api import ApiClient
from desktop_app.engine import UploadEngine
from desktop_app.retry import RetryPolicy
from desktop_app.store import QueueStore
from desktop_app.tus import TusClient


class LowestOffset:
    """Records the offset of every PATCH the engine sends."""

    def __init__(self, tus: TusClient) -> None:
        self.lowest: int | None = None
        self._patch = tus.patch
        tus.patch = self._record  # type: ignore[method-assign]

    def _record(self, url: str, stream: Any, start: int, *args: Any, **kwargs: Any) -> Any:
        self.lowest = start if self.lowest is None else min(self.lowest, start)
        return self._patch(url, stream, start, *args, **kwargs)


def main(argv: list[str]) -> int:
    base_url, token, queue_db, path = argv[:4]
    limit = float(argv[4]) if len(argv) > 4 else None
    api = ApiClient(base_url, token, timeout=(5, 30))
    store = QueueStore(queue_db)
    engine = UploadEngine(
        api,
        store,
        chunk_size=1024 * 1024,
        policy=RetryPolicy(max_attempts=40, base=0.1, cap=2.0),
        progress_interval=0,
        bandwidth_limit=limit,
    )
    watcher = LowestOffset(engine.tus)
    if not engine.transfers():
        engine.add_file(path)
    engine.start()
    engine.wait_idle()
    for info in engine.transfers():
        print(
            json.dumps(
                {
                    "id": info.id,
                    "state": info.state.value,
                    "file_id": info.file_id,
                    "error": info.error,
                    "lowest_offset": watcher.lowest,
                }
            ),
            flush=True,
        )
    engine.shutdown()
    store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
