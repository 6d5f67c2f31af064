"""The main window: the file browser, the transfer panel and the usage summary."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QSplitter,
    QStyle,
    QSystemTrayIcon,
)

from desktop_app.api import ApiClient, Item, Usage
from desktop_app.engine import TransferInfo, UploadEngine
from desktop_app.errors import ApiError
from desktop_app.formatting import format_percent, format_size
from desktop_app.settings import Session
from desktop_app.ui.browser import FileBrowser
from desktop_app.ui.downloads import Downloads
from desktop_app.ui.file_actions import FileActions
from desktop_app.ui.preview import PreviewWindow
from desktop_app.ui.tasks import TaskRunner
from desktop_app.ui.transfer_panel import TransferPanel


def local_paths(urls: list[QUrl]) -> list[str]:
    """The local files and folders among dropped URLs."""
    return [url.toLocalFile() for url in urls if url.isLocalFile() and url.toLocalFile()]


class MainWindow(QMainWindow):
    """Browses one user's files; the whole window accepts dropped files and folders."""

    sign_out_requested = Signal()
    session_expired = Signal()
    folder_loaded = Signal()
    preview_opened = Signal(object)  # PreviewWindow
    notified = Signal(str)  # a message shown to the user when a batch of uploads is done

    def __init__(self, api: ApiClient, engine: UploadEngine, session: Session, parent=None) -> None:
        super().__init__(parent)
        self.api = api
        self.engine = engine
        self.session = session
        self.tasks = TaskRunner(self)
        self.preview: PreviewWindow | None = None

        self.setWindowTitle(f"Trove — {session.username} on {session.server_url}")
        self.resize(1100, 720)
        self.setAcceptDrops(True)

        self.browser = FileBrowser(api, self)
        self.files = self.browser.files
        self.file_view = self.browser.table
        self.browser.folder_loaded.connect(self.folder_loaded.emit)
        self.browser.folder_loaded.connect(self.refresh_usage)
        self.browser.open_file_requested.connect(self.open_preview)
        self.browser.failed.connect(self._failed)
        self.files.upload_requested.connect(self.upload_paths)

        self.downloads = Downloads(api, self)
        self.actions = FileActions(api, self.browser, self.downloads, self)
        self.actions.changed.connect(self.browser.refresh)
        self.actions.failed.connect(self._failed)
        self.actions.message.connect(lambda text: self.statusBar().showMessage(text, 5000))
        self.actions.open_file = self.open_preview

        self.transfer_panel = TransferPanel(engine, self)
        self.transfers = self.transfer_panel.transfers
        self.transfer_view = self.transfer_panel.view
        self.transfer_panel.transfer_done.connect(self._transfer_done)
        self.transfer_panel.batch_finished.connect(self._batch_finished)
        self.tray = QSystemTrayIcon(
            self.style().standardIcon(QStyle.StandardPixmap.SP_DriveNetIcon), self
        )

        self.usage_label = QLabel()
        self.download_label = QLabel()
        self.download_bar = QProgressBar()
        self.download_bar.setMaximumWidth(200)
        self.download_bar.setRange(0, 1000)
        for widget in (self.download_label, self.download_bar):
            widget.hide()
            self.statusBar().addPermanentWidget(widget)
        self.statusBar().addPermanentWidget(self.usage_label)
        self.downloads.started.connect(self._download_started)
        self.downloads.progress.connect(self._download_progress)
        self.downloads.finished.connect(self._download_finished)
        self.downloads.failed.connect(self._download_failed)

        self._build_toolbar()
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.browser)
        splitter.addWidget(self.transfer_panel)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        self.setCentralWidget(splitter)

        self._refresh_timer = QTimer(self, singleShot=True, interval=300)
        self._refresh_timer.timeout.connect(self.refresh)
        self.refresh()

    def _build_toolbar(self) -> None:
        sp = QStyle.StandardPixmap
        a = self.actions
        self.upload_files_action = QAction(
            self.style().standardIcon(sp.SP_FileIcon), "Upload files…", self
        )
        self.upload_files_action.setShortcut("Ctrl+U")
        self.upload_files_action.triggered.connect(self.choose_files)
        self.upload_folder_action = QAction(
            self.style().standardIcon(sp.SP_DirIcon), "Upload folder…", self
        )
        self.upload_folder_action.triggered.connect(self.choose_folder)
        self.sign_out_action = QAction("Sign out", self)
        self.sign_out_action.triggered.connect(self.sign_out_requested.emit)
        toolbar = self.addToolBar("Files")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for action in (
            a.up_action,
            a.refresh_action,
            a.new_folder_action,
            self.upload_files_action,
            self.upload_folder_action,
            a.download_action,
            a.delete_action,
        ):
            toolbar.addAction(action)
        toolbar.addSeparator()
        toolbar.addAction(self.sign_out_action)

    # -- browsing (kept here for callers of the window) -----------------------------------------

    @property
    def current_folder(self) -> int | None:
        return self.browser.current_folder

    def refresh(self) -> None:
        self.browser.refresh()

    def open_folder(self, item: Item) -> None:
        self.browser.open_folder(item)

    def go_up(self) -> None:
        self.browser.go_up()

    def refresh_usage(self) -> None:
        self.tasks.run(self.api.usage, self._show_usage, self._failed)

    def _show_usage(self, usage: Usage) -> None:
        files = "1 file" if usage.files == 1 else f"{usage.files} files"
        self.usage_label.setText(
            f"{files} · {format_size(usage.stored_bytes)} stored for "
            f"{format_size(usage.original_bytes)} · {format_percent(usage.saved_fraction)} saved"
        )

    def open_preview(self, item: Item) -> None:
        files = self.browser.visible_files()
        index = next((i for i, f in enumerate(files) if f.id == item.id), None)
        if index is None:
            files, index = [item], 0
        if self.preview is not None:
            self.preview.close()
        self.preview = PreviewWindow(self.api, files, index)
        self.preview.destroyed.connect(lambda: setattr(self, "preview", None))
        self.preview.show()
        self.preview_opened.emit(self.preview)

    # -- downloads -----------------------------------------------------------------------------

    def _download_started(self, _key: int, name: str) -> None:
        self.download_label.setText(f"Downloading {name}")
        self.download_bar.setValue(0)
        self.download_label.show()
        self.download_bar.show()

    def _download_progress(self, _key: int, done: int, total: int) -> None:
        self.download_bar.setValue(round(1000 * done / total) if total else 0)

    def _download_finished(self, _key: int, path) -> None:
        self.statusBar().showMessage(f"Saved {path}", 5000)
        self._download_over()

    def _download_failed(self, _key: int, error: Exception) -> None:
        self._download_over()
        self._failed(error)

    def _download_over(self) -> None:
        if not self.downloads.active:
            self.download_label.hide()
            self.download_bar.hide()

    # -- uploads -------------------------------------------------------------------------------

    def upload_paths(self, paths: list[str], folder: int | None = None) -> None:
        """Queue local files and folders for upload into ``folder`` (default: the current one)."""
        if not paths:
            return
        parent = self.current_folder if folder is None else folder
        self.statusBar().showMessage(f"Preparing {len(paths)} item(s) for upload…", 5000)
        self.tasks.run(lambda: self.engine.add_paths(paths, parent), None, self._failed)

    def choose_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Upload files")
        self.upload_paths(paths)

    def choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Upload folder")
        if path:
            self.upload_paths([path])

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if local_paths(event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        if local_paths(event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = local_paths(event.mimeData().urls())
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        self.upload_paths(paths)

    def _transfer_done(self, _info: TransferInfo) -> None:
        # The current folder may hold the new file; the usage summary changed anyway.
        self._refresh_timer.start()

    def _batch_finished(self, uploaded: int, failed: int) -> None:
        text = f"{uploaded} file{'' if uploaded == 1 else 's'} uploaded"
        if failed:
            text += f", {failed} failed — see the transfer list"
        self.statusBar().showMessage(text, 10000)
        if QSystemTrayIcon.isSystemTrayAvailable() and not self.isActiveWindow():
            self.tray.show()
            self.tray.showMessage("Trove", text)
        self.notified.emit(text)

    # -- errors and closing ----------------------------------------------------------------------

    def _failed(self, error: Exception) -> None:
        if isinstance(error, ApiError) and error.status == 401:
            self.session_expired.emit()
            return
        self.statusBar().showMessage(str(error), 10000)
        box = QMessageBox(QMessageBox.Icon.Warning, "Trove", str(error), parent=self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def closeEvent(self, event) -> None:
        self.transfer_panel.detach()
        if self.preview is not None:
            self.preview.close()
        for runner in (
            self.tasks,
            self.browser.tasks,
            self.browser.thumbnails,
            self.actions,
            self.downloads,
        ):
            runner.wait(5000)
        super().closeEvent(event)
