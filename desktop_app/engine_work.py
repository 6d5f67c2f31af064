"""The engine's worker threads: each takes the next queued transfer (or clean-up of a
cancelled upload), hashes the file when needed and sends it with the tus client,
reporting progress and the outcome back to the engine's bookkeeping."""

from __future__ import annotations

import collections
import logging
import os
import threading
import time

from desktop_app.api import ApiClient
from desktop_app.errors import TroveError, describe_os_error
from desktop_app.hashing import Fingerprint, digest_file
from desktop_app.store import QueueStore
from desktop_app.transfers import Transfer, TransferListener, TransferState
from desktop_app.tus import TusClient, UploadAborted

log = logging.getLogger(__name__)

RESTARTED_NOTE = (
    "The server no longer had the partial upload (it expired or was removed), so this "
    "file started again from the beginning."
)
DAMAGED_NOTE = (
    "The file arrived damaged at the server, so it was sent again from the beginning, "
    "checked chunk by chunk."
)


class TransferWork:
    """The engine's bookkeeping (each change saved to the queue store and told to the
    listeners) and what its worker threads do. :class:`UploadEngine` builds on it and
    sets up the state declared here."""

    SPEED_WINDOW = 5.0

    api: ApiClient
    tus: TusClient
    store: QueueStore
    progress_interval: float
    _listeners: list[TransferListener]
    _cond: threading.Condition
    _transfers: dict[int, Transfer]
    _queue: collections.deque[int]
    _cleanups: list[str]
    _busy: int
    _stopping: bool

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

    # -- worker threads ------------------------------------------------------------------

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
            on_restart=lambda exc: self._restarted(transfer, exc),
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

        sha256 = digest_file(
            record.path,
            progress=hashed,
            should_stop=transfer.abort.is_set,
        )
        if sha256 is None:
            raise UploadAborted
        if Fingerprint.of(record.path) != fingerprint:
            raise TroveError("local_file", "The file changed while it was being read. Retry.")
        self._locked_update(transfer, sha256=sha256)

    def _new_url(self, transfer: Transfer, url: str | None) -> None:
        with self._cond:
            transfer.samples.clear()
            self._update(transfer, upload_url=url, bytes_done=0)

    def _restarted(self, transfer: Transfer, reason: TroveError) -> None:
        note = DAMAGED_NOTE if reason.code == "sha256_mismatch" else RESTARTED_NOTE
        with self._cond:
            self._update(transfer, note=note)
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
