"""The upload engine against the real backend and compressor."""

from __future__ import annotations

import threading
import time

import pytest

from desktop_app.engine_work import RESTARTED_NOTE
from desktop_app.errors import ApiError
from desktop_app.transfers import TransferState
from desktop_app.tus import TusClient
from tests.faults.conftest import wait_until

from .conftest import Recorder, remote_tree, sha256_of, write_random

CHUNK = 64 * 1024


def _wait_done(engine, timeout=120):
    assert engine.wait_idle(timeout), "uploads did not finish in time"
    return {t.path: t for t in engine.transfers()}


def test_uploads_files_and_a_nested_folder_byte_exact(stack, api, make_engine, tmp_path):
    local = tmp_path / "local"
    loose = write_random(local / "loose.bin", 300_000)
    empty = local / "empty.txt"
    empty.touch()
    album = local / "Album"
    write_random(album / "cover.jpg", 5_000)
    write_random(album / "2023" / "Größe Ünïcode.dat", 200_000)
    (album / "2023" / "notes.txt").write_text("hello\n" * 10_000)
    (album / "nothing here").mkdir()

    engine = make_engine(chunk_size=CHUNK, workers=3).start()
    ids = engine.add_paths([loose, empty, album])
    assert len(ids) == 5
    transfers = _wait_done(engine)
    assert {t.state for t in transfers.values()} == {TransferState.DONE}
    assert all(t.file_id for t in transfers.values())

    tree = remote_tree(api)
    assert set(tree) == {
        "loose.bin",
        "empty.txt",
        "Album",
        "Album/cover.jpg",
        "Album/2023",
        "Album/2023/Größe Ünïcode.dat",
        "Album/2023/notes.txt",
        "Album/nothing here",
    }
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    for name, item in tree.items():
        if item.is_folder:
            continue
        original = local / name
        assert item.size == original.stat().st_size
        assert item.sha256 == sha256_of(original)
        got = api.download(item.id, downloads / item.name, expected_sha256=item.sha256)
        assert sha256_of(got) == sha256_of(original), name
        assert not (downloads / (item.name + ".part")).exists()
    usage = api.usage()
    assert usage.files == 5
    assert usage.original_bytes == sum(
        (local / n).stat().st_size for n, i in tree.items() if not i.is_folder
    )


def test_dropping_a_folder_again_reuses_the_remote_folder(stack, api, make_engine, tmp_path):
    album = tmp_path / "Album"
    write_random(album / "a.bin", 1000)
    engine = make_engine().start()
    engine.add_paths([album])
    _wait_done(engine)
    engine.add_paths([album])
    _wait_done(engine)
    tree = remote_tree(api)
    assert [name for name in tree if "/" not in name] == ["Album"]
    assert sorted(n for n in tree if n.startswith("Album/")) == ["Album/a (1).bin", "Album/a.bin"]


def test_pause_and_resume(stack, api, make_engine, tmp_path):
    big = write_random(tmp_path / "big.bin", 4 * 1024 * 1024)
    engine = make_engine(chunk_size=CHUNK)
    recorder = Recorder()
    engine.add_listener(recorder)

    def pause_midway(info):
        if info.state is TransferState.UPLOADING and info.bytes_done >= 1024 * 1024:
            recorder.hooks.clear()
            engine.pause(info.id)

    recorder.hooks.append(pause_midway)
    engine.start()
    transfer_id = engine.add_file(big)
    assert recorder.wait_for(lambda i: i.state is TransferState.PAUSED)
    assert engine.wait_idle(10)
    paused = engine.get(transfer_id)
    assert paused.state is TransferState.PAUSED
    assert 0 < paused.bytes_done < big.stat().st_size
    time.sleep(0.3)
    assert engine.get(transfer_id).bytes_done == paused.bytes_done  # nothing moves
    assert api.list_folder() == []

    engine.resume(transfer_id)
    transfers = _wait_done(engine)
    done = transfers[str(big)]
    assert done.state is TransferState.DONE
    resumed = [
        e.bytes_done
        for e in recorder.events
        if e.state is TransferState.UPLOADING and e.id == transfer_id
    ]
    after_pause = resumed[resumed.index(paused.bytes_done) :]
    assert min(after_pause) >= paused.bytes_done - CHUNK  # carried on, did not start over
    item = api.get_item(done.file_id)
    assert item.sha256 == sha256_of(big)


