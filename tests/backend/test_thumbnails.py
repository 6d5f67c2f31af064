"""Thumbnails made from real corpus images, served from staging (no compressor running)."""

from __future__ import annotations

import io
import logging
import shutil
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image, ImageStat

from backend import thumbnails
from backend.thumbnails import LazyReader
from tests.backend.conftest import upload_file
from tests.support.corpus import CorpusFile

PILLOW = "A/pillow/Tests__images__"


def corpus_file(corpus_files: list[CorpusFile], relpath: str) -> CorpusFile:
    return next(f for f in corpus_files if f.relpath == relpath)


def thumb(client: FlaskClient, auth: dict[str, str], file_id: int, size: int = 256):
    return client.get(f"/api/v1/files/{file_id}/thumbnail?size={size}", headers=auth)


def with_orientation(jpeg: bytes, orientation: int) -> bytes:
    """The same JPEG with its EXIF orientation tag (stored as 1) set to ``orientation``."""
    little = b"\x12\x01\x03\x00\x01\x00\x00\x00\x01\x00"
    big = b"\x01\x12\x00\x03\x00\x00\x00\x01\x00\x01"
    if little in jpeg:
        return jpeg.replace(little, little[:-2] + bytes([orientation, 0]), 1)
    assert big in jpeg
    return jpeg.replace(big, big[:-2] + bytes([0, orientation]), 1)


def test_camera_jpeg_gets_a_cached_jpeg_thumbnail(
    app: Flask, client: FlaskClient, alice: dict[str, str], corpus_files: list[CorpusFile]
) -> None:
    source = corpus_file(
        corpus_files, "A/plasma-workspace-wallpapers/ColdRipple__contents__images__2560x1600.jpg"
    )
    file_id = upload_file(client, alice, source.path.read_bytes(), "ripple.jpg")
    response = thumb(client, alice, file_id)
    assert response.status_code == 200
    assert response.mimetype == "image/jpeg"
    image = Image.open(io.BytesIO(response.data))
    assert (image.format, image.size) == ("JPEG", (256, 160))

    cache_dir = Path(app.extensions["trove"].config.data_dir) / "thumbnails"
    cached = cache_dir / source.sha256[:2] / f"{source.sha256}-256.jpg"
    assert cached.read_bytes() == response.data
    etag = response.headers["ETag"]
    again = client.get(
        f"/api/v1/files/{file_id}/thumbnail?size=256", headers={**alice, "If-None-Match": etag}
    )
    assert again.status_code == 304

    shutil.rmtree(cache_dir)  # a lost cache is rebuilt on demand
    small = thumb(client, alice, file_id, size=64)
    assert small.status_code == 200
    assert Image.open(io.BytesIO(small.data)).size == (64, 40)
    assert thumb(client, alice, file_id).data == response.data
    assert cached.exists()


def test_transparent_images_become_png(
    client: FlaskClient, alice: dict[str, str], corpus_files: list[CorpusFile]
) -> None:
    source = corpus_file(corpus_files, PILLOW + "transparent.png")
    file_id = upload_file(client, alice, source.path.read_bytes(), "transparent.png")
    response = thumb(client, alice, file_id, size=128)
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    image = Image.open(io.BytesIO(response.data))
    assert image.mode == "RGBA" and max(image.size) == 128


def test_exif_orientation_is_applied(
    client: FlaskClient, alice: dict[str, str], corpus_files: list[CorpusFile]
) -> None:
    flower = corpus_file(corpus_files, PILLOW + "flower.jpg").path.read_bytes()  # 480x360
    rotated = with_orientation(flower, 6)  # "rotate 90° clockwise to display"
    upright_id = upload_file(client, alice, flower, "flower.jpg")
    rotated_id = upload_file(client, alice, rotated, "flower rotated.jpg")
    assert Image.open(io.BytesIO(thumb(client, alice, upright_id).data)).size == (256, 192)
    assert Image.open(io.BytesIO(thumb(client, alice, rotated_id).data)).size == (192, 256)

    avif = corpus_file(corpus_files, PILLOW + "avif__rot1mir1.avif")  # 427x640, orientation 7
    avif_id = upload_file(client, alice, avif.path.read_bytes(), "rot1mir1.avif")
    assert Image.open(io.BytesIO(thumb(client, alice, avif_id).data)).size == (256, 171)


@pytest.mark.parametrize(
    ("relpath", "name", "reason"),
    [
        (PILLOW + "truncated_jpeg.jpg", "truncated.jpg", "truncated"),
        (PILLOW + "broken_data_stream.png", "broken.png", "cannot decode"),
        (PILLOW + "decompression_bomb.gif", "bomb.gif", "decompression bomb"),
        ("A/gnome-audio/sounds__email.wav", "email.wav", "not an image type"),
        ("A/gnome-audio/sounds__email.wav", "not really.jpg", "cannot identify"),
    ],
)
def test_files_without_a_thumbnail_answer_404_with_a_logged_reason(
    client: FlaskClient,
    alice: dict[str, str],
    corpus_files: list[CorpusFile],
    caplog: pytest.LogCaptureFixture,
    relpath: str,
    name: str,
    reason: str,
) -> None:
    file_id = upload_file(client, alice, corpus_file(corpus_files, relpath).path.read_bytes(), name)
    with caplog.at_level(logging.INFO, logger="backend.blueprints.thumbnails"):
        response = thumb(client, alice, file_id)
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.json["code"] == "no_thumbnail"
    assert response.json["detail"].endswith(".")
    assert any(
        reason in record.getMessage() and str(file_id) in record.getMessage()
        for record in caplog.records
    ), [record.getMessage() for record in caplog.records]


