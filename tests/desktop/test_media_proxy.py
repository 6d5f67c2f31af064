"""The loopback relay the media player streams through, against the real backend."""

from __future__ import annotations

import contextlib
import hashlib
import shutil
from pathlib import Path

import pytest
import requests
import urllib3

from desktop_app.api import Item
from desktop_app.media_proxy import RELAY_CHUNK, MediaProxy
from tests.support.corpus import CorpusFile

VIDEO = "A/moviepy/medias__getting_started__moviepy_10_minutes__trailer_bbb.mp4"
AUDIO = "A/gnome-audio/sounds__startup3.wav"


def upload_corpus(
    make_engine, api, corpus_files: list[CorpusFile], folder: Path, picks: dict[str, str]
) -> dict[str, Item]:
    """Upload corpus files under the given names; their items by name."""
    folder.mkdir(parents=True, exist_ok=True)
    engine = make_engine().start()
    ids = {}
    for name, relpath in picks.items():
        source = next(f for f in corpus_files if f.relpath == relpath).path
        ids[name] = engine.add_file(shutil.copyfile(source, folder / name))
    assert engine.wait_idle(120)
    return {name: api.get_item(engine.get(tid).file_id) for name, tid in ids.items()}


@pytest.fixture
def video(make_engine, api, corpus_files, tmp_path) -> tuple[Item, bytes]:
    item = upload_corpus(make_engine, api, corpus_files, tmp_path / "up", {"bbb.mp4": VIDEO})
    data = next(f for f in corpus_files if f.relpath == VIDEO).path.read_bytes()
    return item["bbb.mp4"], data


@pytest.fixture
def proxy(api):
    relay = MediaProxy(api)
    yield relay
    relay.close()


def test_a_grant_streams_the_file_and_honours_ranges(proxy, video, stack):
    item, data = video
    url = proxy.grant(item.id)
    assert url.startswith("http://127.0.0.1:")
    assert stack.token not in url

    whole = requests.get(url, timeout=30)
    assert whole.status_code == 200
    assert hashlib.sha256(whole.content).hexdigest() == item.sha256
    assert whole.headers["Accept-Ranges"] == "bytes"
    assert whole.headers["Content-Type"] == "video/mp4"

    part = requests.get(url, headers={"Range": "bytes=4000000-4000999"}, timeout=30)
    assert part.status_code == 206
    assert part.content == data[4_000_000:4_001_000]
    assert part.headers["Content-Range"] == f"bytes 4000000-4000999/{len(data)}"

    tail = requests.get(url, headers={"Range": "bytes=-10"}, timeout=30)
    assert (tail.status_code, tail.content) == (206, data[-10:])

    head = requests.head(url, timeout=30)
    assert (head.status_code, head.headers["Content-Length"]) == (200, str(len(data)))


def test_only_granted_files_are_served(proxy, video):
    item, _data = video
    url = proxy.grant(item.id)
    base = url.rsplit("/", 1)[0]
    for wrong in (base + "/not-a-grant", f"http://127.0.0.1:{proxy.port}/", url + "/x"):
        assert requests.get(wrong, timeout=10).status_code == 404
    proxy.revoke_all()
    assert requests.get(url, timeout=10).status_code == 404


def test_backend_errors_reach_the_player_as_errors(proxy, video, stack):
    item, _data = video
    url = proxy.grant(item.id)
    beyond = requests.get(url, headers={"Range": "bytes=99999999-"}, timeout=10)
    assert beyond.status_code == 416
    stack.stop_backend()
    gone = requests.get(url, timeout=30)
    assert gone.status_code == 502
    assert "reach" in gone.text.lower() or "connect" in gone.text.lower()


def test_revoking_cuts_the_streams_in_flight(proxy, video):
    """The player's stop blocks the UI thread until its stream ends, so revoking must end
    it without the relay's help."""
    item, data = video
    with requests.get(proxy.grant(item.id), stream=True, timeout=30) as streaming:
        first = streaming.raw.read(RELAY_CHUNK)
        proxy.revoke_all()
        rest = b""
        with contextlib.suppress(urllib3.exceptions.HTTPError, OSError):
            rest = streaming.raw.read()  # the cut ends it early, or breaks it
    assert first == data[:RELAY_CHUNK]
    assert len(first) + len(rest) < len(data)
