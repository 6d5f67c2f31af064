"""The tus wire format: metadata, chunk planning, checksums and streamed chunk bodies."""

from __future__ import annotations

import base64
import hashlib
import io
import threading

import pytest

from desktop_app.errors import LocalFileError
from desktop_app.tus import (
    ChunkBody,
    UploadAborted,
    checksum_header,
    decode_metadata,
    encode_metadata,
    hash_range,
    plan_chunks,
)


def test_metadata_is_base64_per_value_and_skips_missing_values():
    header = encode_metadata(
        {"filename": "Ünïcode photo, 1.jpg", "parent": "42", "mtime": None, "sha256": "ab" * 32}
    )
    pairs = dict(pair.split(" ") for pair in header.split(","))
    assert set(pairs) == {"filename", "parent", "sha256"}
    assert base64.b64decode(pairs["filename"]).decode() == "Ünïcode photo, 1.jpg"
    assert base64.b64decode(pairs["parent"]) == b"42"
    assert decode_metadata(header) == {
        "filename": "Ünïcode photo, 1.jpg",
        "parent": "42",
        "sha256": "ab" * 32,
    }


@pytest.mark.parametrize("key", ["", "file name", "a,b", "naïve"])
def test_metadata_rejects_keys_tus_cannot_carry(key):
    with pytest.raises(ValueError):
        encode_metadata({key: "x"})


def test_empty_metadata_value_round_trips():
    assert decode_metadata(encode_metadata({"note": ""})) == {"note": ""}


def test_chunks_cover_the_rest_of_the_file_exactly():
    assert list(plan_chunks(0, 20, 8)) == [(0, 8), (8, 8), (16, 4)]
    assert list(plan_chunks(8, 20, 8)) == [(8, 8), (16, 4)]
    assert list(plan_chunks(5, 20, 8)) == [(5, 8), (13, 7)]
    assert list(plan_chunks(20, 20, 8)) == []
    assert list(plan_chunks(0, 0, 8)) == []
    with pytest.raises(ValueError):
        list(plan_chunks(0, 10, 0))


def test_checksum_header_is_algorithm_and_base64_digest():
    digest = hashlib.sha256(b"chunk").digest()
    assert checksum_header(digest) == "sha256 " + base64.b64encode(digest).decode()


def test_hash_range_hashes_only_the_chunk():
    data = bytes(range(256)) * 4096
    stream = io.BytesIO(data)
    assert hash_range(stream, 1000, 300_000) == hashlib.sha256(data[1000:301_000]).digest()


def test_hash_range_notices_a_shorter_file():
    with pytest.raises(LocalFileError):
        hash_range(io.BytesIO(b"short"), 0, 10)


def test_chunk_body_streams_exactly_its_range_in_small_reads():
    data = b"0123456789" * 100_000
    positions: list[int] = []
    body = ChunkBody(io.BytesIO(data), 10, 700_000, threading.Event(), positions.append)
    assert len(body) == 700_000
    out = bytearray()
    while block := body.read(64 * 1024):
        assert len(block) <= 64 * 1024
        out += block
    assert bytes(out) == data[10:700_010]
    assert positions[-1] == 700_010
    assert positions == sorted(positions)


def test_chunk_body_stops_when_aborted():
    abort = threading.Event()
    body = ChunkBody(io.BytesIO(b"x" * 1000), 0, 1000, abort)
    assert body.read(10) == b"x" * 10
    abort.set()
    with pytest.raises(UploadAborted):
        body.read(10)


def test_chunk_body_refuses_to_send_less_than_promised():
    body = ChunkBody(io.BytesIO(b"x" * 10), 0, 20, threading.Event())
    assert body.read(100) == b"x" * 10
    with pytest.raises(LocalFileError):
        body.read(100)
