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
from desktop_app.errors import TroveError, describe_os_error
from desktop_app.folders import RemoteFolders, plan_tree
from desktop_app.hashing import Fingerprint, digest_file
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
from desktop_app.tus import DEFAULT_CHUNK_SIZE, TusClient, UploadAborted

log = logging.getLogger(__name__)

RESTARTED_NOTE = (
    "The server no longer had the partial upload (it expired or was removed), so this "
    "file started again from the beginning."
)


class UploadEngine:
    """Uploads files and folder trees with ``workers`` parallel threads.

    Unfinished transfers of ``account`` (default: the server URL) are reloaded from
    ``store`` and resume where the server says once :meth:`start` is called.
    """

    SPEED_WINDOW = 5.0

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
        """Queue one file for upload into folder ``parent`` (``None``: the root)."""
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

    # -- internals (call with the lock held) -------------------------------------------------

    def _requeue(self, transfer: Transfer) -> None:
        transfer.intent = None
        self._update(transfer, error=None)
        self._set_state(transfer, TransferState.QUEUED)
        self._queue.append(transfer.id)
        self._cond.notify()

    def _update(self, transfer: Transfer, **changes: object) -> None:
        for key, value in changes.items():
            setattr(transfer.record, key, value)
        self.store.update(transfer.id, **changes)

    def _set_state(self, transfer: Transfer, state: TransferState, error: str | None = None):
        transfer.state = state
        if state is not TransferState.UPLOADING:
            transfer.samples.clear()
        self._update(transfer, state=state.value, error=error)
        self._emit(transfer, force=True)
        self._cond.notify_all()

    def _emit(self, transfer: Transfer, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - transfer.last_emit < self.progress_interval:
            return
        transfer.last_emit = now
        info = transfer.info()
        for listener in list(self._listeners):
            try:
                listener.transfer_changed(info)
            except Exception:
                log.exception("A transfer listener failed")

    # -- workers ---------------------------------------------------------------------------

    def _work(self) -> None:
        try:
            self._work_loop()
        finally:
            self.api.close()  # this thread's connections

    def _work_loop(self) -> None:
        while True:
            with self._cond:
                while not self._stopping and not self._queue and not self._cleanups:
                    self._cond.wait()
                if self._stopping:
                    return
                cleanup = self._cleanups.pop() if self._cleanups else None
                transfer = None
                if cleanup is None:
                    transfer = self._transfers.get(self._queue.popleft())
                    if transfer is None or transfer.state is not TransferState.QUEUED:
                        continue
                    transfer.abort = threading.Event()
                    transfer.intent = None
                    transfer.hashed = 0
                    known = transfer.record.sha256 is not None
                    self._set_state(
                        transfer, TransferState.UPLOADING if known else TransferState.HASHING
                    )
                self._busy += 1
            try:
                if cleanup is not None:
                    self._terminate_quietly(cleanup)
                else:
                    assert transfer is not None
                    self._process(transfer)
            finally:
                with self._cond:
                    self._busy -= 1
                    self._cond.notify_all()

    def _terminate_quietly(self, url: str) -> None:
        try:
            self.tus.terminate(url)
        except TroveError as exc:
            log.info("Could not drop upload %s: %s", url, exc)

    def _process(self, transfer: Transfer) -> None:
        try:
            self._upload(transfer)
        except UploadAborted:
            self._aborted(transfer)
        except TroveError as exc:
            reason = exc.detail
            if exc.status == 401:
                reason = "Your session has ended. Sign in again, then retry."
            self._finish(transfer, TransferState.FAILED, reason)
        except OSError as exc:
            self._finish(transfer, TransferState.FAILED, describe_os_error(exc))
        except Exception as exc:
            log.exception("Upload of %s failed", transfer.record.path)
            self._finish(transfer, TransferState.FAILED, f"Unexpected error: {exc}")

    def _finish(self, transfer: Transfer, state: TransferState, error: str | None = None):
        with self._cond:
            self._set_state(transfer, state, error)

    def _aborted(self, transfer: Transfer) -> None:
        url = None
        with self._cond:
            intent = transfer.intent or TransferState.PAUSED
            if intent is TransferState.CANCELLED:
                url = transfer.record.upload_url
                self._update(transfer, upload_url=None, bytes_done=0)
            self._set_state(transfer, intent)
            if intent is TransferState.QUEUED and not self._stopping:
                self._queue.append(transfer.id)
                self._cond.notify()
        if intent is TransferState.CANCELLED and url:
            self._terminate_quietly(url)

    def _upload(self, transfer: Transfer) -> None:
        record = transfer.record
        fingerprint = Fingerprint.of(record.path)
        if record.sha256 is None or (fingerprint.size, fingerprint.mtime_ns) != (
            record.size,
            record.mtime_ns,
        ):
            self._hash(transfer, fingerprint)
        with self._cond:
            if transfer.state is not TransferState.UPLOADING:
                self._set_state(transfer, TransferState.UPLOADING)
        result = self.tus.upload(
            record.path,
            length=record.size,
            metadata={
                "filename": os.path.basename(record.path),
                "parent": None if record.parent_id is None else str(record.parent_id),
                "mtime": fingerprint.mtime_rfc3339,
                "sha256": record.sha256,
            },
            url=record.upload_url,
            abort=transfer.abort,
            on_url=lambda url: self._new_url(transfer, url),
            on_progress=lambda offset: self._progress(transfer, offset, confirmed=True),
            on_sending=lambda offset: self._progress(transfer, offset, confirmed=False),
            on_restart=lambda _exc: self._restarted(transfer),
            digests=transfer.digests,
        )
        with self._cond:
            self._update(transfer, file_id=result.file_id, upload_url=None, bytes_done=record.size)
            self._set_state(transfer, TransferState.DONE)

    def _hash(self, transfer: Transfer, fingerprint: Fingerprint) -> None:
        record = transfer.record
        if record.upload_url:  # the file changed since that upload began
            self._terminate_quietly(record.upload_url)
        with self._cond:
            if transfer.state is not TransferState.HASHING:
                self._set_state(transfer, TransferState.HASHING)
        self._locked_update(
            transfer,
            size=fingerprint.size,
            mtime_ns=fingerprint.mtime_ns,
            sha256=None,
            upload_url=None,
            bytes_done=0,
        )

        def hashed(done: int) -> None:
            with self._cond:
                transfer.hashed = done
                self._emit(transfer)

        transfer.digests = None
        digests = digest_file(
            record.path,
            chunk_size=self.tus.chunk_size,
            progress=hashed,
            should_stop=transfer.abort.is_set,
        )
        if digests is None:
            raise UploadAborted
        if Fingerprint.of(record.path) != fingerprint:
            raise TroveError("local_file", "The file changed while it was being read. Retry.")
        transfer.digests = digests
        self._locked_update(transfer, sha256=digests.sha256)

    def _new_url(self, transfer: Transfer, url: str | None) -> None:
        with self._cond:
            transfer.samples.clear()
            self._update(transfer, upload_url=url, bytes_done=0)

    def _restarted(self, transfer: Transfer) -> None:
        with self._cond:
            self._update(transfer, note=RESTARTED_NOTE)
            self._emit(transfer, force=True)

    def _locked_update(self, transfer: Transfer, **changes: object) -> None:
        with self._cond:
            self._update(transfer, **changes)

    def _progress(self, transfer: Transfer, offset: int, *, confirmed: bool) -> None:
        with self._cond:
            now = time.monotonic()
            samples = transfer.samples
            samples.append((now, offset))
            while len(samples) > 2 and now - samples[0][0] > self.SPEED_WINDOW:
                samples.popleft()
            if confirmed:
                self._update(transfer, bytes_done=offset)
            else:
                transfer.record.bytes_done = offset
            self._emit(transfer)
