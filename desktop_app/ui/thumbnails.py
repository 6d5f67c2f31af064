"""Thumbnails for the file views, fetched off the UI thread and kept in memory."""

from __future__ import annotations

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


def may_have_thumbnail(item: Item) -> bool:
    return (
        not item.is_folder
        and bool(item.sha256)
        and PurePath(item.name).suffix.lower() in IMAGE_SUFFIXES
    )


class ThumbnailCache(QObject):
    """Asks for each picture once, when a view first wants to paint it.

    Pictures are keyed by content hash, so copies and renamed files share one.
    """

    ready = Signal(str)  # sha256 whose icon is now available

    def __init__(self, api: ApiClient, size: int = THUMBNAIL_SIZE, parent=None) -> None:
        super().__init__(parent)
        self.api = api
        self.size = size
        self.tasks = TaskRunner(self, max_threads=3)
        self._icons: dict[str, QIcon] = {}
        self._pending: set[str] = set()
        self._missing: set[str] = set()

    def icon(self, item: Item) -> QIcon | None:
        """The picture when known; otherwise None, and it is fetched in the background."""
        if not may_have_thumbnail(item):
            return None
        assert item.sha256 is not None
        sha = item.sha256
        icon = self._icons.get(sha)
        if icon is None and sha not in self._pending and sha not in self._missing:
            self._pending.add(sha)
            self.tasks.run(
                lambda: self._fetch(item.id),
                lambda image: self._loaded(sha, image),
                lambda _error: self._pending.discard(sha),  # asked again on the next paint
            )
        return icon

    def has(self, sha256: str) -> bool:
        return sha256 in self._icons

    def _fetch(self, file_id: int) -> QImage | None:
        data = self.api.thumbnail(file_id, self.size)
        if data is None:
            return None
        image = QImage.fromData(data)  # decoding is thread-safe for QImage
        return None if image.isNull() else image

    def _loaded(self, sha256: str, image: QImage | None) -> None:
        self._pending.discard(sha256)
        if image is None:
            self._missing.add(sha256)
            return
        self._icons[sha256] = QIcon(QPixmap.fromImage(image))
        self.ready.emit(sha256)

    @property
    def busy(self) -> bool:
        return bool(self._pending)

    def wait(self, msecs: int = -1) -> bool:
        return self.tasks.wait(msecs)
