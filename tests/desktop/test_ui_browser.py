"""The file browser against the real backend: folders, rename, move, delete, search, views."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QFileDialog, QLineEdit, QMessageBox

from desktop_app.api import ApiClient
from desktop_app.ui.file_model import FileTableModel
from desktop_app.ui.main_window import MainWindow
from desktop_app.ui.thumbnails import ThumbnailCache
from tests.support.corpus import CorpusFile

from .test_ui_stack import WAIT_MS, drop_on, names_in

PHOTO = "A/plasma-workspace-wallpapers/ColdRipple__contents__images__2560x1600.jpg"


def corpus_copy(corpus_files: list[CorpusFile], relpath: str, dest: Path, name: str) -> Path:
    source = next(f for f in corpus_files if f.relpath == relpath)
    dest.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copyfile(source.path, dest / name))


def upload(qtbot, window: MainWindow, *paths: Path) -> None:
    drop_on(window, *paths)
    for path in paths:
        qtbot.waitUntil(lambda p=path: p.name in names_in(window), timeout=WAIT_MS)


def reload(qtbot, window: MainWindow) -> None:
    with qtbot.waitSignal(window.folder_loaded, timeout=WAIT_MS):
        window.refresh()


def select(window: MainWindow, *names: str) -> None:
    ids = [item.id for item in window.files.items() if item.name in names]
    window.browser.select_ids(ids)
    assert sorted(item.name for item in window.browser.selected_items()) == sorted(names)


def press(qtbot, window: MainWindow, key: Qt.Key) -> None:
    view = window.browser.view
    view.setFocus()
    qtbot.keyClick(view, key)


def test_create_rename_with_f2_and_delete_with_confirmation(qtbot, window, monkeypatch):
    with qtbot.waitSignal(window.folder_loaded, timeout=WAIT_MS):
        window.actions.create_folder("Drafts")
    assert names_in(window) == ["Drafts"]

    select(window, "Drafts")
    press(qtbot, window, Qt.Key.Key_F2)
    editor = window.browser.table.findChild(QLineEdit)
    assert editor is not None and editor.text() == "Drafts"
    editor.selectAll()
    qtbot.keyClicks(editor, "Letters")
    with qtbot.waitSignal(window.folder_loaded, timeout=WAIT_MS):
        qtbot.keyClick(editor, Qt.Key.Key_Return)
    assert names_in(window) == ["Letters"]
    assert [i.name for i in window.api.list_folder()] == ["Letters"]

    asked: list[str] = []

    def answer(button):
        def question(_parent, _title, text, *args):
            asked.append(text)
            return button

        return question

    select(window, "Letters")
    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.No))
    press(qtbot, window, Qt.Key.Key_Delete)
    assert asked == ["Delete “Letters”? Folders are deleted with everything in them."]
    assert [i.name for i in window.api.list_folder()] == ["Letters"]

    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.Yes))
    with qtbot.waitSignal(window.folder_loaded, timeout=WAIT_MS):
        press(qtbot, window, Qt.Key.Key_Delete)
    assert names_in(window) == []
    assert window.api.list_folder() == []


def test_drag_files_onto_a_folder_moves_them(qtbot, window, tmp_path, corpus_files):
    photo = corpus_copy(corpus_files, PHOTO, tmp_path / "drop", "ripple.jpg")
    notes = tmp_path / "drop" / "notes.txt"
    notes.write_text("shopping list\n")
    upload(qtbot, window, photo, notes)
    window.actions.create_folder("Archive")
    qtbot.waitUntil(lambda: "Archive" in names_in(window), timeout=WAIT_MS)

    select(window, "ripple.jpg", "notes.txt")
    view = window.browser.table
    mime = window.browser.proxy.mimeData(view.selectionModel().selectedIndexes())
    target = window.browser.proxy_index_of(window.files.items()[0].id)
    assert window.browser.proxy.item(target).name == "Archive"
    point = view.visualRect(target).center()
    args = (
        Qt.DropAction.MoveAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    # Qt takes whole-pixel positions for drag enter and move, fractional ones for the drop.
    enter, move = QDragEnterEvent(point, *args), QDragMoveEvent(point, *args)
    drop = QDropEvent(QPointF(point), *args)
    QApplication.sendEvent(view.viewport(), enter)
    QApplication.sendEvent(view.viewport(), move)
    assert move.isAccepted()
    QApplication.sendEvent(view.viewport(), drop)
    assert drop.isAccepted()
    qtbot.waitUntil(lambda: names_in(window) == ["Archive"], timeout=WAIT_MS)

    press(qtbot, window, Qt.Key.Key_Home)
    with qtbot.waitSignal(window.folder_loaded, timeout=WAIT_MS):
        press(qtbot, window, Qt.Key.Key_Return)
    assert names_in(window) == ["notes.txt", "ripple.jpg"]
    assert window.browser.breadcrumbs.text() == "/Archive"
    with qtbot.waitSignal(window.folder_loaded, timeout=WAIT_MS):
        press(qtbot, window, Qt.Key.Key_Backspace)
    assert names_in(window) == ["Archive"]


def test_search_sorting_and_context_menu(qtbot, window, tmp_path):
    for name, size in (("Holiday b.txt", 3000), ("holiday a.txt", 10), ("tax.txt", 500)):
        (tmp_path / "drop").mkdir(exist_ok=True)
        (tmp_path / "drop" / name).write_bytes(b"x" * size)
    upload(qtbot, window, *sorted((tmp_path / "drop").iterdir()))
    window.actions.create_folder("Holidays")
    qtbot.waitUntil(lambda: "Holidays" in names_in(window), timeout=WAIT_MS)

    def shown() -> list[str]:
        proxy = window.browser.proxy
        return [proxy.item(proxy.index(r, 0)).name for r in range(proxy.rowCount())]

    assert shown() == ["Holidays", "holiday a.txt", "Holiday b.txt", "tax.txt"]
    window.browser.table.sortByColumn(FileTableModel.SIZE, Qt.SortOrder.DescendingOrder)
    assert shown() == ["Holidays", "Holiday b.txt", "tax.txt", "holiday a.txt"]

    window.actions.search_action.trigger()
    field = window.browser.search_field
    qtbot.keyClicks(field, "HOLIDAY")
    with qtbot.waitSignal(window.folder_loaded, timeout=WAIT_MS):
        qtbot.keyClick(field, Qt.Key.Key_Return)
    assert sorted(names_in(window)) == ["Holiday b.txt", "Holidays", "holiday a.txt"]
    assert window.browser.breadcrumbs.text() == "Search results for “HOLIDAY”"

    select(window, "Holiday b.txt")
    menu = [a.text() for a in window.actions.build_menu().actions() if a.text()]
    assert menu == ["Open", "Save as…", "Rename", "Delete"]
    select(window, "Holiday b.txt", "Holidays")
    assert [a.text() for a in window.actions.build_menu().actions() if a.text()] == [
        "Open",
        "Save as…",
        "Delete",
    ]
    window.browser.select_ids([])
    assert [a.text() for a in window.actions.build_menu().actions() if a.text()] == [
        "New folder",
        "Refresh",
    ]
    with qtbot.waitSignal(window.folder_loaded, timeout=WAIT_MS):
        press(qtbot, window, Qt.Key.Key_Backspace)  # leaves the search
    assert len(names_in(window)) == 4 and field.text() == ""


def test_grid_view_loads_thumbnails_lazily(qtbot, window, tmp_path, corpus_files):
    photo = corpus_copy(corpus_files, PHOTO, tmp_path / "drop", "ripple.jpg")
    sound = corpus_copy(
        corpus_files, "A/gnome-audio/sounds__email.wav", tmp_path / "drop", "email.wav"
    )
    upload(qtbot, window, photo, sound)
    thumbnails = window.browser.thumbnails
    sha = next(i.sha256 for i in window.files.items() if i.name == "ripple.jpg")
    window.browser.set_view(1)
    assert window.browser.view is window.browser.grid
    window.browser.grid.viewport().repaint()  # painting asks for the pictures
    qtbot.waitUntil(lambda: thumbnails.has(sha), timeout=WAIT_MS)
    row = next(r for r, i in enumerate(window.files.items()) if i.name == "ripple.jpg")
    icon = window.files.index(row, 0).data(Qt.ItemDataRole.DecorationRole)
    assert icon.availableSizes()[0].width() == 256
    sound_item = next(i for i in window.files.items() if i.name == "email.wav")
    assert thumbnails.icon(sound_item) is None and not thumbnails.busy


def test_save_as_streams_to_disk_with_progress(qtbot, window, tmp_path, corpus_files, monkeypatch):
    photo = corpus_copy(corpus_files, PHOTO, tmp_path / "drop", "ripple.jpg")
    upload(qtbot, window, photo)
    dest = tmp_path / "saved" / "copy.jpg"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(dest), ""))
    select(window, "ripple.jpg")
    seen: list[int] = []
    window.downloads.progress.connect(lambda _key, done, _total: seen.append(done))
    with qtbot.waitSignal(window.downloads.finished, timeout=WAIT_MS):
        window.actions.download_action.trigger()
        assert window.download_bar.isVisibleTo(window)
    assert dest.read_bytes() == photo.read_bytes()
    assert seen[-1] == photo.stat().st_size
    assert not window.download_bar.isVisibleTo(window)


@pytest.mark.parametrize("model_name", ["files", "proxy", "transfers"])
def test_models_pass_the_qt_model_tester(qtbot, qtmodeltester, window, tmp_path, model_name):
    for name in ("b.txt", "a.txt"):
        (tmp_path / "drop").mkdir(exist_ok=True)
        (tmp_path / "drop" / name).write_text(name)
    upload(qtbot, window, tmp_path / "drop" / "a.txt", tmp_path / "drop" / "b.txt")
    window.actions.create_folder("Folder")
    qtbot.waitUntil(lambda: "Folder" in names_in(window), timeout=WAIT_MS)
    model = {
        "files": window.files,
        "proxy": window.browser.proxy,
        "transfers": window.transfers,
    }[model_name]
    qtmodeltester.check(model, force_py=False)
    reload(qtbot, window)  # a reset while the tester watches


def test_thumbnails_are_asked_again_after_the_server_was_away(
    qtbot, stack, api, make_engine, tmp_path, corpus_files
):
    photo = corpus_copy(corpus_files, PHOTO, tmp_path / "up", "ripple.jpg")
    engine = make_engine().start()
    engine.add_file(photo)
    assert engine.wait_idle(60)
    item = api.get_item(engine.transfers()[0].file_id)
    thumbnails = ThumbnailCache(ApiClient(stack.base_url, stack.token, timeout=(3, 10)))

    stack.stop_backend()
    assert thumbnails.icon(item) is None
    qtbot.waitUntil(lambda: not thumbnails.busy, timeout=WAIT_MS)
    assert not thumbnails.has(item.sha256)

    stack.start_backend()
    with qtbot.waitSignal(thumbnails.ready, timeout=WAIT_MS) as ready:
        assert thumbnails.icon(item) is None
    assert ready.args == [item.sha256]
    assert thumbnails.icon(item) is not None
