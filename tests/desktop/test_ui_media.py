"""Audio and video in the preview window, streamed from the real backend with seeking."""

from __future__ import annotations

import logging

import pytest

from desktop_app.ui import media_view
from desktop_app.ui.preview import PreviewWindow

from .test_media_proxy import AUDIO, VIDEO, upload_corpus

WAIT_MS = 60_000
BROKEN = "A/mutagen/tests__data__64bit.mp4"  # 85 bytes of an MP4 header, no media in it
needs_multimedia = pytest.mark.skipif(
    not media_view.multimedia_available(),
    reason="QtMultimedia cannot load: install installer/debian-packages.txt",
)


@pytest.fixture
def media_items(make_engine, api, corpus_files, tmp_path):
    picks = {"a startup.wav": AUDIO, "b trailer.mp4": VIDEO, "c broken.mp4": BROKEN}
    items = upload_corpus(make_engine, api, corpus_files, tmp_path / "up", picks)
    return [items[name] for name in sorted(items)]


def open_preview(qtbot, api, items, index: int = 0) -> PreviewWindow:
    preview = PreviewWindow(api, items, index)
    qtbot.addWidget(preview)
    preview.show()
    return preview


def seek_and_follow(qtbot, preview: PreviewWindow) -> None:
    media = preview.media
    assert media is not None
    target = media.duration // 2
    media.seek(target)
    qtbot.waitUntil(lambda: media.position >= target, timeout=WAIT_MS)
    assert media.slider.maximum() == media.duration
    qtbot.waitUntil(lambda: media.slider.value() >= target, timeout=WAIT_MS)
    assert media.clock.text().endswith(media_view.format_clock(media.duration))


@needs_multimedia
def test_audio_and_video_play_in_the_preview_and_seek(qtbot, api, media_items, caplog):
    caplog.set_level(logging.DEBUG, logger="desktop_app.media_proxy")
    preview = open_preview(qtbot, api, media_items)
    qtbot.waitUntil(lambda: preview.kind == "media", timeout=WAIT_MS)
    media = preview.media
    assert media is not None
    errors: list[str] = []
    media.failed.connect(errors.append)
    assert preview.pages.currentWidget() is media
    assert 4900 < media.duration < 5100  # the five-second start-up sound
    assert media.screen.currentWidget() is media.audio_label
    seek_and_follow(qtbot, preview)

    with qtbot.waitSignal(preview.loaded, timeout=WAIT_MS) as shown:
        preview.next()
    assert (shown.args, preview.item.name) == (["media"], "b trailer.mp4")
    assert 54_000 < media.duration < 56_000
    assert media.player.hasVideo()
    assert media.screen.currentWidget() is media.video
    seek_and_follow(qtbot, preview)
    assert errors == []
    # The player fetched byte ranges through the relay, not only whole files.
    assert any('" 206 ' in record.getMessage() for record in caplog.records)
    preview.close()


@needs_multimedia
def test_a_file_that_cannot_be_played_says_so_and_offers_the_system_player(qtbot, api, media_items):
    preview = open_preview(qtbot, api, media_items, index=2)
    qtbot.waitUntil(lambda: preview.kind == "error", timeout=WAIT_MS)
    assert preview.pages.currentWidget() is preview.external
    assert preview.external.label.text().startswith("This file cannot be played here")
    assert preview.external.button.text() == "Open with system player"
    # Stepping back to a good file plays it again.
    with qtbot.waitSignal(preview.loaded, timeout=WAIT_MS) as shown:
        preview.previous()
    assert shown.args == ["media"]
    assert preview.media is not None and preview.media.duration > 50_000
    preview.close()


def test_without_a_multimedia_backend_media_opens_in_the_system_player(
    qtbot, api, media_items, monkeypatch
):
    monkeypatch.setattr(media_view, "QMediaPlayer", None)  # as when QtMultimedia cannot load
    preview = open_preview(qtbot, api, media_items)
    qtbot.waitUntil(lambda: preview.kind == "media", timeout=WAIT_MS)
    assert preview.media is None
    assert preview.pages.currentWidget() is preview.external
    assert preview.external.button.text() == "Open with system player"
    preview.close()


def test_clock_format():
    assert [media_view.format_clock(ms) for ms in (0, 5012, 55_125, 3_725_000)] == [
        "0:00",
        "0:05",
        "0:55",
        "1:02:05",
    ]