def test_sizes_folders_and_other_users(
    client: FlaskClient, alice: dict[str, str], make_user, corpus_files: list[CorpusFile]
) -> None:
    data = corpus_file(corpus_files, PILLOW + "hopper.jpg").path.read_bytes()
    file_id = upload_file(client, alice, data, "hopper.jpg")
    for bad in ("8", "5000", "big", "-1"):
        response = client.get(f"/api/v1/files/{file_id}/thumbnail?size={bad}", headers=alice)
        assert (response.status_code, response.json["code"]) == (400, "invalid_request")
    folder = client.post("/api/v1/folders", json={"name": "Photos", "parent": None}, headers=alice)
    response = thumb(client, alice, folder.json["id"])
    assert (response.status_code, response.json["code"]) == (404, "no_thumbnail")
    bob = make_user("bob")
    response = thumb(client, bob, file_id)
    assert (response.status_code, response.json["code"]) == (404, "file_not_found")
    assert thumb(client, {}, file_id).status_code == 401


def test_lazy_reader_pulls_only_what_the_decoder_reads(corpus_files: list[CorpusFile]) -> None:
    data = corpus_file(
        corpus_files, "A/plasma-workspace-wallpapers/Altai__contents__images__5120x2880.png"
    ).path.read_bytes()
    pulled: list[int] = []

    def chunks():
        for start in range(0, len(data), 64 * 1024):
            pulled.append(start)
            yield data[start : start + 64 * 1024]

    with LazyReader(chunks()) as reader:
        image = Image.open(reader)
        assert image.size == (5120, 2880)
        assert reader.fetched <= 128 * 1024 < len(data)
        image.load()
        assert reader.fetched == len(data)


MOVIEPY = "A/moviepy/"
TRAILER = MOVIEPY + "medias__getting_started__moviepy_10_minutes__trailer_bbb.mp4"
FILM = MOVIEPY + "moviepy_10_minutes.zip__moviepy_10_minutes__resources__bbb.mp4"


def test_videos_get_a_poster_frame_that_is_not_black(
    client: FlaskClient, alice: dict[str, str], corpus_files: list[CorpusFile]
) -> None:
    data = corpus_file(corpus_files, TRAILER).path.read_bytes()
    file_id = upload_file(client, alice, data, "trailer.mp4")
    response = thumb(client, alice, file_id)
    assert (response.status_code, response.mimetype) == (200, "image/jpeg")
    image = Image.open(io.BytesIO(response.data))
    assert image.size == (256, 144)  # 16:9, as the film
    # The trailer opens black; the poster is taken further in.
    assert ImageStat.Stat(image.convert("L")).mean[0] > thumbnails.DARK_LUMA


def test_a_poster_frame_reads_only_the_start_of_a_video(corpus_files: list[CorpusFile]) -> None:
    path = corpus_file(corpus_files, FILM).path
    size = path.stat().st_size

    def chunks():
        with path.open("rb") as source:
            while block := source.read(64 * 1024):
                yield block

    with LazyReader(chunks(), size=size) as reader:
        data, mimetype = thumbnails.render_video(reader, 128)
        assert reader.fetched < size / 10
    assert mimetype == "image/jpeg"
    assert Image.open(io.BytesIO(data)).size == (128, 72)


@pytest.mark.parametrize(
    ("relpath", "name"),
    [
        ("A/mutagen/tests__data__64bit.mp4", "header only.mp4"),
        ("A/gnome-audio/sounds__email.wav", "sound only.mp4"),
        ("A/r-doc-pdf/R__doc__manual__R-FAQ.pdf", "not a video.mkv"),
    ],
)
def test_videos_without_pictures_get_no_thumbnail(
    client: FlaskClient, alice: dict[str, str], corpus_files: list[CorpusFile], relpath, name
) -> None:
    file_id = upload_file(client, alice, corpus_file(corpus_files, relpath).path.read_bytes(), name)
    response = thumb(client, alice, file_id)
    assert (response.status_code, response.json["code"]) == (404, "no_thumbnail")


def test_without_a_video_decoder_videos_simply_have_no_thumbnail(
    client: FlaskClient,
    alice: dict[str, str],
    corpus_files: list[CorpusFile],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(thumbnails, "av", None)  # as when PyAV is not installed
    assert not thumbnails.may_have_thumbnail("trailer.mp4")
    data = corpus_file(corpus_files, TRAILER).path.read_bytes()
    file_id = upload_file(client, alice, data, "trailer.mp4")
    caplog.set_level(logging.INFO, logger="backend.blueprints.thumbnails")
    response = thumb(client, alice, file_id)
    assert (response.status_code, response.json["code"]) == (404, "no_thumbnail")
    assert "video poster frames are off: PyAV is not installed" in caplog.text
    with pytest.raises(thumbnails.NoThumbnail, match="PyAV is not installed"):
        thumbnails.render_video(io.BytesIO(data), 256)
    # The backend says so when it starts, with how to turn poster frames on.
    assert "video poster frames are off" in thumbnails.support()
    assert "TROVE_BACKEND_EXTRAS=video" in thumbnails.support()


def test_the_start_up_line_names_what_gets_thumbnails() -> None:
    line = thumbnails.support()
    assert line.startswith("thumbnails of images (HEIC/HEIF included)")
    assert "poster frames of videos (PyAV " in line


# --- Memory: one budget for every decode, no full-size copies, memory handed back --------
