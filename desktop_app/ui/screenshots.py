"""Render the main window (list and grid), the preview and the transfer panel to PNG files.

Run against a server you can write to, with local files to upload::

    QT_QPA_PLATFORM=offscreen python -m desktop_app.ui.screenshots OUTDIR \\
        --server http://127.0.0.1:8080 --username alice --password PW FILE...

(`make screenshots` starts a throwaway server and uses the test corpus.)
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QPoint, QRect, Qt, QThread
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QApplication, QWidget

from desktop_app.api import ApiClient
from desktop_app.engine import UploadEngine
from desktop_app.settings import Session
from desktop_app.store import QueueStore
from desktop_app.transfers import TransferState
from desktop_app.ui.main_window import MainWindow
from desktop_app.ui.thumbnails import may_have_thumbnail

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp")
DOCUMENT_SUFFIXES = (".pdf", ".odt", ".ods", ".odp", ".txt", ".md")
AUDIO_SUFFIXES = (".wav", ".ogg", ".mp3", ".flac", ".m4a")
VIDEO_SUFFIXES = (".mp4", ".mkv", ".webm", ".mov")
VIDEO_AT_MS = 21_000  # a frame of the trailer worth looking at


def wait_until(
    predicate: Callable[[], bool], timeout: float = 120.0, what: str = "the expected state"
) -> None:
    """Run the event loop until ``predicate`` holds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"the application did not reach {what} in {timeout:.0f} s")
        QApplication.processEvents()
        QThread.msleep(20)
    QApplication.processEvents()


def save(widget: QWidget, path: Path) -> Path:
    QApplication.processEvents()
    if not widget.grab().save(str(path)):
        raise OSError(f"cannot write {path}")
    print(path)
    return path


def _upload_all(api: ApiClient, store: QueueStore, groups: dict[str | None, list[Path]]) -> None:
    with UploadEngine(api, store, workers=3) as engine:
        for folder, paths in groups.items():
            parent = api.create_folder(folder).id if folder else None
            for path in paths:
                engine.add_file(path, parent)
        if not engine.wait_idle(600):
            raise TimeoutError("uploads did not finish")
    wait_until(lambda: all(i.state == "stored" for i in _every_file(api)), 600)


def _every_file(api: ApiClient, parent: int | None = None) -> list:
    items = []
    for item in api.list_folder(parent):
        items.extend(_every_file(api, item.id) if item.is_folder else [item])
    return items


def capture(api: ApiClient, outdir: Path, files: list[Path], big: list[Path]) -> list[Path]:
    """Upload ``files`` sorted into folders, then render each view; ``big`` files are
    uploaded slowly so the transfer panel has something to show."""
    outdir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="trove-screenshots-"))
    store = QueueStore(work / "queue.sqlite3")
    groups: dict[str | None, list[Path]] = {
        "Photos": [],
        "Documents": [],
        "Music": [],
        "Videos": [],
        None: [],
    }
    for path in files:
        suffix = path.suffix.lower()
        folder = (
            "Photos"
            if suffix in IMAGE_SUFFIXES
            else "Documents"
            if suffix in DOCUMENT_SUFFIXES
            else "Music"
            if suffix in AUDIO_SUFFIXES
            else "Videos"
            if suffix in VIDEO_SUFFIXES
            else None
        )
        groups[folder].append(path)
    _upload_all(api, store, groups)

    engine = UploadEngine(api, store, workers=3, bandwidth_limit=256 * 1024).start()
    session = Session(api.base_url, "alice", api.token or "")
    window = MainWindow(api, engine, session)
    window.resize(1280, 800)
    window.show()
    shots: list[Path] = []
    try:
        wait_until(lambda: window.usage_label.text() != "" and window.files.rowCount() > 0)
        photos = next(item for item in window.files.items() if item.name == "Photos")
        window.open_folder(photos)
        wait_until(lambda: window.files.rowCount() == len(groups["Photos"]))
        shots.append(save(window, outdir / "main-list.png"))

        window.browser.set_view(1)
        thumbnails = window.browser.thumbnails
        wanted = [i.sha256 for i in window.files.items() if may_have_thumbnail(i)]
        window.browser.grid.viewport().repaint()
        wait_until(lambda: not thumbnails.busy and any(thumbnails.has(s) for s in wanted))
        shots.append(save(window, outdir / "main-grid.png"))

        first = next(i for i in window.files.items() if i.name.lower().endswith(".jpg"))
        window.open_preview(first)
        preview = window.preview
        assert preview is not None
        preview.resize(1200, 760)
        wait_until(lambda: preview.kind == "image")
        preview.image_view.fit_to_window()
        shots.append(save(preview, outdir / "preview.png"))
        preview.close()
        if groups["Videos"]:
            shots.append(_video_preview(window, outdir / "preview-video.png"))

        window.browser.set_view(0)
        window.upload_paths([str(p) for p in big] + [str(work / "vanished.bin")])
        panel = window.transfer_panel
        wait_until(
            lambda: any(
                t.state is TransferState.UPLOADING and t.speed > 0
                for t in panel.transfers.transfers()
            )
        )
        wait_until(lambda: any(t.bytes_done > t.size / 20 for t in panel.transfers.transfers()))
        wait_until(
            lambda: any(t.state is TransferState.FAILED for t in panel.transfers.transfers())
        )
        panel.view.selectRow(0)
        panel.resize(1100, 260)
        shots.append(save(panel, outdir / "transfers.png"))
        engine.pause_all()
    finally:
        window.close()
        engine.shutdown()
        store.close()
        shutil.rmtree(work, ignore_errors=True)
    return shots


def _video_preview(window: MainWindow, path: Path) -> Path:
    """The first video of the Videos folder playing in the preview, paused on a frame."""
    window.browser.go_to_depth(0)
    wait_until(lambda: any(i.name == "Videos" for i in window.files.items()))
    window.open_folder(next(i for i in window.files.items() if i.name == "Videos"))
    wait_until(lambda: window.files.rowCount() > 0 and window.browser.path[-1].name == "Videos")
    window.open_preview(window.files.item_at(0))
    preview = window.preview
    assert preview is not None
    preview.resize(1200, 760)
    wait_until(lambda: preview.kind == "media", what="the video to load")
    media = preview.media
    assert media is not None
    media.seek(min(VIDEO_AT_MS, media.duration // 2))
    wait_until(
        lambda: media.position >= min(VIDEO_AT_MS, media.duration // 2) + 500,
        what="the video to play on from the frame sought",
    )
    media.player.pause()
    sink = media.video.videoSink()
    wait_until(lambda: not sink.videoFrame().size().isEmpty(), what="a video frame")
    QApplication.processEvents()
    # Offscreen grabs leave video surfaces out: draw the frame on show where the widget is.
    pixmap = preview.grab()
    area = QRect(media.video.mapTo(preview, QPoint(0, 0)), media.video.size())
    frame = (
        sink.videoFrame()
        .toImage()
        .scaled(
            area.size(),
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
    )
    painter = QPainter(pixmap)
    painter.fillRect(area, Qt.GlobalColor.black)
    painter.drawImage(area.center() - frame.rect().center(), frame)
    painter.end()
    if not pixmap.save(str(path)):
        raise OSError(f"cannot write {path}")
    print(path)
    preview.close()
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--server", required=True)
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--big", type=Path, action="append", default=[])
    parser.add_argument("files", type=Path, nargs="+")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setStyle("Fusion")
    api = ApiClient(args.server)
    api.login(args.username, args.password)
    capture(api, args.outdir, args.files, args.big)
    return 0


if __name__ == "__main__":
    sys.exit(main())
