"""The transfer panel: every upload with progress, speed and time left, and its controls."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop_app.engine import TransferInfo, TransferState, UploadEngine
from desktop_app.transfers import FINISHED, PENDING
from desktop_app.ui.transfer_model import (
    EngineBridge,
    ProgressDelegate,
    TransferTableModel,
    format_duration,
)


class TransferPanel(QWidget):
    """Follows the engine; announces when a batch of uploads has finished."""

    transfer_done = Signal(object)  # TransferInfo of a finished upload
    batch_finished = Signal(int, int)  # uploaded, failed

    def __init__(self, engine: UploadEngine, parent=None) -> None:
        super().__init__(parent)
        self.engine = engine
        self.transfers = TransferTableModel(self)
        self.view = QTableView(self)
        self.view.setModel(self.transfers)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.verticalHeader().hide()
        self.view.setShowGrid(False)
        self.view.setAlternatingRowColors(True)
        self.view.setWordWrap(False)
        self.view.setItemDelegateForColumn(TransferTableModel.PROGRESS, ProgressDelegate(self.view))
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(TransferTableModel.NAME, QHeaderView.ResizeMode.Stretch)
        self.view.setColumnWidth(TransferTableModel.PROGRESS, 180)
        self.view.setColumnWidth(TransferTableModel.STATE, 220)
        self.view.selectionModel().selectionChanged.connect(self.update_buttons)

        self.summary = QLabel()
        self.pause_button = QPushButton("Pause", clicked=lambda: self._each(engine.pause))
        self.resume_button = QPushButton("Resume", clicked=lambda: self._each(engine.resume))
        self.cancel_button = QPushButton("Cancel", clicked=lambda: self._each(engine.cancel))
        self.retry_button = QPushButton("Retry", clicked=lambda: self._each(engine.retry))
        self.clear_button = QPushButton("Clear finished", clicked=engine.clear_finished)
        buttons = QHBoxLayout()
        buttons.addWidget(QLabel("<b>Transfers</b>"))
        buttons.addWidget(self.summary)
        buttons.addStretch()
        for button in (
            self.pause_button,
            self.resume_button,
            self.cancel_button,
            self.retry_button,
            self.clear_button,
        ):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(buttons)
        layout.addWidget(self.view)

        self._batch: dict[int, TransferState] = {}  # transfers seen since the last batch
        self.bridge = EngineBridge()
        queued = Qt.ConnectionType.QueuedConnection
        self.bridge.changed.connect(self.transfers.update_transfer, queued)
        self.bridge.changed.connect(self._changed, queued)
        self.bridge.removed.connect(self.transfers.remove_transfers, queued)
        self.transfers.set_transfers(engine.transfers())
        engine.add_listener(self.bridge)
        self.update_buttons()

    def detach(self) -> None:
        self.engine.remove_listener(self.bridge)

    def selected(self) -> list[TransferInfo]:
        rows = {index.row() for index in self.view.selectionModel().selectedRows()}
        return [self.transfers.transfer_at(row) for row in sorted(rows)]

    def _each(self, operation) -> None:
        for info in self.selected():
            operation(info.id)

    def _changed(self, info: TransferInfo) -> None:
        self._batch[info.id] = info.state
        if info.state is TransferState.DONE:
            self.transfer_done.emit(info)
        self.update_buttons()
        self._update_summary()
        states = self._batch.values()
        if not any(state in PENDING for state in states):
            uploaded = sum(state is TransferState.DONE for state in states)
            failed = sum(state is TransferState.FAILED for state in states)
            if uploaded or failed:
                self._batch.clear()
                self.batch_finished.emit(uploaded, failed)

    def _update_summary(self) -> None:
        rows = self.transfers.transfers()
        pending = [t for t in rows if t.state in PENDING]
        failed = sum(t.state is TransferState.FAILED for t in rows)
        parts = []
        if pending:
            speed = sum(t.speed for t in pending)
            parts.append(f"{len(pending)} to go")
            if speed > 0:
                left = sum(max(0, t.size - t.bytes_done) for t in pending) / speed
                parts.append(f"about {format_duration(left)} left")
        if failed:
            parts.append(f"{failed} failed")
        self.summary.setText(" · ".join(parts))

    def update_buttons(self, *_args: object) -> None:
        states = {t.state for t in self.selected()}
        self.pause_button.setEnabled(bool(states & PENDING))
        self.resume_button.setEnabled(TransferState.PAUSED in states)
        self.cancel_button.setEnabled(any(state not in FINISHED for state in states))
        self.retry_button.setEnabled(
            any(
                t.retryable and t.state in (TransferState.FAILED, TransferState.CANCELLED)
                for t in self.selected()
            )
        )
