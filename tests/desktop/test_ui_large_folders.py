"""Big folders: listings shown page by page, thumbnails asked for only while rows are seen."""

from __future__ import annotations

import dataclasses
import shutil

import pytest
from PySide6.QtCore import Qt

from desktop_app.ui import browser as browser_module
from desktop_app.ui.file_model import FileTableModel
from desktop_app.ui.thumbnails import ThumbnailCache

from .test_ui_browser import reload
from .test_ui_stack import WAIT_MS, names_in

WALLPAPERS = "A/plasma-workspace-wallpapers/"


@pytest.fixture
def photos(make_engine, api, corpus_files, tmp_path):
    """Six different corpus photos on the server, smallest first."""
    picks = sorted(
        (f for f in corpus_files if f.relpath.startswith(WALLPAPERS) and f.path.suffix == ".jpg"),
        key=lambda f: f.size,
    )[:6]
    folder = tmp_path / "photos"
    folder.mkdir()
    engine = make_engine().start()
    ids = [
        engine.add_file(shutil.copyfile(f.path, folder / f"{i} {f.path.name}"))
        for i, f in enumerate(picks)
    ]
    assert engine.wait_idle(120)
    return [api.get_item(engine.get(i).file_id) for i in ids]


def test_a_big_folder_shows_its_first_page_at_once_and_grows(
    qtbot, qtmodeltester, window, monkeypatch
):
    monkeypatch.setattr(browser_module, "FIRST_PAGE", 5)
    monkeypatch.setattr(browser_module, "NEXT_PAGE", 10)
    api = window.api
    big = api.create_folder("Big")
    names = [f"folder {n:02d}" for n in range(23)]
    for name in names:
        api.create_folder(name, big.id)
    reload(qtbot, window)
    qtmodeltester.check(window.files, force_py=False)  # watches every change below

    seen: list[tuple[str, int]] = []
    files = window.files
    files.modelReset.connect(lambda: seen.append(("reset", files.rowCount())))
    files.rowsInserted.connect(lambda _p, first, last: seen.append(("insert", last - first + 1)))
    with qtbot.waitSignal(window.folder_loaded, timeout=WAIT_MS):
        window.open_folder(next(i for i in files.items() if i.name == "Big"))
    assert seen == [("reset", 0), ("reset", 5), ("insert", 10), ("insert", 8)]
    assert names_in(window) == names

    # Reloading a folder on show replaces it in one go: the view never shrinks meanwhile.
    seen.clear()
    reload(qtbot, window)
    assert seen == [("reset", 23)]
    assert names_in(window) == names


def test_thumbnails_scrolled_past_are_not_fetched(qtbot, api, photos):
    thumbnails = ThumbnailCache(api, workers=1, max_queued=2)
    for item in photos:  # painted one after another, as while scrolling
        assert thumbnails.icon(item) is None
    assert thumbnails.queued == 2
    qtbot.waitUntil(lambda: not thumbnails.busy, timeout=WAIT_MS)
    # The first was already on its way; of the rest only the two painted last were asked for.
    assert [thumbnails.has(p.sha256) for p in photos] == [True, False, False, False, True, True]
    assert thumbnails.fetched == 3
    # A row scrolled back into view is asked for again.
    with qtbot.waitSignal(thumbnails.ready, timeout=WAIT_MS) as ready:
        assert thumbnails.icon(photos[2]) is None
    assert ready.args == [photos[2].sha256]
    assert thumbnails.icon(photos[2]) is not None


def test_thumbnails_held_in_memory_are_bounded(qtbot, api, photos):
    thumbnails = ThumbnailCache(api, workers=1, max_bytes=250_000)  # one 256 x 160 picture
    for item in photos[:3]:
        with qtbot.waitSignal(thumbnails.ready, timeout=WAIT_MS):
            thumbnails.icon(item)
    assert 0 < thumbnails.held_bytes <= 250_000
    assert [thumbnails.has(p.sha256) for p in photos[:3]] == [False, False, True]


def test_every_row_showing_a_picture_is_repainted_when_it_arrives(qtbot, api, photos):
    thumbnails = ThumbnailCache(api)
    model = FileTableModel(thumbnails=thumbnails)
    copy = dataclasses.replace(photos[0], id=10**6, name="copy.jpg")  # same content
    model.set_items(photos[:2])
    model.append_items([copy])
    changed: list[int] = []
    model.dataChanged.connect(lambda top, _bottom, _roles: changed.append(top.row()))
    with qtbot.waitSignal(thumbnails.ready, timeout=WAIT_MS):
        model.index(0, 0).data(Qt.ItemDataRole.DecorationRole)
    assert sorted(changed) == [0, 2]
