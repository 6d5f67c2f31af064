"""tus 1.0.0 header parsing and formatting (pure functions, no Flask)."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime

from backend.validation import is_id

TUS_VERSION = "1.0.0"
EXTENSIONS = "creation,creation-with-upload,termination,checksum,expiration"
CHECKSUM_ALGORITHMS = ("sha1", "sha256")
OFFSET_CONTENT_TYPE = "application/offset+octet-stream"

_DIGITS = re.compile(r"[0-9]{1,19}")
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_METADATA_KEY = re.compile(r"[^\s,]+")


class HeaderError(ValueError):
    """A tus header is missing or malformed; the message is a sentence for the client."""


@dataclass(frozen=True)
class Checksum:
    algorithm: str
    digest: bytes


@dataclass(frozen=True)
class UploadMetadata:
    filename: str
    parent: int | None
    mtime: datetime | None
    sha256: str | None


def parse_non_negative(name: str, value: str | None) -> int:
    """Upload-Length / Upload-Offset: a non-negative decimal integer."""
    if value is None:
        raise HeaderError(f"The {name} header is required.")
    value = value.strip()
    if not _DIGITS.fullmatch(value):
        raise HeaderError(f"{name} must be a non-negative whole number, got {value!r}.")
    return int(value)


def parse_metadata(value: str | None) -> dict[str, str | None]:
    """Upload-Metadata: comma-separated `key base64(value)` pairs; the value may be absent."""
    pairs: dict[str, str | None] = {}
    if value is None or not value.strip():
        return pairs
    for element in value.split(","):
        parts = element.strip().split(" ")
        if len(parts) > 2 or not _METADATA_KEY.fullmatch(parts[0]):
            raise HeaderError(f"Upload-Metadata has a malformed pair: {element.strip()!r}.")
        key = parts[0]
        if key in pairs:
            raise HeaderError(f"Upload-Metadata repeats the key {key!r}.")
        if len(parts) == 1:
            pairs[key] = None
            continue
        try:
            pairs[key] = base64.b64decode(parts[1], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise HeaderError(
                f"Upload-Metadata value for {key!r} is not base64-encoded UTF-8."
            ) from None
    return pairs


def parse_mtime(value: str) -> datetime:
    """RFC 3339 (e.g. 2024-05-01T12:00:00Z) or unix seconds, returned as aware UTC."""
    text = value.strip()
    try:
        return datetime.fromtimestamp(float(text), UTC)
    except (ValueError, OverflowError, OSError):
        pass
    try:
        parsed = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise HeaderError(f"mtime must be RFC 3339 or unix seconds, got {value!r}.") from None
    if parsed.tzinfo is None:
        raise HeaderError(f"mtime must carry a time zone (e.g. a trailing 'Z'), got {value!r}.")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # the time zone moves it out of the years 1 to 9999
        raise HeaderError(f"mtime is out of the range of dates, got {value!r}.") from None


def parse_upload_metadata(value: str | None) -> UploadMetadata:
    """The Trove keys: `filename` (required), `parent`, `mtime`, `sha256`."""
    pairs = parse_metadata(value)
    if "filename" not in pairs:
        raise HeaderError("Upload-Metadata must carry the file name under the key 'filename'.")
    filename = pairs["filename"] or ""
    parent: int | None = None
    raw_parent = pairs.get("parent")
    if raw_parent:
        if not _DIGITS.fullmatch(raw_parent.strip()) or not is_id(int(raw_parent)):
            raise HeaderError(f"parent must be a folder id, got {raw_parent!r}.")
        parent = int(raw_parent)
    raw_mtime = pairs.get("mtime")
    sha256 = pairs.get("sha256")
    if sha256 is not None and not _SHA256.fullmatch(sha256.strip()):
        raise HeaderError("sha256 must be 64 hexadecimal characters.")
    return UploadMetadata(
        filename=filename,
        parent=parent,
        mtime=parse_mtime(raw_mtime) if raw_mtime else None,
        sha256=sha256.strip().lower() if sha256 else None,
    )


def parse_checksum(value: str | None) -> Checksum | None:
    """Upload-Checksum: `<algorithm> <base64 digest>`."""
    if value is None:
        return None
    parts = value.strip().split(" ")
    if len(parts) != 2:
        raise HeaderError("Upload-Checksum must be '<algorithm> <base64 digest>'.")
    algorithm = parts[0].lower()
    if algorithm not in CHECKSUM_ALGORITHMS:
        raise HeaderError(
            f"Checksum algorithm {parts[0]!r} is not supported; use one of "
            f"{', '.join(CHECKSUM_ALGORITHMS)}."
        )
    try:
        digest = base64.b64decode(parts[1], validate=True)
    except binascii.Error:
        raise HeaderError("The Upload-Checksum digest is not valid base64.") from None
    return Checksum(algorithm, digest)


def format_expires(moment: datetime) -> str:
    """Upload-Expires uses the HTTP date format (RFC 9110)."""
    return format_datetime(moment.astimezone(UTC), usegmt=True)
