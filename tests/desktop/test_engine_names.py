"""Local names that are not UTF-8, through the upload engine and the real backend."""

from __future__ import annotations

import os

from desktop_app.transfers import TransferState

from .conftest import Recorder, remote_tree, sha256_of, write_random
from .test_engine_stack import _wait_done


def _not_utf8(raw: bytes) -> str:
    """A file name as Python sees one whose bytes are not UTF-8 (surrogate escapes)."""
    return os.fsdecode(raw)


def test_a_name_that_is_not_utf8_fails_alone_in_a_folder_drop(stack, api, make_engine, tmp_path):
    weird = tmp_path / "w" / "weird"
    write_random(weird / "a.bin", 1000)
    bad = weird / _not_utf8(b"bad\xffutf8.txt")
    bad.write_bytes(b"u")
    (weird / "sub").mkdir()
    (weird / "sub" / "deep.txt").write_text("deep")
    bad_folder = weird / _not_utf8(b"caf\xe9")
    write_random(bad_folder / "inside.bin", 100)
    write_random(weird / "z.bin", 2000)
    loose = write_random(tmp_path / _not_utf8(b"loose\xfe.bin"), 10)

    engine = make_engine()
    recorder = Recorder()
    engine.add_listener(recorder)
    ids = engine.add_paths([weird, loose])
    assert len(ids) == 6  # a.bin, z.bin, sub/deep.txt and the three bad names
    engine.start()
    transfers = _wait_done(engine)
    assert str(bad_folder / "inside.bin") not in transfers  # not walked into
    failed = {path: t for path, t in transfers.items() if t.state is TransferState.FAILED}
    assert set(failed) == {str(bad), str(bad_folder), str(loose)}
    assert failed[str(bad)].error == (
        "The name bad\ufffdutf8.txt is not valid UTF-8, so the server cannot store it. "
        "Rename the file and try again."
    )
    assert failed[str(bad_folder)].error == (
        "The name caf\ufffd is not valid UTF-8, so the server cannot store it and nothing "
        "in this folder was uploaded. Rename the folder and try again."
    )
    assert "loose\ufffd.bin is not valid UTF-8" in (failed[str(loose)].error or "")
    assert not any(t.retryable for t in failed.values())
    assert failed[str(bad)].name == "bad\ufffdutf8.txt"  # shown readably, not dropped
    assert {e.id for e in recorder.events if e.state is TransferState.FAILED} == {
        t.id for t in failed.values()
    }
    done = {path for path, t in transfers.items() if t.state is TransferState.DONE}
    assert done == {str(weird / "a.bin"), str(weird / "z.bin"), str(weird / "sub" / "deep.txt")}
    assert set(remote_tree(api)) == {
        "weird",
        "weird/a.bin",
        "weird/z.bin",
        "weird/sub",
        "weird/sub/deep.txt",
    }
    engine.shutdown()

    restarted = make_engine()
    kept = {t.path: t for t in restarted.transfers() if t.state is TransferState.FAILED}
    assert kept == {path: t for path, t in failed.items()}


def test_files_below_a_folder_whose_name_is_not_utf8_upload_after_a_restart(
    stack, api, make_engine, tmp_path
):
    album = tmp_path / _not_utf8(b"Fotos f\xfcr Oma") / "Album"
    first = write_random(album / "first.bin", 50_000)
    second = write_random(album / "2023" / "second.bin", 70_000)
    engine = make_engine()
    ids = engine.add_paths([album])
    engine.shutdown()  # never started: the queue waits on disk

    restarted = make_engine()
    queued = {t.path: t for t in restarted.transfers()}
    assert set(queued) == {str(first), str(second)}
    assert sorted(t.id for t in queued.values()) == sorted(ids)
    assert {t.state for t in queued.values()} == {TransferState.QUEUED}
    restarted.start()
    transfers = _wait_done(restarted)
    for path in (first, second):
        done = transfers[str(path)]
        assert done.state is TransferState.DONE, done.error
        assert api.get_item(done.file_id).sha256 == sha256_of(path)
    assert set(remote_tree(api)) == {
        "Album",
        "Album/first.bin",
        "Album/2023",
        "Album/2023/second.bin",
    }
