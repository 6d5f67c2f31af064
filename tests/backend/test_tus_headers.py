import base64
from datetime import UTC, datetime

import pytest

from backend.tus_headers import (
    HeaderError,
    format_expires,
    parse_checksum,
    parse_metadata,
    parse_mtime,
    parse_non_negative,
    parse_upload_metadata,
)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_non_negative_integers() -> None:
    assert parse_non_negative("Upload-Length", "0") == 0
    assert parse_non_negative("Upload-Length", " 123 ") == 123
    for bad in (None, "", "-1", "1.5", "abc", "1e3", "9" * 20):
        with pytest.raises(HeaderError):
            parse_non_negative("Upload-Length", bad)


def test_metadata_pairs_and_keys_without_value() -> None:
    header = f"filename {b64('My file ☃.txt')},is_confidential,parent {b64('7')}"
    assert parse_metadata(header) == {
        "filename": "My file ☃.txt",
        "is_confidential": None,
        "parent": "7",
    }
    assert parse_metadata(None) == {}
    assert parse_metadata("  ") == {}


@pytest.mark.parametrize(
    "header",
    [
        "filename not*base64",
        f"filename {b64('a')},filename {b64('b')}",
        f"filename {b64('a')} extra",
        f"filename {b64('a')},,",
        "filename " + base64.b64encode(b"\xff\xfe").decode(),
    ],
)
def test_malformed_metadata(header: str) -> None:
    with pytest.raises(HeaderError):
        parse_metadata(header)


def test_upload_metadata() -> None:
    sha = "AB" * 32
    meta = parse_upload_metadata(
        f"filename {b64('a.txt')},parent {b64('12')},mtime {b64('2024-05-01T12:00:00Z')},"
        f"sha256 {b64(sha)}"
    )
    assert meta.filename == "a.txt"
    assert meta.parent == 12
    assert meta.mtime == datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert meta.sha256 == sha.lower()


def test_upload_metadata_requires_a_filename_and_valid_values() -> None:
    with pytest.raises(HeaderError, match="filename"):
        parse_upload_metadata(f"parent {b64('1')}")
    with pytest.raises(HeaderError, match="parent"):
        parse_upload_metadata(f"filename {b64('a')},parent {b64('x')}")
    with pytest.raises(HeaderError, match="sha256"):
        parse_upload_metadata(f"filename {b64('a')},sha256 {b64('abc')}")


def test_mtime_formats() -> None:
    assert parse_mtime("1714564800") == datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert parse_mtime("1714564800.5").microsecond == 500000
    assert parse_mtime("2024-05-01T14:00:00+02:00") == datetime(2024, 5, 1, 12, tzinfo=UTC)
    with pytest.raises(HeaderError):
        parse_mtime("yesterday")
    with pytest.raises(HeaderError, match="time zone"):
        parse_mtime("2024-05-01T12:00:00")
    for past_the_calendar in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"):
        with pytest.raises(HeaderError, match="range of dates"):
            parse_mtime(past_the_calendar)


def test_checksum() -> None:
    digest = bytes(range(20))
    checksum = parse_checksum(f"sha1 {base64.b64encode(digest).decode()}")
    assert checksum is not None
    assert (checksum.algorithm, checksum.digest) == ("sha1", digest)
    assert parse_checksum(None) is None
    with pytest.raises(HeaderError, match="not supported"):
        parse_checksum("md5 AAAA")
    with pytest.raises(HeaderError):
        parse_checksum("sha256")
    with pytest.raises(HeaderError, match="base64"):
        parse_checksum("sha256 !!!")


def test_expires_is_an_http_date() -> None:
    moment = datetime(2014, 6, 25, 16, 0, tzinfo=UTC)
    assert format_expires(moment) == "Wed, 25 Jun 2014 16:00:00 GMT"
