"""The main window: the current folder, the transfer list and the usage summary."""

from __future__ import annotations

import tempfile
from pathlib import Path

from PySide6.QtCore import QModelIndex, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QDesktopServices, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop_app.api import ApiClient, Item, Usage
from desktop_app.engine import TransferInfo, TransferState, UploadEngine
from desktop_app.errors import ApiError
from desktop_app.formatting import format_percent, format_size
from desktop_app.settings import Session
from desktop_app.ui.file_model import FileTableModel
from desktop_app.ui.tasks import TaskRunner
from desktop_app.ui.transfer_model import EngineBridge, ProgressDelegate, TransferTableModel


def local_paths(urls: list[QUrl]) -> list[str]:
    """The local files and folders among dropped URLs."""
    return [url.toLocalFile() for url in urls if url.isLocalFile() and url.toLocalFile()]


class MainWindow(QMainWindow):
    """Browses one user's files; the whole window accepts dropped files and folders."""

    sign_out_requested = Signal()
    session_expired = Signal()
    folder_loaded = Signal()

    def __init__(self, api: ApiClient, engine: UploadEngine, session: Session, parent=None) -> None:
        super().__init__(parent)
        self.api = api
        self.engine = engine
        self.session = session
        self.tasks = TaskRunner()
        self._path: list[Item] = []  # folders from the root down to the current one
        self._generation = 0
        self._open_dir: Path | None = None  # private temporary folder for opened files

        self.setWindowTitle(f"Trove — {session.username} on {session.server_url}")
        self.resize(960, 680)
        self.setAcceptDrops(True)

        self.files = FileTableModel(self)
        self.file_view = self._table(self.files)
        self.file_view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.file_view.doubleClicked.connect(self._activated)
        self.file_view.horizontalHeader().setSectionResizeMode(
            FileTableModel.NAME, QHeaderView.ResizeMode.Stretch
        )

        self.transfers = TransferTableModel(self)
        self.transfer_view = self._table(self.transfers)
        self.transfer_view.setItemDelegateForColumn(
            TransferTableModel.PROGRESS, ProgressDelegate(self.transfer_view)
        )
        self.transfer_view.horizontalHeader().setSectionResizeMode(
            TransferTableModel.NAME, QHeaderView.ResizeMode.Stretch
        )
        self.transfer_view.setColumnWidth(TransferTableModel.PROGRESS, 180)
        self.transfer_view.selectionModel().selectionChanged.connect(self._update_actions)

        self.path_label = QLabel()
        self.usage_label = QLabel()
        self.statusBar().addPermanentWidget(self.usage_label)
        self._build_actions()
        self._build_layout()

        self.bridge = EngineBridge()
        queued = Qt.ConnectionType.QueuedConnection
        self.bridge.changed.connect(self.transfers.update_transfer, queued)
        self.bridge.changed.connect(self._transfer_changed, queued)
        self.bridge.removed.connect(self.transfers.remove_transfers, queued)
        self.transfers.set_transfers(engine.transfers())
        engine.add_listener(self.bridge)

        self._refresh_timer = QTimer(self, singleShot=True, interval=300)
        self._refresh_timer.timeout.connect(self.refresh)
        self.refresh()

    # -- construction ------------------------------------------------------------------------

    def _table(self, model) -> QTableView:
        view = QTableView(self)
        view.setModel(model)
        view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        view.verticalHeader().hide()
        view.setShowGrid(False)
        view.setAlternatingRowColors(True)
        return view

    def _action(self, text: str, slot, shortcut=None, icon=None) -> QAction:
        action = QAction(text, self)
        if icon is not None:
            action.setIcon(self.style().standardIcon(icon))
        if shortcut is not None:
            action.setShortcut(shortcut)
        action.triggered.connect(slot)
        return action

    def _build_actions(self) -> None:
        sp = self.style().StandardPixmap
        self.up_action = self._action("Up", self.go_up, "Alt+Up", sp.SP_ArrowUp)
        self.refresh_action = self._action(
            "Refresh", self.refresh, QKeySequence.StandardKey.Refresh, sp.SP_BrowserReload
        )
        self.new_folder_action = self._action(
            "New folder", self.new_folder, "Ctrl+Shift+N", sp.SP_FileDialogNewFolder
        )
        self.upload_files_action = self._action(
            "Upload files…", self.choose_files, "Ctrl+U", sp.SP_FileIcon
        )
        self.upload_folder_action = self._action(
            "Upload folder…", self.choose_folder, None, sp.SP_DirIcon
        )
        self.download_action = self._action(
            "Download…", self.download_selected, "Ctrl+D", sp.SP_DialogSaveButton
        )
        self.delete_action = self._action(
            "Delete", self.delete_selected, QKeySequence.StandardKey.Delete, sp.SP_TrashIcon
        )
        self.sign_out_action = self._action("Sign out", self.sign_out_requested.emit)
        toolbar = self.addToolBar("Files")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for action in (
            self.up_action,
            self.refresh_action,
            self.new_folder_action,
            self.upload_files_action,
            self.upload_folder_action,
            self.download_action,
            self.delete_action,
        ):
            toolbar.addAction(action)
        toolbar.addSeparator()
        toolbar.addAction(self.sign_out_action)

    def _build_layout(self) -> None:
        self.pause_button = QPushButton("Pause", clicked=self._pause_selected)
        self.resume_button = QPushButton("Resume", clicked=self._resume_selected)
        self.cancel_button = QPushButton("Cancel", clicked=self._cancel_selected)
        self.retry_button = QPushButton("Retry", clicked=self._retry_selected)
        self.clear_button = QPushButton("Clear finished", clicked=self.engine.clear_finished)
        buttons = QHBoxLayout()
        buttons.addWidget(QLabel("<b>Transfers</b>"))
        buttons.addStretch()
        for button in (
            self.pause_button,
            self.resume_button,
            self.cancel_button,
            self.retry_button,
            self.clear_button,
        ):
            buttons.addWidget(button)

        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.path_label)
        top_layout.addWidget(self.file_view)
        bottom = QWidget()
        bottom_layout = QVBoxLayout(bottom)
        bottom_layout.setContentsMargins(0, 0, 0, 0)
        bottom_layout.addLayout(buttons)
        bottom_layout.addWidget(self.transfer_view)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(top)
        splitter.addWidget(bottom)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        self.setCentralWidget(splitter)
        self._update_actions()

    # -- navigation ----------------------------------------------------------------------------

    @property
    def current_folder(self) -> int | None:
        return self._path[-1].id if self._path else None

    def refresh(self) -> None:
        """Reload the current folder and the usage summary in the background."""
        self._generation += 1
        generation, folder = self._generation, self.current_folder
        self.path_label.setText("/" + "/".join(item.name for item in self._path))
        self.up_action.setEnabled(bool(self._path))
        self.tasks.run(
            lambda: (self.api.list_folder(folder), self.api.usage()),
            lambda result: self._loaded(generation, *result),
            self._failed,
        )

    def _loaded(self, generation: int, items: list[Item], usage: Usage) -> None:
        if generation != self._generation:
            return  # the user moved on meanwhile
        self.files.set_items(items)
        self._show_usage(usage)
        self.folder_loaded.emit()

    def _show_usage(self, usage: Usage) -> None:
        files = "1 file" if usage.files == 1 else f"{usage.files} files"
        self.usage_label.setText(
            f"{files} · {format_size(usage.stored_bytes)} stored for "
            f"{format_size(usage.original_bytes)} · {format_percent(usage.saved_fraction)} saved"
        )

    def open_folder(self, item: Item) -> None:
        self._path.append(item)
        self.files.set_items([])
        self.refresh()

    def go_up(self) -> None:
        if self._path:
            self._path.pop()
            self.files.set_items([])
            self.refresh()

    def _activated(self, index: QModelIndex) -> None:
        item = self.files.item_at(index.row())
        if item.is_folder:
            self.open_folder(item)
        else:
            self.open_file(item)

    # -- files ---------------------------------------------------------------------------------

    def _selected_items(self) -> list[Item]:
        rows = sorted({index.row() for index in self.file_view.selectionModel().selectedRows()})
        return [self.files.item_at(row) for row in rows]

    def open_file(self, item: Item) -> None:
        """Download to a private temporary folder, then open with the desktop's default app."""
        if self._open_dir is None:
            self._open_dir = Path(tempfile.mkdtemp(prefix="trove-open-"))
        target = self._open_dir / str(item.id) / item.name
        self.statusBar().showMessage(f"Downloading {item.name}…")

        def fetch() -> Path:
            target.parent.mkdir(exist_ok=True)
            return self.api.download(item.id, target, expected_sha256=item.sha256)

        def opened(path: Path) -> None:
            self.statusBar().showMessage(f"Opened {item.name}", 5000)
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))

        self.tasks.run(fetch, opened, self._failed)

    def download_selected(self) -> None:
        for item in self._selected_items():
            if item.is_folder:
                continue
            dest, _ = QFileDialog.getSaveFileName(self, "Save file", item.name)
            if not dest:
                continue
            self.statusBar().showMessage(f"Downloading {item.name}…")
            self.tasks.run(
                lambda item=item, dest=dest: self.api.download(
                    item.id, dest, expected_sha256=item.sha256
                ),
                lambda path: self.statusBar().showMessage(f"Saved {path}", 5000),
                self._failed,
            )

    def new_folder(self) -> None:
        name, ok = QInputDialog.getText(self, "New folder", "Folder name:")
        if ok and name.strip():
            parent = self.current_folder
            self.tasks.run(
                lambda: self.api.create_folder(name.strip(), parent),
                lambda _item: self.refresh(),
                self._failed,
            )

    def delete_selected(self) -> None:
        items = self._selected_items()
        if not items:
            return
        what = f"“{items[0].name}”" if len(items) == 1 else f"{len(items)} items"
        extra = (
            " Folders are deleted with everything in them."
            if any(item.is_folder for item in items)
            else ""
        )
        answer = QMessageBox.question(self, "Delete", f"Delete {what}?{extra}")
        if answer != QMessageBox.StandardButton.Yes:
            return

        def delete_all() -> None:
            for item in items:
                self.api.delete(item.id)

        self.tasks.run(delete_all, lambda _none: self.refresh(), self._failed)

    # -- uploads -------------------------------------------------------------------------------

    def upload_paths(self, paths: list[str]) -> None:
        """Queue local files and folders for upload into the current folder."""
        if not paths:
            return
        parent = self.current_folder
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

    def _transfer_changed(self, info: TransferInfo) -> None:
        if info.state is TransferState.DONE:
            # The current folder may hold the new file; the usage summary changed anyway.
            self._refresh_timer.start()
        self._update_actions()

    def _selected_transfers(self) -> list[TransferInfo]:
        rows = {index.row() for index in self.transfer_view.selectionModel().selectedRows()}
        return [self.transfers.transfer_at(row) for row in sorted(rows)]

    def _update_actions(self, *_args: object) -> None:
        selected = self._selected_transfers()
        states = {t.state for t in selected}
        self.pause_button.setEnabled(
            bool(states & {TransferState.QUEUED, TransferState.HASHING, TransferState.UPLOADING})
        )
        self.resume_button.setEnabled(TransferState.PAUSED in states)
        self.cancel_button.setEnabled(
            any(t.state not in (TransferState.DONE, TransferState.CANCELLED) for t in selected)
        )
        self.retry_button.setEnabled(
            any(
                t.retryable and t.state in (TransferState.FAILED, TransferState.CANCELLED)
                for t in selected
            )
        )

    def _pause_selected(self) -> None:
        for info in self._selected_transfers():
            self.engine.pause(info.id)

    def _resume_selected(self) -> None:
        for info in self._selected_transfers():
            self.engine.resume(info.id)

    def _cancel_selected(self) -> None:
        for info in self._selected_transfers():
            self.engine.cancel(info.id)

    def _retry_selected(self) -> None:
        for info in self._selected_transfers():
            self.engine.retry(info.id)

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
        self.engine.remove_listener(self.bridge)
        self.tasks.wait(5000)
        super().closeEvent(event)