def test_restarted_client_resumes_where_the_server_says(stack, api, make_engine, tmp_path):
    big = write_random(tmp_path / "big.bin", 3 * 1024 * 1024)
    first = make_engine(chunk_size=CHUNK)
    recorder = Recorder()
    first.add_listener(recorder)
    stopped = []

    def quit_midway(info):
        if info.bytes_done >= 1024 * 1024 and not stopped:
            stopped.append(info)
            first.pause(info.id)

    recorder.hooks.append(quit_midway)
    first.start()
    transfer_id = first.add_file(big)
    assert recorder.wait_for(lambda i: i.state is TransferState.PAUSED)
    first.shutdown()
    record = first.store.get(transfer_id)
    assert record.upload_url and record.sha256 == sha256_of(big)
    server_offset = TusClient(api).offset(record.upload_url)
    assert 0 < server_offset < big.stat().st_size

    second = make_engine(chunk_size=CHUNK)
    second_events = Recorder()
    second.add_listener(second_events)
    assert second.get(transfer_id).state is TransferState.PAUSED
    second.start()
    second.resume(transfer_id)
    transfers = _wait_done(second)
    assert transfers[str(big)].state is TransferState.DONE
    offsets = [e.bytes_done for e in second_events.events if e.state is TransferState.UPLOADING]
    assert offsets and min(offsets) >= server_offset  # no byte was sent twice
    assert TransferState.HASHING not in {e.state for e in second_events.events}  # hash kept
    assert api.get_item(transfers[str(big)].file_id).sha256 == sha256_of(big)


def test_backend_restart_mid_upload_is_survived(stack, api, make_engine, tmp_path):
    big = write_random(tmp_path / "big.bin", 3 * 1024 * 1024)
    engine = make_engine(chunk_size=CHUNK)
    recorder = Recorder()
    engine.add_listener(recorder)
    killed = []
    released = []

    def stop_backend_midway(info):
        if info.bytes_done >= 512 * 1024 + CHUNK // 2 and not killed:
            killed.append(info.bytes_done)
            # The client pauses in this hook, in the middle of a chunk: once the server
            # holds the upload's lock, stop it (SIGTERM) with that body in flight.
            wait_until(lambda: stack.held_upload_locks() > 0, 10, "the server to lock it")
            stack.stop_backend()
            # Stopping cut the body short and let go of the lock: no wait on restart.
            released.append(stack.held_upload_locks() == 0)

    recorder.hooks.append(stop_backend_midway)
    engine.start()
    engine.add_file(big)
    assert recorder.wait_for(lambda i: bool(killed), timeout=60)
    time.sleep(1.0)  # the engine retries against a dead server meanwhile
    stack.start_backend()
    transfers = _wait_done(engine)
    done = transfers[str(big)]
    assert done.state is TransferState.DONE, done.error
    assert released == [True]
    assert api.get_item(done.file_id).sha256 == sha256_of(big)


def test_forgotten_upload_restarts_from_zero(stack, api, make_engine, tmp_path):
    big = write_random(tmp_path / "big.bin", 1024 * 1024)
    first = make_engine(chunk_size=CHUNK)
    recorder = Recorder()
    first.add_listener(recorder)
    recorder.hooks.append(
        lambda info: first.pause(info.id) if info.bytes_done >= 256 * 1024 else None
    )
    first.start()
    transfer_id = first.add_file(big)
    assert recorder.wait_for(lambda i: i.state is TransferState.PAUSED)
    first.shutdown()
    old_url = first.store.get(transfer_id).upload_url
    TusClient(api).terminate(old_url)  # the server forgets it, as after expiry

    second = make_engine(chunk_size=CHUNK).start()
    assert second.get(transfer_id).note is None
    second.resume(transfer_id)
    done = _wait_done(second)[str(big)]
    assert done.state is TransferState.DONE, done.error
    assert api.get_item(done.file_id).sha256 == sha256_of(big)
    assert done.note == RESTARTED_NOTE  # the user is told it started again
    assert second.store.get(transfer_id).note == RESTARTED_NOTE


def test_cancel_drops_the_upload_on_the_server(stack, api, make_engine, tmp_path):
    big = write_random(tmp_path / "big.bin", 2 * 1024 * 1024)
    engine = make_engine(chunk_size=CHUNK)
    recorder = Recorder()
    engine.add_listener(recorder)
    urls = []

    def cancel_midway(info):
        if info.bytes_done >= 256 * 1024 and not urls:
            urls.append(engine.store.get(info.id).upload_url)
            engine.cancel(info.id)

    recorder.hooks.append(cancel_midway)
    engine.start()
    transfer_id = engine.add_file(big)
    assert recorder.wait_for(lambda i: i.state is TransferState.CANCELLED)
    assert engine.wait_idle(10)
    assert engine.store.get(transfer_id).upload_url is None
    with pytest.raises(ApiError) as gone:
        TusClient(api).offset(urls[0])
    assert gone.value.status in (404, 410)
    assert api.list_folder() == []

    engine.retry(transfer_id)
    assert _wait_done(engine)[str(big)].state is TransferState.DONE
    engine.clear_finished()
    assert engine.transfers() == [] and recorder.removed == [transfer_id]


