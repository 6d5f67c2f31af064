"""API client pieces that need no server: addresses, item shapes, unreachable servers."""

from __future__ import annotations

import socket

import pytest

from desktop_app.api import ApiClient, Item, Usage, normalize_server_url
from desktop_app.errors import ServerUnreachable


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
        (" localhost:8080 ", "http://localhost:8080"),
        ("127.0.0.1:9000", "http://127.0.0.1:9000"),
        ("trove.example.org", "https://trove.example.org"),
        ("https://trove.example.org/base/", "https://trove.example.org/base"),
    ],
)
def test_server_addresses_are_normalised(given, expected):
    assert normalize_server_url(given) == expected


@pytest.mark.parametrize("bad", ["", "   ", "ftp://host", "http://"])
def test_bad_server_addresses_are_refused(bad):
    with pytest.raises(ValueError):
        normalize_server_url(bad)


def test_item_from_json_and_savings():
    item = Item.from_json(
        {
            "id": 5,
            "name": "a.jpg",
            "kind": "file",
            "parent": 2,
            "size": 1000,
            "sha256": "ab" * 32,
            "mtime": "2024-01-01T00:00:00Z",
            "state": "stored",
            "stored_size": 750,
            "codec": "lepton",
            "created": "2024-01-02T00:00:00Z",
            "future_field": True,
        }
    )
    assert (item.id, item.parent, item.is_folder, item.codec) == (5, 2, False, "lepton")
    assert item.saved_fraction == pytest.approx(0.25)
    folder = Item.from_json({"id": 1, "name": "f", "kind": "folder", "parent": None, "size": 0})
    assert folder.is_folder and folder.parent is None and folder.saved_fraction is None
    usage = Usage.from_json({"files": 2, "original_bytes": 1000, "stored_bytes": 400})
    assert (usage.saved_bytes, usage.saved_fraction) == (600, 0.6)
    assert Usage.from_json({}).saved_fraction == 0.0


def test_urls_resolve_against_the_server():
    api = ApiClient("http://127.0.0.1:1/")
    assert api.url("/api/v1/uploads/abc") == "http://127.0.0.1:1/api/v1/uploads/abc"
    assert api.url("http://elsewhere/x") == "http://elsewhere/x"


def test_unreachable_server_gives_a_readable_error():
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    api = ApiClient(f"http://127.0.0.1:{port}", timeout=(2, 2))
    with pytest.raises(ServerUnreachable) as caught:
        api.login("alice", "pw")
    assert str(caught.value).startswith(f"Cannot reach the Trove server at http://127.0.0.1:{port}")
    assert caught.value.code == "unreachable" and caught.value.status is None
