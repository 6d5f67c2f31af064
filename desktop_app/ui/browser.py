"""The file browser: breadcrumbs, search, and the current folder as a list or a grid."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QModelIndex, QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QListView,
    QStackedWidget,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.api import ApiClient, Item
from desktop_app.ui.breadcrumbs import Breadcrumbs
from desktop_app.ui.file_model import FileSortProxy, FileTableModel
from desktop_app.ui.tasks import TaskRunner
from desktop_app.ui.thumbnails import ThumbnailCache

GRID_ICON = 128
LIST_ICON = 24
FIRST_PAGE = 200  # items shown as soon as a folder opens
NEXT_PAGE = 1000  # items a page once the view is up


class FileBrowser(QWidget):
    """Shows one folder (or search results); the views share one sorted model."""

    folder_loaded = Signal()
    open_file_requested = Signal(object)  # Item
    failed = Signal(object)  # Exception
    delete_pressed = Signal()
    context_menu_requested = Signal(object)  # global QPoint

    def __init__(self, api: ApiClient, parent=None) -> None:
        super().__init__(parent)
        self.api = api
        self.tasks = TaskRunner(self)
        self.thumbnails = ThumbnailCache(api, parent=self)
        self.path: list[Item] = []  # folders from the root down to the current one
        self.query = ""
        self._generation = 0

        self.files = FileTableModel(self, self.thumbnails)
        self.proxy = FileSortProxy(self)
        self.proxy.setSourceModel(self.files)

        self.breadcrumbs = Breadcrumbs(self)
        self.breadcrumbs.navigate.connect(self.go_to_depth)
        self.search_field = QLineEdit(self)
        self.search_field.setPlaceholderText("Search all files (Ctrl+F)")
        self.search_field.setClearButtonEnabled(True)
        self.search_field.setMaximumWidth(280)
        self._search_timer = QTimer(self, singleShot=True, interval=250)
        self._search_timer.timeout.connect(lambda: self.search(self.search_field.text()))
        self.search_field.textEdited.connect(lambda _text: self._search_timer.start())
        self.search_field.returnPressed.connect(lambda: self.search(self.search_field.text()))

        self.table = self._make_table()
        self.grid = self._make_grid()
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.table)
        self.stack.addWidget(self.grid)
        self.list_button = self._mode_button("List", 0)
        self.grid_button = self._mode_button("Grid", 1)
        self.list_button.setChecked(True)

        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.breadcrumbs, 1)
        bar.addWidget(self.search_field)
        bar.addWidget(self.list_button)
        bar.addWidget(self.grid_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.stack)

    # -- views ---------------------------------------------------------------------------------

    def _setup_view(self, view: QAbstractItemView) -> None:
        view.setModel(self.proxy)
        view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        view.setDragEnabled(True)
        view.setAcceptDrops(True)
        view.setDropIndicatorShown(True)
        view.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        view.setDefaultDropAction(Qt.DropAction.MoveAction)
        view.doubleClicked.connect(self.activate)
        view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        view.customContextMenuRequested.connect(
            lambda pos, v=view: self.context_menu_requested.emit(v.viewport().mapToGlobal(pos))
        )
        view.installEventFilter(self)

    def _make_table(self) -> QTableView:
        table = QTableView(self)
        self._setup_view(table)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.verticalHeader().hide()
        table.setShowGrid(False)
        table.setAlternatingRowColors(True)
        table.setIconSize(QSize(LIST_ICON, LIST_ICON))
        table.setSortingEnabled(True)
        table.sortByColumn(FileTableModel.NAME, Qt.SortOrder.AscendingOrder)
        header = table.horizontalHeader()
        header.setSectionResizeMode(FileTableModel.NAME, QHeaderView.ResizeMode.Stretch)
        for column, width in (
            (FileTableModel.SIZE, 90),
            (FileTableModel.STATE, 100),
            (FileTableModel.SAVED, 170),
            (FileTableModel.MODIFIED, 140),
        ):
            table.setColumnWidth(column, width)
        return table

    def _make_grid(self) -> QListView:
        grid = QListView(self)
        self._setup_view(grid)
        grid.setViewMode(QListView.ViewMode.IconMode)
        grid.setMovement(QListView.Movement.Static)  # drops move files into folders, not icons
        grid.setResizeMode(QListView.ResizeMode.Adjust)
        grid.setIconSize(QSize(GRID_ICON, GRID_ICON))
        grid.setGridSize(QSize(GRID_ICON + 40, GRID_ICON + 44))
        grid.setWordWrap(True)
        grid.setUniformItemSizes(True)
        grid.setSelectionRectVisible(True)
        return grid

    def _mode_button(self, text: str, page: int) -> QToolButton:
        button = QToolButton(self)
        button.setText(text)
        button.setCheckable(True)
        button.setAutoExclusive(True)
        button.clicked.connect(lambda: self.set_view(page))
        return button

    @property
    def view(self) -> QAbstractItemView:
        """The visible view."""
        return self.grid if self.stack.currentIndex() == 1 else self.table

    def set_view(self, page: int) -> None:
        """0: the detailed list; 1: the thumbnail grid. Selection carries over."""
        selected = self.selected_items()
        self.stack.setCurrentIndex(page)
        (self.grid_button if page else self.list_button).setChecked(True)
        self.select_ids([item.id for item in selected])

    # -- navigation ----------------------------------------------------------------------------

    @property
    def current_folder(self) -> int | None:
        return self.path[-1].id if self.path else None

    def refresh(self) -> None:
        """Reload the current folder (or repeat the search) in the background.

        A folder opened afresh shows its first page at once and grows as the next pages
        arrive; a folder already shown is replaced only once its whole listing is in, so
        the view does not shrink and jump while it reloads.
        """
        self._generation += 1
        generation, folder, query = self._generation, self.current_folder, self.query
        if query:
            self.breadcrumbs.set_path(self.path, f"Search results for “{query}”")
            self.tasks.run(
                lambda: self.api.search(query),
                lambda items: self._loaded(generation, items),
                self.failed.emit,
            )
            return
        self.breadcrumbs.set_path(self.path)
        progressive = self.files.rowCount() == 0
        self._fetch_page(generation, folder, None, [] if not progressive else None)

    def _fetch_page(
        self, generation: int, folder: int | None, cursor: str | None, kept: list[Item] | None
    ) -> None:
        """Ask for one page; ``kept`` collects pages for a reload (None: show as they come)."""
        limit = FIRST_PAGE if cursor is None else NEXT_PAGE
        self.tasks.run(
            lambda: self.api.folder_page(folder, cursor, limit=limit),
            lambda page: self._page_loaded(generation, folder, cursor is None, kept, *page),
            self.failed.emit,
        )

    def _page_loaded(
        self,
        generation: int,
        folder: int | None,
        first: bool,
        kept: list[Item] | None,
        items: list[Item],
        cursor: str | None,
    ) -> None:
        if generation != self._generation:
            return  # the user moved on meanwhile
        if kept is not None:
            kept.extend(items)
        elif first:
            self.files.set_items(items)
        else:
            self.files.append_items(items)
        if cursor:
            self._fetch_page(generation, folder, cursor, kept)
        elif kept is not None:
            self._loaded(generation, kept)
        else:
            self.folder_loaded.emit()

    def _loaded(self, generation: int, items: list[Item]) -> None:
        if generation != self._generation:
            return  # the user moved on meanwhile
        selected = [item.id for item in self.selected_items()]
        self.files.set_items(items)
        self.select_ids(selected)
        self.folder_loaded.emit()

    def _go(self, path: list[Item]) -> None:
        self.path = path
        self.query = ""
        self.search_field.clear()
        self.files.set_items([])
        self.refresh()

    def open_folder(self, item: Item) -> None:
        # From search results the folder's own ancestry is unknown: show it below Home.
        self._go([*self.path, item] if not self.query else [item])

    def go_up(self) -> None:
        if self.query:
            self._go(self.path)
        elif self.path:
            self._go(self.path[:-1])

    def go_to_depth(self, depth: int) -> None:
        self._go(self.path[:depth])

    def search(self, text: str) -> None:
        text = text.strip()
        if text == self.query:
            return
        self.query = text
        self.refresh()

    def focus_search(self) -> None:
        self.search_field.setFocus()
        self.search_field.selectAll()

    def activate(self, index: QModelIndex) -> None:
        if not index.isValid():
            return
        item = self.proxy.item(index)
        if item.is_folder:
            self.open_folder(item)
        else:
            self.open_file_requested.emit(item)

    # -- selection -----------------------------------------------------------------------------

    def selected_items(self) -> list[Item]:
        model = self.view.selectionModel()
        rows = {index.row() for index in model.selectedIndexes()}
        return [self.proxy.item(self.proxy.index(row, 0)) for row in sorted(rows)]

    def select_ids(self, ids: list[int]) -> None:
        wanted = set(ids)
        view = self.view
        model = view.selectionModel()
        model.clearSelection()
        if not wanted:
            return
        flags = model.SelectionFlag.Select | model.SelectionFlag.Rows
        for row in range(self.proxy.rowCount()):
            index = self.proxy.index(row, 0)
            if self.proxy.item(index).id in wanted:
                model.select(index, flags)
                if len(wanted) == 1:
                    model.setCurrentIndex(index, model.SelectionFlag.NoUpdate)

    def proxy_index_of(self, item_id: int, column: int = 0) -> QModelIndex:
        row = self.files.row_of(item_id)
        if row is None:
            return QModelIndex()
        return self.proxy.mapFromSource(self.files.index(row, column))

    def visible_files(self) -> list[Item]:
        """Files in display order (for previous/next in the preview)."""
        items = [self.proxy.item(self.proxy.index(row, 0)) for row in range(self.proxy.rowCount())]
        return [item for item in items if not item.is_folder]

    def edit_current(self) -> None:
        """Start renaming the current item in place (F2)."""
        index = self.view.currentIndex()
        if not index.isValid() and self.selected_items():
            index = self.proxy_index_of(self.selected_items()[0].id)
        if index.isValid():
            index = index.siblingAtColumn(FileTableModel.NAME)
            self.view.setCurrentIndex(index)
            self.view.edit(index)

    # -- keys ----------------------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress and watched in (self.table, self.grid):
            assert isinstance(event, QKeyEvent)
            if watched.state() == QAbstractItemView.State.EditingState:
                return False
            key = event.key()
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.activate(watched.currentIndex())
                return True
            if key == Qt.Key.Key_Backspace:
                self.go_up()
                return True
            if key == Qt.Key.Key_F2:
                self.edit_current()
                return True
            if key == Qt.Key.Key_Delete:
                self.delete_pressed.emit()
                return True
        return super().eventFilter(watched, event)
