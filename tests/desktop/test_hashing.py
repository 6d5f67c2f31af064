"""Streamed hashing and the fingerprint that tells whether a queued file changed."""

from __future__ import annotations

import hashlib
import os

import pytest

from desktop_app.hashing import Fingerprint, digest_file


def test_sha256_matches_hashlib_and_reports_progress(tmp_path):
    data = os.urandom(3 * 1024 * 1024 + 17)
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    seen: list[int] = []
    assert digest_file(path, progress=seen.append, block_size=1024 * 1024) == (
        hashlib.sha256(data).hexdigest()
    )
    assert seen == [1048576, 2097152, 3145728, len(data)]


def test_sha256_of_an_empty_file(tmp_path):
    path = tmp_path / "empty"
    path.touch()
    assert digest_file(path) == hashlib.sha256(b"").hexdigest()


def test_hashing_stops_when_asked(tmp_path):
    path = tmp_path / "blob.bin"
    path.write_bytes(b"x" * 100)
    assert digest_file(path, should_stop=lambda: True, block_size=10) is None


def test_fingerprint_changes_with_content_size_and_mtime(tmp_path):
    path = tmp_path / "doc.txt"
    path.write_text("one")
    first = Fingerprint.of(path)
    assert first == Fingerprint(str(path), 3, path.stat().st_mtime_ns)
    assert Fingerprint.of(path) == first
    os.utime(path, ns=(first.mtime_ns, first.mtime_ns + 1_000_000_000))
    assert Fingerprint.of(path) != first
    path.write_text("longer")
    assert Fingerprint.of(path).size == 6


def test_fingerprint_mtime_is_rfc3339_utc(tmp_path):
    path = tmp_path / "doc.txt"
    path.write_text("x")
    os.utime(path, (1_700_000_000, 1_700_000_000))
    assert Fingerprint.of(path).mtime_rfc3339 == "2023-11-14T22:13:20Z"


def test_fingerprint_of_missing_or_folder_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        Fingerprint.of(tmp_path / "missing")
    with pytest.raises(IsADirectoryError):
        Fingerprint.of(tmp_path)