def test_a_bad_local_file_fails_alone(stack, api, make_engine, tmp_path):
    good = write_random(tmp_path / "good.bin", 10_000)
    gone = write_random(tmp_path / "gone.bin", 10_000)
    engine = make_engine()
    ids = engine.add_paths([good, gone])
    gone.unlink()
    engine.start()
    transfers = _wait_done(engine)
    assert transfers[str(good)].state is TransferState.DONE
    failed = transfers[str(gone)]
    assert failed.state is TransferState.FAILED
    assert failed.error == f"{gone} no longer exists."
    assert [i.name for i in api.list_folder()] == ["good.bin"]
    assert len(ids) == 2

    gone.write_bytes(b"back again")
    engine.retry(failed.id)
    assert _wait_done(engine)[str(gone)].state is TransferState.DONE


def test_a_file_changed_while_queued_is_hashed_again(stack, api, make_engine, tmp_path):
    doc = tmp_path / "doc.txt"
    doc.write_text("first version")
    engine = make_engine()
    transfer_id = engine.add_file(doc)
    engine.pause(transfer_id)
    engine.start()
    doc.write_text("second, longer version")
    engine.resume(transfer_id)
    done = _wait_done(engine)[str(doc)]
    assert done.state is TransferState.DONE
    item = api.get_item(done.file_id)
    assert (item.size, item.sha256) == (doc.stat().st_size, sha256_of(doc))


def test_a_lost_answer_to_the_final_patch_still_yields_the_file_id(stack, api, tmp_path):
    data_path = write_random(tmp_path / "whole.bin", 300_000)
    data = data_path.read_bytes()
    tus = TusClient(api, chunk_size=CHUNK)
    created = tus.create(len(data), {"filename": "whole.bin"})
    # Every byte arrives and the file is made, but the answer never reaches the client.
    with open(data_path, "rb") as stream:
        offset, file_id = tus.patch(created.url, stream, 0, len(data), threading.Event())
    assert (offset, file_id is not None) == (len(data), True)

    result = tus.upload(data_path, length=len(data), metadata={}, url=created.url)
    assert result.file_id == file_id
    assert [item.id for item in api.list_folder()] == [file_id]


def test_bad_empty_and_emoji_names_do_not_block_the_queue(stack, api, make_engine, tmp_path):
    bad = write_random(tmp_path / "bad\x01name.txt", 100)
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    emoji = write_random(tmp_path / "Ferien 🏖️ 写真.bin", 5000)
    engine = make_engine().start()
    for path in (bad, empty, emoji):
        engine.add_file(path)
    transfers = _wait_done(engine)
    failed = transfers[str(bad)]
    assert failed.state is TransferState.FAILED
    assert "control characters" in (failed.error or "")
    assert transfers[str(empty)].state is TransferState.DONE
    assert transfers[str(emoji)].state is TransferState.DONE
    names = {item.name: item for item in api.list_folder()}
    assert set(names) == {"empty.txt", "Ferien 🏖️ 写真.bin"}
    assert names["empty.txt"].size == 0
    assert names["Ferien 🏖️ 写真.bin"].sha256 == sha256_of(emoji)


def test_pause_all_and_resume_all(stack, api, make_engine, tmp_path):
    files = [write_random(tmp_path / f"f{n}.bin", 2 * 1024 * 1024) for n in range(4)]
    engine = make_engine(chunk_size=CHUNK, workers=2, bandwidth_limit=4 * 1024 * 1024)
    recorder = Recorder()
    engine.add_listener(recorder)
    engine.start()
    for path in files:
        engine.add_file(path)
    assert recorder.wait_for(lambda i: i.bytes_done > 0)
    engine.pause_all()
    assert engine.wait_idle(20)
    states = {t.state for t in engine.transfers()}
    assert states <= {TransferState.PAUSED, TransferState.DONE}
    assert TransferState.PAUSED in states
    engine.resume_all()
    transfers = _wait_done(engine)
    assert {t.state for t in transfers.values()} == {TransferState.DONE}
    for path in files:
        assert api.get_item(transfers[str(path)].file_id).sha256 == sha256_of(path)


def test_bandwidth_limit_slows_uploads_down(stack, api, make_engine, tmp_path):
    path = write_random(tmp_path / "slow.bin", 1024 * 1024)
    engine = make_engine(chunk_size=CHUNK, bandwidth_limit=512 * 1024)
    assert engine.bandwidth_limit == 512 * 1024
    recorder = Recorder()
    engine.add_listener(recorder)
    began = time.monotonic()
    engine.start()
    engine.add_file(path)
    done = _wait_done(engine)[str(path)]
    assert done.state is TransferState.DONE
    assert time.monotonic() - began >= 1.5  # 1 MiB at 512 KiB/s, minus one burst
    etas = [e.eta for e in recorder.events if e.eta is not None]
    assert etas and all(eta >= 0 for eta in etas)
    engine.set_bandwidth_limit(None)
    assert engine.bandwidth_limit is None
