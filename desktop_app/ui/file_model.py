"""The current folder's items as a Qt table model, and the proxy that sorts them."""

from __future__ import annotations

import json

from PySide6.QtCore import (
    QAbstractTableModel,
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QStyle

from desktop_app.api import Item
from desktop_app.formatting import format_saved, format_size, format_timestamp
from desktop_app.ui.thumbnails import ThumbnailCache

Index = QModelIndex | QPersistentModelIndex

STATE_LABELS = {"processing": "Processing", "stored": "Stored"}
ITEM_IDS_MIME = "application/x-trove-item-ids"
URI_LIST_MIME = "text/uri-list"


class FileTableModel(QAbstractTableModel):
    """Items of one folder (or search results). Renames, moves and dropped local files
    are reported as signals; the window asks the server and reloads."""

    NAME, SIZE, STATE, SAVED, MODIFIED = range(5)
    HEADERS = ("Name", "Size", "State", "Saved", "Modified")
    ItemRole = Qt.ItemDataRole.UserRole + 1
    SortRole = Qt.ItemDataRole.UserRole + 2

    rename_requested = Signal(object, str)  # Item, new name
    move_requested = Signal(list, object)  # item ids, folder id
    upload_requested = Signal(list, object)  # local paths, folder id (None: current folder)

    def __init__(self, parent=None, thumbnails: ThumbnailCache | None = None) -> None:
        super().__init__(parent)
        self._items: list[Item] = []
        self._thumbnails = thumbnails
        if thumbnails is not None:
            thumbnails.ready.connect(self._thumbnail_ready)

    def set_items(self, items: list[Item]) -> None:
        self.beginResetModel()
        self._items = list(items)
        self.endResetModel()

    def items(self) -> list[Item]:
        return list(self._items)

    def item_at(self, row: int) -> Item:
        return self._items[row]

    def row_of(self, item_id: int) -> int | None:
        return next((row for row, item in enumerate(self._items) if item.id == item_id), None)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._items)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        flags = super().flags(index)
        if not index.isValid():
            return flags | Qt.ItemFlag.ItemIsDropEnabled
        flags |= Qt.ItemFlag.ItemIsDragEnabled
        if index.column() == self.NAME:
            flags |= Qt.ItemFlag.ItemIsEditable
        if self._items[index.row()].is_folder:
            flags |= Qt.ItemFlag.ItemIsDropEnabled
        return flags

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        item = self._items[index.row()]
        column = index.column()
        if role == self.ItemRole:
            return item
        if role == self.SortRole:
            return self._sort_key(item, column)
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return self._text(item, column)
        if role == Qt.ItemDataRole.DecorationRole and column == self.NAME:
            return self._icon(item)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (self.SIZE, self.SAVED):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole and column == self.SAVED and item.stored_size:
            return f"{format_size(item.stored_size)} on the server"
        return None

    def setData(self, index: Index, value, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid() or role != Qt.ItemDataRole.EditRole or index.column() != self.NAME:
            return False
        name = str(value).strip()
        item = self._items[index.row()]
        if name and name != item.name:
            self.rename_requested.emit(item, name)
        return False  # the listing changes once the server has renamed it

    def _icon(self, item: Item) -> QIcon:
        if not item.is_folder and self._thumbnails is not None:
            icon = self._thumbnails.icon(item)
            if icon is not None:
                return icon
        pixmap = (
            QStyle.StandardPixmap.SP_DirIcon
            if item.is_folder
            else QStyle.StandardPixmap.SP_FileIcon
        )
        return QApplication.style().standardIcon(pixmap)

    def _thumbnail_ready(self, sha256: str) -> None:
        for row, item in enumerate(self._items):
            if item.sha256 == sha256:
                index = self.index(row, self.NAME)
                self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])

    def _text(self, item: Item, column: int) -> str:
        if column == self.NAME:
            return item.name
        if item.is_folder:
            return "Folder" if column == self.STATE else ""
        if column == self.SIZE:
            return format_size(item.size)
        if column == self.STATE:
            return STATE_LABELS.get(item.state or "", item.state or "")
        if column == self.SAVED:
            return format_saved(item.saved_fraction, item.codec)
        if column == self.MODIFIED:
            return format_timestamp(item.mtime)
        return ""

    def _sort_key(self, item: Item, column: int) -> object:
        if column == self.SIZE:
            return item.size
        if column == self.SAVED:
            return item.saved_fraction if item.saved_fraction is not None else -1.0
        if column == self.MODIFIED:
            return item.mtime or ""
        return self._text(item, column).casefold()

    # -- drag and drop ---------------------------------------------------------------------

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    def supportedDropActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction | Qt.DropAction.CopyAction

    def mimeTypes(self) -> list[str]:
        return [ITEM_IDS_MIME, URI_LIST_MIME]

    def mimeData(self, indexes) -> QMimeData:
        rows = sorted({index.row() for index in indexes if index.isValid()})
        mime = QMimeData()
        mime.setData(ITEM_IDS_MIME, json.dumps([self._items[r].id for r in rows]).encode())
        return mime

    def canDropMimeData(self, data: QMimeData, action, row: int, column: int, parent: Index):
        target = self._target_folder(parent)
        if data.hasFormat(ITEM_IDS_MIME):
            return target is not None and target.id not in self._dragged_ids(data)
        return any(url.isLocalFile() for url in data.urls())

    def dropMimeData(self, data: QMimeData, action, row: int, column: int, parent: Index) -> bool:
        if not self.canDropMimeData(data, action, row, column, parent):
            return False
        target = self._target_folder(parent)
        if data.hasFormat(ITEM_IDS_MIME):
            assert target is not None
            self.move_requested.emit(self._dragged_ids(data), target.id)
            return True
        paths = [url.toLocalFile() for url in data.urls() if url.isLocalFile()]
        self.upload_requested.emit(paths, target.id if target else None)
        return True

    def _target_folder(self, parent: Index) -> Item | None:
        if not parent.isValid():
            return None
        item = self._items[parent.row()]
        return item if item.is_folder else None

    @staticmethod
    def _dragged_ids(data: QMimeData) -> list[int]:
        try:
            ids = json.loads(bytes(data.data(ITEM_IDS_MIME).data()).decode())
        except ValueError:
            return []
        return [int(i) for i in ids if isinstance(i, int)]


class FileSortProxy(QSortFilterProxyModel):
    """Sorts by the clicked column, folders always before files."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setSortRole(FileTableModel.SortRole)
        self.setDynamicSortFilter(True)

    def lessThan(self, left: Index, right: Index) -> bool:
        a = left.data(FileTableModel.ItemRole)
        b = right.data(FileTableModel.ItemRole)
        if a.is_folder != b.is_folder:
            # Folders first whichever way the column is sorted.
            ascending = self.sortOrder() == Qt.SortOrder.AscendingOrder
            return a.is_folder if ascending else b.is_folder
        key_a, key_b = left.data(self.sortRole()), right.data(self.sortRole())
        if key_a == key_b:
            return a.name.casefold() < b.name.casefold()
        return key_a < key_b

    def item(self, index: Index) -> Item:
        return index.data(FileTableModel.ItemRole)
