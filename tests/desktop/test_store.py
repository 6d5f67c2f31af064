"""The upload queue survives closing and reopening its database."""

from __future__ import annotations

import os

import pytest

from desktop_app.store import QueueStore, TransferRecord


def test_transfers_persist_across_reopen(tmp_path):
    path = tmp_path / "data" / "queue.sqlite3"
    store = QueueStore(path)
    first = TransferRecord("alice@http://a", "/photos/a.jpg", 7, size=10, mtime_ns=123)
    second = TransferRecord("alice@http://a", "/photos/b.jpg", None, size=20, mtime_ns=456)
    other = TransferRecord("bob@http://a", "/bob.txt", None)
    for record in (first, second, other):
        store.add(record)
    store.update(
        first.id,
        sha256="ab" * 32,
        upload_url="http://a/api/v1/uploads/xyz",
        state="uploading",
        bytes_done=8,
    )
    store.close()

    reopened = QueueStore(path)
    loaded = reopened.load("alice@http://a")
    assert [r.path for r in loaded] == ["/photos/a.jpg", "/photos/b.jpg"]
    a = loaded[0]
    assert (a.id, a.parent_id, a.size, a.mtime_ns) == (first.id, 7, 10, 123)
    assert (a.sha256, a.upload_url, a.state, a.bytes_done) == (
        "ab" * 32,
        "http://a/api/v1/uploads/xyz",
        "uploading",
        8,
    )
    assert loaded[1].parent_id is None and loaded[1].sha256 is None
    assert loaded[1].retryable is True
    assert [r.path for r in reopened.load("bob@http://a")] == ["/bob.txt"]

    reopened.delete([first.id])
    assert reopened.get(first.id) is None
    assert reopened.get(second.id) is not None
    reopened.close()


def test_unknown_fields_are_refused(tmp_path):
    store = QueueStore(tmp_path / "q.sqlite3")
    record = TransferRecord("acct", "/x", None)
    store.add(record)
    with pytest.raises(ValueError):
        store.update(record.id, colour="red")
    store.close()


def test_non_retryable_flag_round_trips(tmp_path):
    store = QueueStore(tmp_path / "q.sqlite3")
    store.add(TransferRecord("acct", "/x", None, state="failed", retryable=False))
    assert store.load("acct")[0].retryable is False
    store.close()


def test_a_queue_from_the_first_version_is_upgraded_in_place(tmp_path):
    import sqlite3

    path = tmp_path / "queue.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(
        """
        CREATE TABLE transfers (
            id INTEGER PRIMARY KEY AUTOINCREMENT, account TEXT NOT NULL, path TEXT NOT NULL,
            parent_id INTEGER, size INTEGER NOT NULL DEFAULT 0,
            mtime_ns INTEGER NOT NULL DEFAULT 0, sha256 TEXT, upload_url TEXT,
            state TEXT NOT NULL, error TEXT, file_id INTEGER,
            bytes_done INTEGER NOT NULL DEFAULT 0, retryable INTEGER NOT NULL DEFAULT 1,
            created REAL NOT NULL);
        INSERT INTO transfers (account, path, state, created) VALUES ('a', '/x', 'queued', 1);
        PRAGMA user_version=1;
        """
    )
    old.close()
    store = QueueStore(path)
    [record] = store.load("a")
    assert (record.path, record.note) == ("/x", None)
    store.update(record.id, note="started again")
    assert store.get(record.id).note == "started again"
    store.close()


def test_paths_that_are_not_utf8_round_trip_exactly(tmp_path):
    path = tmp_path / "q.sqlite3"
    store = QueueStore(path)
    local = os.fsdecode(b"/photos/f\xfcr Oma/bad\xffname.jpg")
    record = TransferRecord("acct", local, None, state="failed", error="Broken.")
    store.add(record)
    store.add(TransferRecord("acct", "/photos/ok.jpg", None))
    store.update(record.id, error="The name bad\udcffname.jpg is wrong.")
    store.close()

    reopened = QueueStore(path)
    loaded = reopened.load("acct")
    assert [r.path for r in loaded] == [local, "/photos/ok.jpg"]
    assert os.fsencode(loaded[0].path) == b"/photos/f\xfcr Oma/bad\xffname.jpg"
    assert reopened.get(record.id).path == local
    assert loaded[0].error == "The name bad\ufffdname.jpg is wrong."  # text stays readable
    reopened.close()
