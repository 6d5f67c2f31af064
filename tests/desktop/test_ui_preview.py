"""The preview window with real corpus files from the real backend."""

from __future__ import annotations

import shutil
from pathlib import Path

from PySide6.QtCore import Qt

from desktop_app.ui.preview import PreviewWindow
from desktop_app.ui.viewers import kind_of
from tests.support.corpus import CorpusFile

from .test_ui_browser import PHOTO, upload
from .test_ui_stack import WAIT_MS, names_in

FILES = {
    "a photo.jpg": PHOTO,
    "b animation.gif": "A/pillow/Tests__images__chi.gif",
    "c manual.pdf": "A/r-doc-pdf/R__doc__manual__R-FAQ.pdf",
    "e sound.wav": "A/gnome-audio/sounds__email.wav",
    "f letter.odt": "A/odfpy/tests__examples__headerfooter.odt",
}


def stage(corpus_files: list[CorpusFile], folder: Path) -> list[Path]:
    folder.mkdir(parents=True)
    paths = []
    for name, relpath in FILES.items():
        source = next(f for f in corpus_files if f.relpath == relpath).path
        paths.append(Path(shutil.copyfile(source, folder / name)))
    code = folder / "d code.py"
    shutil.copyfile(Path(__file__), code)  # a real source file as the text sample
    return [*paths, code]


def test_kinds_by_name():
    assert [kind_of(n) for n in ("x.JPG", "y.gif", "z.pdf", "w.py", "v.mp4", "u.odt")] == [
        "image",
        "gif",
        "pdf",
        "text",
        "media",
        "other",
    ]


def test_preview_shows_each_kind_and_steps_through_the_folder(
    qtbot, window, tmp_path, corpus_files
):
    upload(qtbot, window, *stage(corpus_files, tmp_path / "drop"))
    api = window.api
    qtbot.waitUntil(
        lambda: all(item.state == "stored" for item in api.list_folder()), timeout=WAIT_MS
    )
    with qtbot.waitSignal(window.folder_loaded, timeout=WAIT_MS):
        window.refresh()

    row = names_in(window).index("a photo.jpg")
    with qtbot.waitSignal(window.preview_opened, timeout=WAIT_MS) as opened:
        window.browser.activate(window.browser.proxy_index_of(window.files.item_at(row).id))
    preview: PreviewWindow = opened.args[0]
    qtbot.waitUntil(lambda: preview.kind == "image", timeout=WAIT_MS)
    assert preview.pages.currentWidget() is preview.image_view
    assert preview.image_view.image.size().width() == 2560
    label = preview.image_view.label
    assert label.width() <= preview.image_view.viewport().width()  # fitted to the window
    fitted = preview.image_view.displayed_scale()
    preview.image_view.zoom(2.0)
    assert abs(preview.image_view.displayed_scale() - 2 * fitted) < 0.01
    photo = preview.item
    assert preview.info["Size"].text() == "526.6 KB"
    assert preview.info["Codec"].text() == photo.codec
    assert preview.info["Saved"].text() == f"saved {photo.saved_fraction * 100:.0f} %"

    expected = [
        ("b animation.gif", "gif"),
        ("c manual.pdf", "pdf"),
        ("d code.py", "text"),
        ("e sound.wav", "media"),
        ("f letter.odt", "other"),
    ]
    for name, kind in expected:
        with qtbot.waitSignal(preview.loaded, timeout=WAIT_MS) as shown:
            qtbot.keyClick(preview, Qt.Key.Key_Right)
        assert (preview.item.name, shown.args[0]) == (name, kind)
        if kind == "gif":
            assert preview.image_view.movie is not None
            assert preview.image_view.movie.frameCount() == 31
        if kind == "pdf":
            assert preview.pdf_document.pageCount() > 10
        if kind == "text":
            assert "def test_preview_shows_each_kind" in preview.text_view.toPlainText()
        if kind == "media":
            assert preview.pages.currentWidget() is preview.media
            assert preview.media.duration > 0
    assert not preview.next_button.isEnabled()
    qtbot.keyClick(preview, Qt.Key.Key_Left)
    assert preview.item.name == "e sound.wav"
    preview.close()
