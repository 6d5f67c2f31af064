"""The upload engine: a persistent queue of transfers worked off by parallel threads.

Headless and free of any UI toolkit. Listeners hear about every change from worker
threads (and from the thread calling a control method); they must return quickly.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from desktop_app.api import ApiClient
from desktop_app.engine_work import TransferWork
from desktop_app.folders import RemoteFolders, name_problem, plan_tree
from desktop_app.hashing import Fingerprint
from desktop_app.retry import RetryPolicy
from desktop_app.store import QueueStore, TransferRecord
from desktop_app.throttle import RateLimiter
from desktop_app.transfers import (
    ACTIVE,
    FINISHED,
    PENDING,
    Transfer,
    TransferInfo,
    TransferListener,
    TransferState,
)
from desktop_app.tus import DEFAULT_CHUNK_SIZE, TusClient

log = logging.getLogger(__name__)


class UploadEngine(TransferWork):
    """Uploads files and folder trees with ``workers`` parallel threads.

    Unfinished transfers of ``account`` (default: the server URL) are reloaded from
    ``store`` and resume where the server says once :meth:`start` is called.
    """

    def __init__(
        self,
        api: ApiClient,
        store: QueueStore,
        *,
        account: str | None = None,
        workers: int = 3,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        policy: RetryPolicy | None = None,
        progress_interval: float = 0.1,
        bandwidth_limit: float | None = None,
    ) -> None:
        self.api = api
        self.store = store
        self.account = account or api.base_url
        self.limiter = RateLimiter(bandwidth_limit)
        self.tus = TusClient(api, chunk_size=chunk_size, policy=policy, limiter=self.limiter)
        self.progress_interval = progress_interval
        self._cond = threading.Condition(threading.RLock())
        self._transfers: dict[int, Transfer] = {}
        self._queue: collections.deque[int] = collections.deque()
        self._cleanups: list[str] = []
        self._listeners: list[TransferListener] = []
        self._busy = 0
        self._stopping = False
        self._threads = [
            threading.Thread(target=self._work, name=f"trove-upload-{n}", daemon=True)
            for n in range(max(1, workers))
        ]
        self._load()

    # -- lifecycle -------------------------------------------------------------------------

    def _load(self) -> None:
        finished = []
        for record in self.store.load(self.account):
            if record.state in FINISHED:
                finished.append(record.id)
                continue
            if record.state in PENDING:
                record.state = TransferState.QUEUED
            transfer = Transfer(record)
            self._transfers[transfer.id] = transfer
            if transfer.state is TransferState.QUEUED:
                self._queue.append(transfer.id)
        self.store.delete(finished)

    def start(self) -> UploadEngine:
        for thread in self._threads:
            if not thread.is_alive():
                thread.start()
        return self

    def shutdown(self, timeout: float | None = 10.0) -> None:
        """Stop the workers; active transfers stay queued on disk and resume next time."""
        with self._cond:
            self._stopping = True
            for transfer in self._transfers.values():
                if transfer.state in ACTIVE:
                    transfer.intent = TransferState.QUEUED
                    transfer.abort.set()
            self._cond.notify_all()
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            if thread.is_alive():
                thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))

    def __enter__(self) -> UploadEngine:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()

    def add_listener(self, listener: TransferListener) -> None:
        with self._cond:
            self._listeners.append(listener)

    def remove_listener(self, listener: TransferListener) -> None:
        with self._cond:
            self._listeners.remove(listener)

    # -- adding work -------------------------------------------------------------------------

    def add_file(self, path: str | os.PathLike[str], parent: int | None = None) -> int:
        """Queue one file for upload into folder ``parent`` (``None``: the root).

        A file whose name the server cannot take becomes a failed transfer instead.
        """
        problem = name_problem(path)
        if problem:
            return self._add_failed(Path(path), problem)
        try:
            fingerprint = Fingerprint.of(path)
            size, mtime_ns = fingerprint.size, fingerprint.mtime_ns
        except OSError:
            size = mtime_ns = 0  # reported by the worker, with a reason
        record = TransferRecord(
            self.account, os.path.abspath(path), parent, size=size, mtime_ns=mtime_ns
        )
        return self._add(record)

    def add_paths(
        self, paths: Iterable[str | os.PathLike[str]], parent: int | None = None
    ) -> list[int]:
        """Queue files, and folders with everything below them, into ``parent``.

        Blocks while the remote folders are created (or found, when they exist already).
        Items that cannot be uploaded at all become failed transfers with a reason.
        """
        remote = RemoteFolders(self.api)
        ids: list[int] = []
        for path in map(Path, paths):
            if not path.is_dir():
                ids.append(self.add_file(path, parent))
                continue
            plan = plan_tree(path)
            folder_ids, failed = remote.ensure_plan(plan, parent)
            for file, folder in plan.files:
                if folder in failed:
                    ids.append(self._add_failed(file, failed[folder]))
                else:
                    ids.append(self.add_file(file, folder_ids[folder]))
            for problem, reason in plan.problems:
                ids.append(self._add_failed(problem, reason))
        return ids

    def _add_failed(self, path: Path, reason: str) -> int:
        record = TransferRecord(
            self.account,
            os.path.abspath(path),
            None,
            state=TransferState.FAILED,
            error=reason,
            retryable=False,
        )
        return self._add(record)

    def _add(self, record: TransferRecord) -> int:
        with self._cond:
            self.store.add(record)
            transfer = Transfer(record)
            self._transfers[transfer.id] = transfer
            if transfer.state is TransferState.QUEUED:
                self._queue.append(transfer.id)
                self._cond.notify()
            self._emit(transfer, force=True)
            return transfer.id

    # -- looking -------------------------------------------------------------------------

    def transfers(self) -> list[TransferInfo]:
        with self._cond:
            return [t.info() for t in self._transfers.values()]

    def get(self, transfer_id: int) -> TransferInfo:
        with self._cond:
            return self._transfers[transfer_id].info()

    def is_idle(self) -> bool:
        with self._cond:
            return self._idle()

    def _idle(self) -> bool:
        return (
            self._busy == 0
            and not self._cleanups
            and not any(t.state in PENDING for t in self._transfers.values())
        )

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until nothing is queued or running (paused and failed ones may remain)."""
        with self._cond:
            return self._cond.wait_for(self._idle, timeout)

    # -- control -------------------------------------------------------------------------

    def pause(self, transfer_id: int) -> None:
        with self._cond:
            transfer = self._transfers[transfer_id]
            if transfer.state is TransferState.QUEUED:
                self._set_state(transfer, TransferState.PAUSED)
            elif transfer.state in ACTIVE:
                transfer.intent = TransferState.PAUSED
                transfer.abort.set()

    def resume(self, transfer_id: int) -> None:
        with self._cond:
            transfer = self._transfers[transfer_id]
            if transfer.state is TransferState.PAUSED:
                self._requeue(transfer)
            elif transfer.intent is TransferState.PAUSED:
                transfer.intent = TransferState.QUEUED

    def pause_all(self) -> None:
        """Pause every transfer that is queued or running."""
        with self._cond:
            for transfer_id, transfer in list(self._transfers.items()):
                if transfer.state in PENDING:
                    self.pause(transfer_id)

    def resume_all(self) -> None:
        """Resume every paused transfer (and any that is still pausing)."""
        with self._cond:
            for transfer_id in list(self._transfers):
                self.resume(transfer_id)

    @property
    def bandwidth_limit(self) -> float | None:
        """Upload bytes per second across all transfers; None: as fast as possible."""
        return self.limiter.rate

    def set_bandwidth_limit(self, bytes_per_second: float | None) -> None:
        self.limiter.set_rate(bytes_per_second)

    def retry(self, transfer_id: int) -> None:
        with self._cond:
            transfer = self._transfers[transfer_id]
            if transfer.record.retryable and transfer.state in (
                TransferState.FAILED,
                TransferState.CANCELLED,
            ):
                self._requeue(transfer)

    def cancel(self, transfer_id: int) -> None:
        """Stop a transfer for good; the server drops what it already received."""
        with self._cond:
            transfer = self._transfers[transfer_id]
            if transfer.state in ACTIVE:
                transfer.intent = TransferState.CANCELLED
                transfer.abort.set()
            elif transfer.state not in FINISHED:
                if transfer.record.upload_url:
                    self._cleanups.append(transfer.record.upload_url)
                    self._cond.notify()
                self._update(transfer, upload_url=None, bytes_done=0)
                self._set_state(transfer, TransferState.CANCELLED)

    def clear_finished(self) -> None:
        """Forget transfers that are done or cancelled."""
        with self._cond:
            ids = [i for i, t in self._transfers.items() if t.state in FINISHED]
            for transfer_id in ids:
                del self._transfers[transfer_id]
            self.store.delete(ids)
            for listener in list(self._listeners):
                listener.transfers_removed(ids)
