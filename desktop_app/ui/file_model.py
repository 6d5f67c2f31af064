"""The current folder's items as a Qt table model."""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import QApplication, QStyle

from desktop_app.api import Item
from desktop_app.formatting import format_saved, format_size, format_timestamp

Index = QModelIndex | QPersistentModelIndex

STATE_LABELS = {"processing": "Processing", "stored": "Stored"}


class FileTableModel(QAbstractTableModel):
    NAME, SIZE, STATE, SAVED, MODIFIED = range(5)
    HEADERS = ("Name", "Size", "State", "Saved", "Modified")
    ItemRole = Qt.ItemDataRole.UserRole + 1

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._items: list[Item] = []

    def set_items(self, items: list[Item]) -> None:
        self.beginResetModel()
        self._items = list(items)
        self.endResetModel()

    def items(self) -> list[Item]:
        return list(self._items)

    def item_at(self, row: int) -> Item:
        return self._items[row]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._items)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        item = self._items[index.row()]
        column = index.column()
        if role == self.ItemRole:
            return item
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(item, column)
        if role == Qt.ItemDataRole.DecorationRole and column == self.NAME:
            icon = (
                QStyle.StandardPixmap.SP_DirIcon
                if item.is_folder
                else QStyle.StandardPixmap.SP_FileIcon
            )
            return QApplication.style().standardIcon(icon)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (self.SIZE, self.SAVED):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole and column == self.SAVED and item.stored_size:
            return f"{format_size(item.stored_size)} on the server"
        return None

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
