"""Thumbnails for the file views, fetched off the UI thread and kept in memory."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import PurePath

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap

from desktop_app.api import ApiClient, Item
from desktop_app.ui.tasks import TaskRunner

THUMBNAIL_SIZE = 256
# Names worth asking the server about; it answers "no thumbnail" for anything else anyway.
IMAGE_SUFFIXES = frozenset(
    [
        ".jpg",
        ".jpeg",
        ".jpe",
        ".jfif",
        ".png",
        ".gif",
        ".webp",
        ".bmp",
        ".tif",
        ".tiff",
        ".avif",
        ".heic",
        ".heif",
        ".ppm",
        ".pgm",
        ".pbm",
        ".pnm",
        ".tga",
        ".ico",
        ".jp2",
        ".j2k",
        ".psd",
        ".dds",
        ".pcx",
        ".sgi",
        ".qoi",
    ]
)


# Videos get a poster frame where the server has a decoder (else it says "no thumbnail").
VIDEO_SUFFIXES = frozenset(
    [".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".ogv", ".mpg", ".mpeg", ".3gp", ".wmv"]
)


def may_have_thumbnail(item: Item) -> bool:
    suffix = PurePath(item.name).suffix.lower()
    return (
        not item.is_folder
        and bool(item.sha256)
        and (suffix in IMAGE_SUFFIXES or suffix in VIDEO_SUFFIXES)
    )


class ThumbnailCache(QObject):
    """Asks for pictures when a view paints them, newest request first.

    Views ask for what they paint, so while someone scrolls, rows scrolled past fall out of
    a short queue instead of being fetched after they are gone; a row painted again is
    asked for again. At most ``max_bytes`` of pictures stay in memory (least recently
    painted go first; the server keeps them on disk, so asking again is cheap). Pictures
    are keyed by content hash, so copies and renamed files share one.
    """

    ready = Signal(str)  # sha256 whose icon is now available

    def __init__(
        self,
        api: ApiClient,
        size: int = THUMBNAIL_SIZE,
        parent=None,
        *,
        workers: int = 3,
        max_queued: int = 96,
        max_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        super().__init__(parent)
        self.api = api
        self.size = size
        self.workers = workers
        self.max_queued = max_queued
        self.max_bytes = max_bytes
        self.tasks = TaskRunner(self, max_threads=workers)
        self._icons: OrderedDict[str, tuple[QIcon, int]] = OrderedDict()  # oldest paint first
        self._bytes = 0
        self._queue: OrderedDict[str, int] = OrderedDict()  # sha256 -> file id, newest last
        self._in_flight: set[str] = set()
        self._missing: set[str] = set()
        self.fetched = 0  # pictures asked of the server so far

    def icon(self, item: Item) -> QIcon | None:
        """The picture when known; otherwise None, and it is fetched in the background."""
        if not may_have_thumbnail(item):
            return None
        assert item.sha256 is not None
        sha = item.sha256
        known = self._icons.get(sha)
        if known is not None:
            self._icons.move_to_end(sha)
            return known[0]
        if sha not in self._in_flight and sha not in self._missing:
            self._queue[sha] = item.id
            self._queue.move_to_end(sha)
            while len(self._queue) > self.max_queued:
                self._queue.popitem(last=False)  # scrolled past: asked again if painted again
            self._start_next()
        return None

    def has(self, sha256: str) -> bool:
        return sha256 in self._icons

    @property
    def queued(self) -> int:
        return len(self._queue)

    @property
    def held(self) -> int:
        return len(self._icons)

    @property
    def held_bytes(self) -> int:
        return self._bytes

    def _start_next(self) -> None:
        while len(self._in_flight) < self.workers and self._queue:
            sha, file_id = self._queue.popitem(last=True)
            self._in_flight.add(sha)
            self.fetched += 1
            self.tasks.run(
                lambda file_id=file_id: self._fetch(file_id),
                lambda image, sha=sha: self._loaded(sha, image),
                lambda _error, sha=sha: self._done(sha),  # asked again on the next paint
            )

    def _fetch(self, file_id: int) -> QImage | None:
        data = self.api.thumbnail(file_id, self.size)
        if data is None:
            return None
        image = QImage.fromData(data)  # decoding is thread-safe for QImage
        return None if image.isNull() else image

    def _loaded(self, sha256: str, image: QImage | None) -> None:
        if image is None:
            self._missing.add(sha256)
        else:
            cost = image.sizeInBytes()
            self._icons[sha256] = (QIcon(QPixmap.fromImage(image)), cost)
            self._bytes += cost
            while self._bytes > self.max_bytes and len(self._icons) > 1:
                _sha, (_icon, freed) = self._icons.popitem(last=False)
                self._bytes -= freed
        self._done(sha256)
        if image is not None:
            self.ready.emit(sha256)

    def _done(self, sha256: str) -> None:
        self._in_flight.discard(sha256)
        self._start_next()

    @property
    def busy(self) -> bool:
        return bool(self._queue or self._in_flight)

    def wait(self, msecs: int = -1) -> bool:
        return self.tasks.wait(msecs)
