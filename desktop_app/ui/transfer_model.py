"""The upload queue as a Qt table model with progress-bar cells."""

from __future__ import annotations

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QApplication,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionProgressBar,
    QStyleOptionViewItem,
)

from desktop_app.engine import TransferInfo, TransferState
from desktop_app.formatting import format_percent, format_size, format_speed

Index = QModelIndex | QPersistentModelIndex

STATE_LABELS = {
    TransferState.QUEUED: "Waiting",
    TransferState.HASHING: "Checking",
    TransferState.UPLOADING: "Uploading",
    TransferState.PAUSED: "Paused",
    TransferState.DONE: "Done",
    TransferState.FAILED: "Failed",
    TransferState.CANCELLED: "Cancelled",
}


def format_duration(seconds: float | None) -> str:
    """``75`` → ``1 min 15 s``; empty when unknown."""
    if seconds is None:
        return ""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


class EngineBridge(QObject):
    """An engine listener that turns callbacks from worker threads into Qt signals."""

    changed = Signal(object)  # TransferInfo
    removed = Signal(object)  # list[int]

    def transfer_changed(self, info: TransferInfo) -> None:
        self.changed.emit(info)

    def transfers_removed(self, transfer_ids: list[int]) -> None:
        self.removed.emit(transfer_ids)


class TransferTableModel(QAbstractTableModel):
    NAME, PROGRESS, STATE, SPEED, ETA = range(5)
    HEADERS = ("Name", "Progress", "State", "Speed", "Time left")
    ProgressRole = Qt.ItemDataRole.UserRole + 1
    InfoRole = Qt.ItemDataRole.UserRole + 2

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._rows: list[TransferInfo] = []
        self._row_of: dict[int, int] = {}

    def set_transfers(self, transfers: list[TransferInfo]) -> None:
        self.beginResetModel()
        self._rows = sorted(transfers, key=lambda t: t.id)
        self._row_of = {t.id: row for row, t in enumerate(self._rows)}
        self.endResetModel()

    @Slot(object)
    def update_transfer(self, info: TransferInfo) -> None:
        row = self._row_of.get(info.id)
        if row is None:
            row = len(self._rows)
            self.beginInsertRows(QModelIndex(), row, row)
            self._rows.append(info)
            self._row_of[info.id] = row
            self.endInsertRows()
            return
        self._rows[row] = info
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(self.HEADERS) - 1))

    @Slot(object)
    def remove_transfers(self, transfer_ids: list[int]) -> None:
        gone = set(transfer_ids)
        if not gone & self._row_of.keys():
            return
        self.set_transfers([t for t in self._rows if t.id not in gone])

    def transfer_at(self, row: int) -> TransferInfo:
        return self._rows[row]

    def transfers(self) -> list[TransferInfo]:
        return list(self._rows)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        info = self._rows[index.row()]
        column = index.column()
        if role == self.InfoRole:
            return info
        if role == self.ProgressRole:
            return info.progress
        if role == Qt.ItemDataRole.DisplayRole:
            if column == self.NAME:
                return info.name
            if column == self.PROGRESS:
                return format_percent(info.progress)
            if column == self.STATE:
                label = STATE_LABELS[info.state]
                return f"{label}: {info.error}" if info.error else label
            if column == self.SPEED:
                if info.state is TransferState.UPLOADING:
                    return format_speed(info.speed)
                return format_size(info.size) if info.state is TransferState.DONE else ""
            if column == self.ETA:
                return format_duration(info.eta)
        if role == Qt.ItemDataRole.ToolTipRole:
            return info.error or info.note or info.path
        if role == Qt.ItemDataRole.ForegroundRole and info.state is TransferState.FAILED:
            return QBrush(QColor(180, 30, 30))
        return None


class ProgressDelegate(QStyledItemDelegate):
    """Paints the progress column as a progress bar."""

    def paint(self, painter, option: QStyleOptionViewItem, index: Index) -> None:
        fraction = index.data(TransferTableModel.ProgressRole)
        if fraction is None:
            super().paint(painter, option, index)
            return
        bar = QStyleOptionProgressBar()
        bar.rect = option.rect.adjusted(2, 3, -2, -3)
        bar.minimum = 0
        bar.maximum = 1000
        bar.progress = round(fraction * 1000)
        bar.text = index.data(Qt.ItemDataRole.DisplayRole)
        bar.textVisible = True
        bar.state = option.state
        style = option.widget.style() if option.widget else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter, option.widget)
