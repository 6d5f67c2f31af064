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

    rename_requested = Signal(object, str)  # Item, new name
    move_requested = Signal(list, object)  # item ids, folder id
    upload_requested = Signal(list, object)  # local paths, folder id (None: current folder)

    def __init__(self, parent=None, thumbnails: ThumbnailCache | None = None) -> None:
        super().__init__(parent)
        self._items: list[Item] = []
        self._rows_by_sha: dict[str, list[int]] = {}  # rows showing each content hash
        self._sort_by: tuple[int, Qt.SortOrder] = (self.NAME, Qt.SortOrder.AscendingOrder)
        self._thumbnails = thumbnails
        if thumbnails is not None:
            thumbnails.ready.connect(self._thumbnail_ready)

    def set_items(self, items: list[Item]) -> None:
        self.beginResetModel()
        self._items = self._sorted(items)
        self._index_rows()
        self.endResetModel()

    def append_items(self, items: list[Item]) -> None:
        """Add the next page of a listing (then put every row in its sorted place)."""
        if not items:
            return
        first = len(self._items)
        self.beginInsertRows(QModelIndex(), first, first + len(items) - 1)
        self._items.extend(items)
        self._index_rows()
        self.endInsertRows()
        if self._sorted(self._items) != self._items:
            self.sort(*self._sort_by)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort by a column, folders first either way. Sorting runs on key functions: a
        per-pair comparison in Python takes seconds for a folder of 10,000 files."""
        self._sort_by = (column, order)
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        ids = [self._items[index.row()].id for index in persistent]
        self._items = self._sorted(self._items)
        rows = {item.id: row for row, item in enumerate(self._items)}
        self.changePersistentIndexList(
            persistent,
            [self.index(rows[i], index.column()) for i, index in zip(ids, persistent, strict=True)],
        )
        self._index_rows()
        self.layoutChanged.emit()

    def _sorted(self, items: list[Item]) -> list[Item]:
        column, order = self._sort_by
        ordered = sorted(items, key=lambda item: item.name.casefold())
        ordered.sort(
            key=lambda item: self._sort_key(item, column),
            reverse=order == Qt.SortOrder.DescendingOrder,
        )
        ordered.sort(key=lambda item: not item.is_folder)  # stable: folders first
        return ordered

    def _index_rows(self) -> None:
        self._rows_by_sha = {}
        for row, item in enumerate(self._items):
            if item.sha256:
                self._rows_by_sha.setdefault(item.sha256, []).append(row)

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
        for row in self._rows_by_sha.get(sha256, ()):
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
    """What the views show: the model in its own order, which sorting changes (the model
    sorts itself far faster than this proxy's per-pair comparisons would)."""

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        source = self.sourceModel()
        if isinstance(source, FileTableModel) and column >= 0:
            source.sort(column, order)

    def item(self, index: Index) -> Item:
        return index.data(FileTableModel.ItemRole)
