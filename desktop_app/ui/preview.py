"""The preview window: a file's content, its details, and previous/next through the folder."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.api import ApiClient, Item
from desktop_app.formatting import format_size, format_timestamp
from desktop_app.media_proxy import MediaProxy
from desktop_app.ui import media_view
from desktop_app.ui.tasks import TaskRunner
from desktop_app.ui.viewers import ExternalView, ImageView, TextView, kind_of, read_image, read_text

log = logging.getLogger(__name__)

try:  # PDF support ships with PySide6-Addons; without it PDFs open externally.
    from PySide6.QtPdf import QPdfDocument
    from PySide6.QtPdfWidgets import QPdfView
except ImportError:  # pragma: no cover - depends on the installation
    QPdfDocument = None  # type: ignore[assignment,misc]


def saved_text(item: Item) -> str:
    """``saved 23 %`` once stored; what is known otherwise."""
    if item.state != "stored" or item.saved_fraction is None:
        return "not yet stored" if item.state == "processing" else ""
    return f"saved {max(0.0, item.saved_fraction) * 100:.0f} %"


class PreviewWindow(QWidget):
    """Shows one file of a list at a time; the file is downloaded to a private folder."""

    loaded = Signal(str)  # the kind shown: image, gif, text, pdf, media or other

    def __init__(self, api: ApiClient, items: list[Item], index: int, parent=None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.api = api
        self.items = items
        self.index = index
        self.kind = ""
        self.tasks = TaskRunner(self, max_threads=2)
        self._dir = tempfile.TemporaryDirectory(prefix="trove-preview-")
        self._generation = 0
        self.resize(1000, 680)

        self.prev_button = self._button("\u2039 Previous", self.previous)
        self.next_button = self._button("Next \u203a", self.next)
        self.zoom_out_button = self._button("\u2212", lambda: self.image_view.zoom(1 / 1.25))
        self.fit_button = self._button("Fit", lambda: self.image_view.fit_to_window())
        self.zoom_in_button = self._button("+", lambda: self.image_view.zoom(1.25))
        self.open_button = self._button("Open with default app", self.open_externally)
        self.title = QLabel()
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        bar = QHBoxLayout()
        bar.addWidget(self.prev_button)
        bar.addWidget(self.next_button)
        bar.addWidget(self.title, 1)
        for button in (
            self.zoom_out_button,
            self.fit_button,
            self.zoom_in_button,
            self.open_button,
        ):
            bar.addWidget(button)

        self.status = QLabel()
        self.status.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image_view = ImageView()
        self.text_view = TextView()
        self.external = ExternalView()
        self.external.open_requested.connect(self.open_externally)
        self.pages = QStackedWidget()
        for page in (self.status, self.image_view, self.text_view, self.external):
            self.pages.addWidget(page)
        self.pdf_document = None
        if QPdfDocument is not None:
            self.pdf_document = QPdfDocument(self)
            self.pdf_view = QPdfView()
            self.pdf_view.setDocument(self.pdf_document)
            self.pdf_view.setPageMode(QPdfView.PageMode.MultiPage)
            self.pdf_view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
            self.pages.addWidget(self.pdf_view)
        self.media: media_view.MediaView | None = None
        self._proxy: MediaProxy | None = None

        self.info: dict[str, QLabel] = {}
        info = QFormLayout()
        for key in ("Name", "Size", "Stored", "Codec", "Saved", "Modified", "State"):
            label = QLabel()
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.info[key] = label
            info.addRow(f"<b>{key}</b>", label)
        panel = QWidget()
        panel.setLayout(info)
        panel.setFixedWidth(260)

        body = QHBoxLayout()
        body.addWidget(self.pages, 1)
        body.addWidget(panel)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addLayout(body, 1)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.close)
        self.show_current()

    def _button(self, text: str, slot) -> QToolButton:
        button = QToolButton(self)
        button.setText(text)
        button.clicked.connect(lambda _checked=False: slot())
        return button

    @property
    def item(self) -> Item:
        return self.items[self.index]

    # -- navigation ----------------------------------------------------------------------------

    def previous(self) -> None:
        if self.index > 0:
            self.index -= 1
            self.show_current()

    def next(self) -> None:
        if self.index < len(self.items) - 1:
            self.index += 1
            self.show_current()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key == Qt.Key.Key_Left:
            self.previous()
        elif key == Qt.Key.Key_Right:
            self.next()
        elif key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.image_view.zoom(1.25)
        elif key == Qt.Key.Key_Minus:
            self.image_view.zoom(1 / 1.25)
        elif key == Qt.Key.Key_0:
            self.image_view.fit_to_window()
        else:
            super().keyPressEvent(event)

    # -- content -------------------------------------------------------------------------------

    def show_current(self) -> None:
        self._generation += 1
        generation, item = self._generation, self.item
        self.setWindowTitle(f"{item.name} — Trove")
        self.title.setText(f"<b>{item.name}</b>  ({self.index + 1} of {len(self.items)})")
        self.prev_button.setEnabled(self.index > 0)
        self.next_button.setEnabled(self.index < len(self.items) - 1)
        self._show_info(item)
        self._stop_media()
        kind = kind_of(item.name)
        if kind == "pdf" and self.pdf_document is None:
            kind = "other"
        if kind == "media":
            self._stream(item)
            return
        if kind == "other":
            self._show_external(
                kind, "There is no preview for this kind of file.", "Open with default app"
            )
            return
        self.kind = ""
        self.status.setText(f"Loading {item.name}…")
        self.pages.setCurrentWidget(self.status)
        self.tasks.run(
            lambda: self._fetch(item, kind),
            lambda result: self._show(generation, kind, *result),
            lambda error: self._failed(generation, error),
        )

    def _fetch(self, item: Item, kind: str) -> tuple[Path, object]:
        target = Path(self._dir.name) / str(item.id) / item.name
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            self.api.download(item.id, target, expected_sha256=item.sha256)
        if kind == "image":
            return target, read_image(target)
        if kind == "text":
            return target, read_text(target)
        return target, None

    def _show(self, generation: int, kind: str, path: Path, payload: object) -> None:
        if generation != self._generation:
            return
        if kind == "gif" and not self.image_view.set_movie(path):
            kind = "image"
            try:
                payload = read_image(path)
            except ValueError as exc:
                self._failed(generation, exc)
                return
        if kind == "image":
            self.image_view.set_image(payload)  # type: ignore[arg-type]
        if kind in ("image", "gif"):
            self.pages.setCurrentWidget(self.image_view)
        elif kind == "text":
            self.text_view.setPlainText(str(payload))
            self.pages.setCurrentWidget(self.text_view)
        elif kind == "pdf" and self.pdf_document is not None:
            self.pdf_document.load(str(path))
            self.pages.setCurrentWidget(self.pdf_view)
        self._set_zoom_enabled(kind in ("image",))
        self.kind = kind
        self.loaded.emit(kind)

    def _stream(self, item: Item) -> None:
        """Play from the server through the loopback relay (the player seeks with Range)."""
        if self.media is None:
            if not media_view.multimedia_available():
                self._show_external(
                    "media",
                    "Audio and video play in your system's player.",
                    "Open with system player",
                )
                return
            self.media = media_view.MediaView()
            self.media.loaded.connect(self._media_loaded)
            self.media.failed.connect(self._media_failed)
            self.pages.addWidget(self.media)
            self._proxy = MediaProxy(self.api)
        assert self._proxy is not None
        self.kind = ""
        self.status.setText(f"Loading {item.name}…")
        self.pages.setCurrentWidget(self.status)
        self._set_zoom_enabled(False)
        self.media.open(self._proxy.grant(item.id))

    def _media_loaded(self, _duration: int) -> None:
        # The view stays silent about a source once stopped, so this is the current file.
        assert self.media is not None
        self.pages.setCurrentWidget(self.media)
        self.kind = "media"
        self.loaded.emit("media")

    def _media_failed(self, text: str) -> None:
        self._show_external("error", text, "Open with system player")

    def _stop_media(self) -> None:
        # Streams first: the player's stop waits, holding the GIL, for its reader to let go.
        if self._proxy is not None:
            self._proxy.revoke_all()
        if self.media is not None:
            self.media.stop()

    def _show_external(self, kind: str, text: str, button: str) -> None:
        self.external.show_message(text, button)
        self.pages.setCurrentWidget(self.external)
        self._set_zoom_enabled(False)
        self.kind = kind
        self.loaded.emit(kind)

    def _failed(self, generation: int, error: Exception) -> None:
        if generation != self._generation:
            return
        log.info("preview of %s failed: %s", self.item.name, error)
        self._show_external("error", f"Cannot show this file: {error}", "Open with default app")

    def _set_zoom_enabled(self, enabled: bool) -> None:
        for button in (self.zoom_out_button, self.fit_button, self.zoom_in_button):
            button.setEnabled(enabled)

    def _show_info(self, item: Item) -> None:
        stored = item.stored_size is not None and item.state == "stored"
        values = {
            "Name": item.name,
            "Size": format_size(item.size),
            "Stored": format_size(item.stored_size) if stored else "—",
            "Codec": item.codec or "—",
            "Saved": saved_text(item) or "—",
            "Modified": format_timestamp(item.mtime) or "—",
            "State": {"stored": "Stored", "processing": "Processing"}.get(item.state or "", "—"),
        }
        for key, value in values.items():
            self.info[key].setText(value)

    def open_externally(self) -> None:
        """Save to the private folder and hand the file to the desktop's default program."""
        item = self.item
        target = Path(self._dir.name) / str(item.id) / item.name

        def fetch() -> Path:
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                self.api.download(item.id, target, expected_sha256=item.sha256)
            return target

        self.tasks.run(fetch, lambda path: QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))))

    def closeEvent(self, event) -> None:
        self._generation += 1
        self._stop_media()
        if self._proxy is not None:
            self._proxy.close()
            self._proxy = None
        self.tasks.wait(10_000)
        if self.pdf_document is not None:
            self.pdf_document.close()
        self._dir.cleanup()
        super().closeEvent(event)
