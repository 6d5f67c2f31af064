"""Thumbnails and search through the API client, against the real compressor and backend."""

from __future__ import annotations

import io
import shutil

from PIL import Image

from desktop_app.api import ApiClient
from tests.support.corpus import CorpusFile

WALLPAPER = "A/plasma-workspace-wallpapers/Flow__contents__images__5120x2880.jpg"


def test_thumbnail_of_a_stored_file_streams_from_the_compressor(
    stack, api: ApiClient, make_engine, corpus_files: list[CorpusFile], qtbot
) -> None:
    source = next(f for f in corpus_files if f.relpath == WALLPAPER)
    wav = next(f for f in corpus_files if f.media_type == "audio/wav")
    engine = make_engine().start()
    engine.add_file(source.path)
    engine.add_file(wav.path)
    assert engine.wait_idle(120)
    ids = {t.name: t.file_id for t in engine.transfers()}
    photo_id = ids[source.path.name]
    qtbot.waitUntil(lambda: api.get_item(photo_id).state == "stored", timeout=120_000)
    shutil.rmtree(stack.data_dir / "thumbnails", ignore_errors=True)

    data = api.thumbnail(photo_id, 320)
    assert data is not None
    image = Image.open(io.BytesIO(data))
    assert (image.format, image.size) == ("JPEG", (320, 180))
    assert api.thumbnail(ids[wav.path.name]) is None

    found = api.search(source.path.name[:12].upper())
    assert [item.id for item in found] == [photo_id]


def test_the_app_asks_for_video_poster_frames(
    api: ApiClient, make_engine, corpus_files: list[CorpusFile], tmp_path
) -> None:
    from desktop_app.ui.thumbnails import may_have_thumbnail

    trailer = next(f for f in corpus_files if f.relpath.endswith("trailer_bbb.mp4"))
    engine = make_engine().start()
    engine.add_file(shutil.copyfile(trailer.path, tmp_path / "trailer.mp4"))
    assert engine.wait_idle(120)
    item = api.get_item(engine.transfers()[0].file_id)
    assert may_have_thumbnail(item)
    data = api.thumbnail(item.id)
    assert data is not None
    assert Image.open(io.BytesIO(data)).size == (256, 144)
