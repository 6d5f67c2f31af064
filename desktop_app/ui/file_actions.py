"""What a user can do with files: open, save, rename, move, delete, new folder."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QPoint, QUrl, Signal
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMenu, QMessageBox, QStyle, QWidget

from desktop_app.api import ApiClient, Item
from desktop_app.ui.browser import FileBrowser
from desktop_app.ui.downloads import Downloads
from desktop_app.ui.tasks import TaskRunner


class FileActions(QObject):
    """The browser's actions (toolbar, context menu, shortcuts) and the calls they make."""

    changed = Signal()  # something on the server changed: listings and usage are stale
    failed = Signal(object)  # Exception
    message = Signal(str)

    def __init__(
        self, api: ApiClient, browser: FileBrowser, downloads: Downloads, window: QWidget
    ) -> None:
        super().__init__(window)
        self.api = api
        self.browser = browser
        self.downloads = downloads
        self.window = window
        self.tasks = TaskRunner(self)
        self._open_dir: Path | None = None  # private temporary folder for opened files

        sp = QStyle.StandardPixmap
        self.open_action = self._action("Open", self.open_selected, None, sp.SP_DialogOpenButton)
        self.up_action = self._action("Up", browser.go_up, "Alt+Up", sp.SP_ArrowUp)
        self.refresh_action = self._action(
            "Refresh", browser.refresh, QKeySequence.StandardKey.Refresh, sp.SP_BrowserReload
        )
        self.new_folder_action = self._action(
            "New folder", self.new_folder, "Ctrl+Shift+N", sp.SP_FileDialogNewFolder
        )
        self.download_action = self._action(
            "Save as…", self.download_selected, "Ctrl+S", sp.SP_DialogSaveButton
        )
        self.rename_action = self._action("Rename", browser.edit_current, None, None)
        self.delete_action = self._action("Delete", self.delete_selected, None, sp.SP_TrashIcon)
        self.search_action = self._action(
            "Search", browser.focus_search, QKeySequence.StandardKey.Find, None
        )
        self.list_action = self._action("List view", lambda: browser.set_view(0), "Ctrl+1", None)
        self.grid_action = self._action("Grid view", lambda: browser.set_view(1), "Ctrl+2", None)
        for action in (self.search_action, self.list_action, self.grid_action):
            window.addAction(action)

        self.open_file: Callable[[Item], None] = self.open_externally
        browser.delete_pressed.connect(self.delete_selected)
        browser.context_menu_requested.connect(self.show_context_menu)
        browser.files.rename_requested.connect(self.rename)
        browser.files.move_requested.connect(self.move)

    def _action(self, text: str, slot, shortcut, icon) -> QAction:
        action = QAction(text, self.window)
        if icon is not None:
            action.setIcon(self.window.style().standardIcon(icon))
        if shortcut is not None:
            action.setShortcut(shortcut)
        action.triggered.connect(lambda _checked=False: slot())
        return action

    def _run(self, fn: Callable[[], object], done_message: str | None = None) -> None:
        def done(_result: object) -> None:
            if done_message:
                self.message.emit(done_message)
            self.changed.emit()

        self.tasks.run(fn, done, self._failed)

    def _failed(self, error: Exception) -> None:
        self.failed.emit(error)
        self.changed.emit()  # what did happen before the error should show

    # -- context menu --------------------------------------------------------------------------

    def build_menu(self) -> QMenu:
        selected = self.browser.selected_items()
        menu = QMenu(self.window)
        if selected:
            menu.addAction(self.open_action)
            if any(not item.is_folder for item in selected):
                menu.addAction(self.download_action)
            menu.addSeparator()
            if len(selected) == 1:
                menu.addAction(self.rename_action)
            menu.addAction(self.delete_action)
        else:
            menu.addAction(self.new_folder_action)
            menu.addAction(self.refresh_action)
        return menu

    def show_context_menu(self, position: QPoint) -> None:
        menu = self.build_menu()
        menu.exec(position)
        menu.deleteLater()

    # -- operations ----------------------------------------------------------------------------

    def open_selected(self) -> None:
        selected = self.browser.selected_items()
        if len(selected) == 1 and selected[0].is_folder:
            self.browser.open_folder(selected[0])
        elif selected:
            self.open_file(next(item for item in selected if not item.is_folder))

    def open_externally(self, item: Item) -> None:
        """Download to a private temporary folder, then open with the desktop's default app."""
        if self._open_dir is None:
            self._open_dir = Path(tempfile.mkdtemp(prefix="trove-open-"))
        key = self.downloads.start(item, self._open_dir / str(item.id) / item.name)

        def opened(done_key: int, path: Path) -> None:
            if done_key == key:
                self.downloads.finished.disconnect(opened)
                QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))

        self.downloads.finished.connect(opened)

    def download_selected(self) -> None:
        for item in self.browser.selected_items():
            if item.is_folder:
                continue
            dest, _ = QFileDialog.getSaveFileName(self.window, "Save file", item.name)
            if dest:
                self.downloads.start(item, dest)

    def new_folder(self) -> None:
        name, ok = QInputDialog.getText(self.window, "New folder", "Folder name:")
        if ok and name.strip():
            self.create_folder(name.strip())

    def create_folder(self, name: str) -> None:
        parent = self.browser.current_folder
        self._run(lambda: self.api.create_folder(name, parent), f"Created “{name}”")

    def rename(self, item: Item, name: str) -> None:
        self._run(lambda: self.api.rename(item.id, name), f"Renamed “{item.name}” to “{name}”")

    def move(self, item_ids: list[int], folder_id: int | None) -> None:
        def move_all() -> None:
            for item_id in item_ids:
                self.api.move(item_id, folder_id)

        what = "1 item" if len(item_ids) == 1 else f"{len(item_ids)} items"
        self._run(move_all, f"Moved {what}")

    def confirm_delete(self, items: list[Item]) -> bool:
        what = f"“{items[0].name}”" if len(items) == 1 else f"{len(items)} items"
        extra = (
            " Folders are deleted with everything in them."
            if any(item.is_folder for item in items)
            else ""
        )
        answer = QMessageBox.question(self.window, "Delete", f"Delete {what}?{extra}")
        return answer == QMessageBox.StandardButton.Yes

    def delete_selected(self) -> None:
        items = self.browser.selected_items()
        if not items or not self.confirm_delete(items):
            return

        def delete_all() -> None:
            for item in items:
                self.api.delete(item.id)

        what = f"“{items[0].name}”" if len(items) == 1 else f"{len(items)} items"
        self._run(delete_all, f"Deleted {what}")

    def wait(self, msecs: int = -1) -> bool:
        return self.tasks.wait(msecs)
