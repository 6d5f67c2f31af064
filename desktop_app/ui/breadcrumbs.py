"""A clickable path: Home > Photos > 2024."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget

from desktop_app.api import Item

SEPARATOR = "\u203a"  # single right-pointing angle quotation mark


class Breadcrumbs(QWidget):
    """One button per folder from the root down; clicking one opens it."""

    navigate = Signal(int)  # depth: 0 is the root, 1 its first folder, ...

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(4, 2, 4, 2)
        self._layout.setSpacing(2)
        self.buttons: list[QToolButton] = []
        self._text = ""
        self.set_path([])

    def set_path(self, path: list[Item], note: str = "") -> None:
        """Show `path` (folders from the root down); `note` replaces it, e.g. for search."""
        while self._layout.count():
            widget = self._layout.takeAt(0).widget()
            if widget is not None:
                widget.hide()
                widget.deleteLater()
        self.buttons = []
        if note:
            self._text = note
            self._layout.addWidget(QLabel(note))
            self._layout.addStretch()
            return
        names = ["Home", *(item.name for item in path)]
        for depth, name in enumerate(names):
            if depth:
                self._layout.addWidget(QLabel(SEPARATOR))
            if depth == len(names) - 1:
                current = QLabel(f"<b>{escape(name)}</b>")
                current.setContentsMargins(4, 0, 4, 0)
                self._layout.addWidget(current)
                break
            button = QToolButton(self)
            button.setText(name)
            button.setAutoRaise(True)
            button.clicked.connect(lambda _checked=False, d=depth: self.navigate.emit(d))
            self._layout.addWidget(button)
            self.buttons.append(button)
        self._layout.addStretch()
        self._text = "/" + "/".join(item.name for item in path)

    def text(self) -> str:
        """The path as ``/Photos/2024`` (or the note)."""
        return self._text
