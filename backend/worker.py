"""Background worker: threads that hand staged files to the compressor and delete blobs
nobody references (`store_threads` of them, so that the compressor's pool has a file for
each of its cores). Each content hash is worked on by one thread at a time, so a blob
DELETE can never overtake a PUT of the same content, and a delete re-checks that no file
references the blob before it goes."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import sqlalchemy as sa
from flask import Flask

from backend.backoff import Backoff
from backend.compressor_client import CompressorRejected, CompressorUnavailable
from backend.extensions import db
from backend.models import FILE, PROCESSING, STORED, BlobDeletion, Item, utcnow
from backend.runtime import EXTENSION_KEY, Runtime
from backend.services.files import queue_blob_deletions, remove_unreferenced_staging
from backend.services.uploads import sweep_expired

log = logging.getLogger(__name__)
SWEEP_INTERVAL_SECONDS = 60.0
# Uploads that paused this long are over (a client sends its next chunk at once).
UPLOADS_QUIET_SECONDS = 1.0


class Worker:
    def __init__(
        self,
        app: Flask,
        outage_backoff: Backoff | None = None,
        item_backoff: Backoff | None = None,
    ) -> None:
        self.app = app
        self.rt: Runtime = app.extensions[EXTENSION_KEY]
        self.outage_backoff = outage_backoff or Backoff(base=0.5, cap=60.0)
        self.item_backoff = item_backoff or Backoff(base=10.0, cap=3600.0)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._outages = 0
        self._next_sweep = 0.0
        # Content hashes and files a thread is working on, and when the next sweep is due.
        self._claims = threading.Lock()
        self._busy_shas: set[str] = set()
        self._busy_ids: set[int] = set()

    def start(self) -> None:
        self._stop.clear()
        self._threads = [
            threading.Thread(target=self._run, name=f"trove-worker-{n}", daemon=True)
            for n in range(self.rt.config.store_threads)
        ]
        for thread in self._threads:
            thread.start()
        log.info("worker started (%d threads)", len(self._threads))

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self.rt.work_ready.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if self._threads:
            log.info("worker stopped")
        self._threads = []

    def _run(self) -> None:
        while not self._stop.is_set():
            self.rt.work_ready.clear()
            try:
                with self.app.app_context():
                    busy = self.run_once()
            except CompressorUnavailable as exc:
                delay = self.outage_backoff.delay(self._outages, exc.retry_after)
                self._outages += 1
                log.warning("%s; retrying in %.1f s", exc, delay)
                self._stop.wait(delay)
                continue
            except sa.exc.OperationalError as exc:
                # The database is away (restarting, network): expected, and said in one line.
                log.warning(
                    "database unavailable (%s); retrying in %.1f s",
                    exc.orig,
                    self.rt.config.worker_poll_seconds,
                )
                self._stop.wait(self.rt.config.worker_poll_seconds)
                continue
            except Exception:
                log.exception("worker step failed")
                self._stop.wait(self.rt.config.worker_poll_seconds)
                continue
            self._outages = 0
            if not busy:
                self.rt.work_ready.wait(self.rt.config.worker_poll_seconds)

    def run_once(self) -> bool:
        """Do one unit of work; False when there was nothing to do (for this thread: what
        other threads work on is left to them).
        Raises CompressorUnavailable when the compressor should be retried later."""
        if self._sweep_due() and (removed := sweep_expired(self.rt)):
            log.info("removed %d expired uploads", removed)
        try:
            with self._claims:
                busy_shas, busy_ids = list(self._busy_shas), list(self._busy_ids)
            job = db.session.scalar(
                sa.select(BlobDeletion)
                .where(BlobDeletion.sha256.not_in(busy_shas))
                .order_by(BlobDeletion.id)
                .limit(1)
            )
            if job is not None:
                with self._claimed(job.sha256) as mine:
                    if mine:
                        self._delete_blob(job.sha256)
                return True
            item = db.session.scalar(
                sa.select(Item)
                .where(
                    Item.kind == FILE,
                    Item.state == PROCESSING,
                    sa.or_(Item.retry_at.is_(None), Item.retry_at <= utcnow()),
                    Item.id.not_in(busy_ids),
                    sa.or_(Item.sha256.is_(None), Item.sha256.not_in(busy_shas)),
                )
                .order_by(Item.id)
                .limit(1)
            )
            if item is not None:
                with self._claimed(item.sha256, item.id) as mine:
                    if mine:
                        self._store(item)
                return True
            return False
        finally:
            db.session.rollback()

    def _sweep_due(self) -> bool:
        with self._claims:
            if time.monotonic() < self._next_sweep:
                return False
            self._next_sweep = time.monotonic() + SWEEP_INTERVAL_SECONDS
            return True

    @contextlib.contextmanager
    def _claimed(self, sha256: str | None, item_id: int | None = None) -> Iterator[bool]:
        """Work on this content (and file) alone while the block runs; yields False when
        another thread took it first."""
        with self._claims:
            if (sha256 is not None and sha256 in self._busy_shas) or item_id in self._busy_ids:
                mine = False
            else:
                mine = True
                if sha256 is not None:
                    self._busy_shas.add(sha256)
                if item_id is not None:
                    self._busy_ids.add(item_id)
        try:
            yield mine
        finally:
            if mine:
                with self._claims:
                    self._busy_shas.discard(sha256 or "")
                    self._busy_ids.discard(item_id or 0)
                self.rt.work_ready.set()  # what this thread held may be another's turn now

    def _delete_blob(self, sha256: str) -> None:
        referenced = db.session.scalar(sa.select(Item.id).where(Item.sha256 == sha256).limit(1))
        if referenced is None:
            try:
                self.rt.compressor.delete_blob(sha256)
                log.info("deleted blob %s", sha256)
            except CompressorRejected as exc:
                log.error("compressor refused to delete blob %s: %s", sha256, exc)
        db.session.execute(sa.delete(BlobDeletion).where(BlobDeletion.sha256 == sha256))
        db.session.commit()

    def _store(self, item: Item) -> None:
        item_id, sha256, size, key = item.id, item.sha256, item.size, item.staging_key
        if sha256 is None or key is None:
            self._postpone(item, "it has no staged content recorded")
            return
        twin = db.session.scalar(
            sa.select(Item).where(Item.sha256 == sha256, Item.state == STORED).limit(1)
        )
        if twin is not None:  # the compressor holds this content already (deduplicated)
            self._mark_stored(item_id, key, sha256, size, twin.stored_size or 0, twin.codec)
            return
        self._give_way_to_uploads()
        try:
            with self.rt.staging.open_read(key) as body:
                blob = self.rt.compressor.put_blob(sha256, body, size)
        except FileNotFoundError:
            self._postpone(item, "its staged file is missing")
            return
        except CompressorRejected as exc:
            self._postpone(item, f"the compressor refused it ({exc})")
            return
        if (blob.sha256, blob.size) != (sha256, size):
            self._postpone(item, f"the compressor reported {blob.sha256}/{blob.size}")
            return
        self._mark_stored(item_id, key, sha256, size, blob.stored_size, blob.codec)

    def _give_way_to_uploads(self) -> None:
        """Compressing (Lepton above all) takes whole cores, which uploads in progress
        need to receive, hash and sync their bytes: wait until uploads pause, but no
        longer than `store_defer_seconds`, so that a stream of uploads cannot starve
        the compressor. The file is downloadable from staging all the while."""
        deadline = time.monotonic() + self.rt.config.store_defer_seconds
        while not self._stop.is_set():
            left = UPLOADS_QUIET_SECONDS - self.rt.uploads.idle_for()
            now = time.monotonic()
            if left <= 0 or now >= deadline:
                return
            self._stop.wait(min(left, deadline - now))

    def _mark_stored(
        self,
        item_id: int,
        key: str,
        sha256: str,
        size: int,
        stored_size: int,
        codec: str | None,
    ) -> None:
        """Every file still staged under `key` with this content (deduplicated copies
        share it) is stored now; the staged file goes once no processing file needs it.
        Files are matched by their staged content, never by id alone: the file this work
        began for may have been deleted meanwhile."""
        db.session.rollback()  # see the files as they are now, not as the work began
        updated = db.session.execute(
            sa.update(Item)
            .where(Item.state == PROCESSING, Item.staging_key == key, Item.sha256 == sha256)
            .values(
                state=STORED,
                stored_size=stored_size,
                codec=codec,
                staging_key=None,
                attempts=0,
                retry_at=None,
            )
        )
        if updated.rowcount == 0:  # type: ignore[attr-defined]
            # Deleted while it was being sent: the blob may now be unreferenced.
            queue_blob_deletions([sha256])
            db.session.commit()
            log.info("file %d was deleted while it was being stored", item_id)
            return
        db.session.commit()
        remove_unreferenced_staging(self.rt.staging, [key])
        log.info(
            "stored file %d (%s): %d -> %d bytes with %s",
            item_id,
            sha256,
            size,
            stored_size,
            codec,
        )

    def _postpone(self, item: Item, reason: str) -> None:
        """Try the file again later, unless it was deleted meanwhile (then its staged
        file going missing, or the compressor's answer, no longer matter)."""
        item_id, key, attempts = item.id, item.staging_key, item.attempts
        delay = self.item_backoff.delay(attempts)
        db.session.rollback()
        postponed = db.session.execute(
            sa.update(Item)
            .where(
                Item.id == item_id,
                Item.state == PROCESSING,
                Item.staging_key.is_(None) if key is None else Item.staging_key == key,
            )
            .values(attempts=attempts + 1, retry_at=utcnow() + timedelta(seconds=delay))
        )
        db.session.commit()
        if postponed.rowcount == 0:  # type: ignore[attr-defined]
            log.info("file %d was deleted before it could be stored", item_id)
            return
        log.error("cannot store file %d because %s; retrying in %.0f s", item_id, reason, delay)
