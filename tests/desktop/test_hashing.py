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
    digests = digest_file(path, progress=seen.append, block_size=1024 * 1024)
    assert digests is not None
    assert digests.sha256 == hashlib.sha256(data).hexdigest()
    assert seen == [1048576, 2097152, 3145728, len(data)]


def test_sha256_of_an_empty_file(tmp_path):
    path = tmp_path / "empty"
    path.touch()
    digests = digest_file(path, chunk_size=10)
    assert digests is not None
    assert digests.sha256 == hashlib.sha256(b"").hexdigest()
    assert digests.chunk(0, 0) is None


def test_hashing_stops_when_asked(tmp_path):
    path = tmp_path / "blob.bin"
    path.write_bytes(b"x" * 100)
    assert digest_file(path, should_stop=lambda: True, block_size=10) is None
    assert digest_file(path, chunk_size=7, should_stop=lambda: True, block_size=10) is None


@pytest.mark.parametrize("size", [1, 999, 1000, 1001, 4500, 5000])
def test_chunk_digests_come_from_the_same_read(tmp_path, size):
    data = os.urandom(size)
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    digests = digest_file(path, chunk_size=1000, block_size=300)
    assert digests is not None
    assert digests.sha256 == hashlib.sha256(data).hexdigest()
    for start in range(0, size, 1000):
        piece = data[start : start + 1000]
        assert digests.chunk(start, len(piece)) == hashlib.sha256(piece).digest()
    assert digests.chunk(500, 500) is None  # not a piece: the caller hashes it itself
    assert digests.chunk(0, size + 1) is None
    assert digests.chunk(size + 1000 - size % 1000, 1) is None


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
