"""The API client against the real backend."""

from __future__ import annotations

import pytest

from desktop_app.api import ApiClient
from desktop_app.engine import UploadEngine
from desktop_app.errors import ApiError, NotTroveServer, ServerUnreachable
from desktop_app.store import QueueStore

from .conftest import sha256_of, write_random


def test_sign_in_me_and_sign_out(stack):
    api = ApiClient(stack.base_url)
    token = api.login(stack.username, stack.password)
    assert token and api.token == token
    assert api.me()["username"] == stack.username
    api.logout()
    assert api.token is None
    stale = ApiClient(stack.base_url, token)
    with pytest.raises(ApiError) as caught:
        stale.me()
    assert (caught.value.status, caught.value.code) == (401, "unauthorized")


def test_wrong_password_is_a_readable_error(stack):
    with pytest.raises(ApiError) as caught:
        ApiClient(stack.base_url).login(stack.username, "not the password")
    error = caught.value
    assert (error.status, error.code) == (401, "invalid_credentials")
    assert error.detail and error.detail.endswith(".")


def test_unreachable_server_is_a_readable_error(stack):
    api = ApiClient(stack.base_url, stack.token, timeout=(3, 3))
    stack.stop_backend()
    with pytest.raises(ServerUnreachable) as caught:
        api.list_folder()
    assert str(caught.value) == (
        f"Cannot reach the Trove server at {stack.base_url}. Check the address and your connection."
    )
    stack.start_backend()
    assert api.list_folder() == []


def test_something_that_is_not_trove_is_recognised(stack):
    with pytest.raises(NotTroveServer):
        ApiClient(stack.compressor_url).login("alice", "pw")


def test_folders_listing_pages_rename_move_delete(stack, api):
    parent = api.create_folder("Parent")
    names = [f"Folder {n}" for n in range(7)]
    for name in names:
        api.create_folder(name, parent.id)
    with pytest.raises(ApiError) as taken:
        api.create_folder("Folder 0", parent.id)
    assert taken.value.code == "name_taken"
    assert [i.name for i in api.iter_folder(parent.id, page_size=2)] == names

    moved = api.move(api.list_folder(parent.id)[0].id, None)
    assert moved.parent is None
    renamed = api.rename(moved.id, "Renamed")
    assert api.get_item(renamed.id).name == "Renamed"
    api.delete(parent.id)
    assert [i.name for i in api.list_folder()] == ["Renamed"]
    with pytest.raises(ApiError) as missing:
        api.get_item(parent.id)
    assert missing.value.code == "file_not_found"


def test_download_streams_with_progress_and_resumes_a_partial_file(stack, api, tmp_path):
    original = write_random(tmp_path / "upload" / "movie.bin", 3 * 1024 * 1024 + 5)
    store = QueueStore(tmp_path / "q.sqlite3")
    with UploadEngine(api, store) as engine:
        engine.add_file(original)
        assert engine.wait_idle(60)
        file_id = engine.transfers()[0].file_id
    store.close()

    dest = tmp_path / "down" / "movie.bin"
    dest.parent.mkdir()
    seen: list[tuple[int, int]] = []
    api.download(file_id, dest, progress=lambda d, t: seen.append((d, t)), chunk_size=256 * 1024)
    assert sha256_of(dest) == sha256_of(original)
    assert seen[-1] == (original.stat().st_size, original.stat().st_size)
    assert len(seen) > 10

    data = original.read_bytes()
    dest.unlink()
    part = dest.with_name("movie.bin.part")
    part.write_bytes(data[:1_000_000])
    resumed: list[tuple[int, int]] = []
    api.download(
        file_id,
        dest,
        progress=lambda d, t: resumed.append((d, t)),
        expected_sha256=sha256_of(original),
    )
    assert resumed[0][0] == 1_000_000
    assert dest.read_bytes() == data and not part.exists()


def test_download_of_a_missing_file_is_a_readable_error(stack, api, tmp_path):
    with pytest.raises(ApiError) as caught:
        api.download(999_999, tmp_path / "x")
    assert caught.value.code == "file_not_found"
    assert not (tmp_path / "x").exists()
