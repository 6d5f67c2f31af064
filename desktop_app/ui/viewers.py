"""The content views of the preview window: images, text, PDF and media."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QFontDatabase, QImage, QImageReader, QMovie, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

TEXT_LIMIT = 2 * 1024 * 1024  # bytes of text shown; larger files are cut with a note
TEXT_SUFFIXES = frozenset(
    [
        ".txt",
        ".md",
        ".rst",
        ".csv",
        ".tsv",
        ".log",
        ".ini",
        ".cfg",
        ".conf",
        ".toml",
        ".yaml",
        ".yml",
        ".json",
        ".xml",
        ".html",
        ".htm",
        ".css",
        ".js",
        ".ts",
        ".py",
        ".rs",
        ".go",
        ".c",
        ".h",
        ".cpp",
        ".hpp",
        ".java",
        ".kt",
        ".sh",
        ".bash",
        ".sql",
        ".tex",
        ".srt",
        ".vtt",
    ]
)
# Audio and video the bundled FFmpeg plays, known without the system's MIME table.
MEDIA_SUFFIXES = frozenset(
    [
        ".mp3",
        ".flac",
        ".ogg",
        ".oga",
        ".opus",
        ".m4a",
        ".m4b",
        ".aac",
        ".wav",
        ".aif",
        ".aiff",
        ".wma",
        ".wv",
        ".mka",
        ".spx",
        ".mp4",
        ".m4v",
        ".mkv",
        ".webm",
        ".mov",
        ".avi",
        ".ogv",
        ".mpg",
        ".mpeg",
        ".3gp",
        ".wmv",
        ".flv",
    ]
)
MAX_IMAGE_SIDE = 8192  # decode large photos at a size a screen can show


def kind_of(name: str) -> str:
    """``image``, ``gif``, ``text``, ``pdf``, ``media`` or ``other``."""
    suffix = Path(name).suffix.lower()
    mime = mimetypes.guess_type(name)[0] or ""
    formats = {bytes(f.data()).decode().lower() for f in QImageReader.supportedImageFormats()}
    if suffix == ".gif":
        return "gif"
    if suffix == ".pdf":
        return "pdf"
    if suffix.lstrip(".") in formats or suffix in (".jpg", ".jpeg"):
        return "image"
    if suffix in TEXT_SUFFIXES or mime.startswith("text/"):
        return "text"
    if suffix in MEDIA_SUFFIXES or mime.startswith(("audio/", "video/")):
        return "media"
    return "other"


def read_image(path: Path) -> QImage:
    """Decode an image with its EXIF orientation applied (safe off the UI thread)."""
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)
    size = reader.size()
    if size.isValid() and max(size.width(), size.height()) > MAX_IMAGE_SIDE:
        reader.setScaledSize(
            size.scaled(MAX_IMAGE_SIDE, MAX_IMAGE_SIDE, Qt.AspectRatioMode.KeepAspectRatio)
        )
    image = reader.read()
    if image.isNull():
        raise ValueError(f"Cannot show this picture: {reader.errorString()}.")
    return image


def read_text(path: Path) -> str:
    with open(path, "rb") as handle:
        data = handle.read(TEXT_LIMIT + 1)
    text = data[:TEXT_LIMIT].decode("utf-8", errors="replace")
    if len(data) > TEXT_LIMIT:
        text += "\n\n[… only the first 2 MB are shown]"
    return text


class ImageView(QScrollArea):
    """A picture that fits the window or is zoomed; animated GIFs play."""

    zoom_changed = Signal(float)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.label = QLabel()
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWidget(self.label)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWidgetResizable(False)
        self.image = QImage()
        self.movie: QMovie | None = None
        self.fit = True
        self.factor = 1.0

    def set_image(self, image: QImage) -> None:
        self._stop_movie()
        self.image = image
        self.fit = True
        self._render()

    def set_movie(self, path: Path) -> bool:
        """Play an animation; False when the file is not one Qt can play."""
        self._stop_movie()
        movie = QMovie(str(path), parent=self)
        if not movie.isValid():
            return False
        self.movie = movie
        self.image = QImage()
        self.label.setMovie(movie)
        movie.start()
        self.label.resize(movie.currentPixmap().size().expandedTo(QSize(1, 1)))
        return True

    def _stop_movie(self) -> None:
        if self.movie is not None:
            self.movie.stop()
            self.label.setMovie(None)
            self.movie.deleteLater()
            self.movie = None

    def zoom(self, step: float) -> None:
        if self.image.isNull():
            return
        current = self.displayed_scale()
        self.fit = False
        self.factor = max(0.05, min(16.0, current * step))
        self._render()

    def fit_to_window(self) -> None:
        self.fit = True
        self._render()

    def displayed_scale(self) -> float:
        if self.image.isNull() or not self.image.width():
            return 1.0
        return self.label.width() / self.image.width()

    def _render(self) -> None:
        if self.image.isNull():
            return
        if self.fit:
            room = self.viewport().size()
            target = self.image.size()
            if target.width() > room.width() or target.height() > room.height():
                target = target.scaled(room, Qt.AspectRatioMode.KeepAspectRatio)
        else:
            target = self.image.size() * self.factor
        target = target.expandedTo(QSize(1, 1))
        pixmap = QPixmap.fromImage(
            self.image.scaled(
                target,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        )
        self.label.setPixmap(pixmap)
        self.label.resize(pixmap.size())
        self.zoom_changed.emit(self.displayed_scale())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.fit:
            self._render()


class TextView(QPlainTextEdit):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)


class ExternalView(QWidget):
    """For content shown by another program: a sentence and a button."""

    open_requested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.label = QLabel()
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.label.setWordWrap(True)
        self.button = QPushButton("Open with default app")
        self.button.clicked.connect(self.open_requested.emit)
        layout = QVBoxLayout(self)
        layout.addStretch()
        layout.addWidget(self.label)
        layout.addWidget(self.button, 0, Qt.AlignmentFlag.AlignCenter)
        layout.addStretch()

    def show_message(self, text: str, button: str) -> None:
        self.label.setText(text)
        self.button.setText(button)
