"""Human-readable sizes, speeds, times, savings and local names for display."""

from __future__ import annotations

from datetime import datetime

_UNITS = ("bytes", "KB", "MB", "GB", "TB", "PB")


def is_utf8(text: str) -> bool:
    """Whether ``text`` can be written as UTF-8: false for a local name whose bytes are
    not UTF-8, which Python hands over with surrogate escapes (``b"\\xff"`` → ``"\\udcff"``)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def displayable(text: str) -> str:
    """``text`` with every undecodable byte (a surrogate) shown as U+FFFD, as file managers
    do: safe to show, log and store as UTF-8, but no longer the path it came from."""
    if is_utf8(text):
        return text
    return "".join("\ufffd" if "\ud800" <= char <= "\udfff" else char for char in text)


def format_size(size: int | float) -> str:
    """``1234567`` → ``1.2 MB`` (decimal units, as file managers show them)."""
    if size < 1000:
        return "1 byte" if size == 1 else f"{int(size)} bytes"
    value = float(size)
    for unit in _UNITS[1:]:
        value /= 1000
        if value < 999.95 or unit == _UNITS[-1]:
            return f"{value:.1f} {unit}"
    raise AssertionError("unreachable")


def format_speed(bytes_per_second: float) -> str:
    return f"{format_size(bytes_per_second)}/s" if bytes_per_second > 0 else ""


def format_percent(fraction: float) -> str:
    return f"{fraction * 100:.0f}%"


def format_saved(fraction: float | None, codec: str | None) -> str:
    """``42% (zstd)``; empty while a file is not yet stored."""
    if fraction is None:
        return ""
    text = format_percent(max(0.0, fraction))
    return f"{text} ({codec})" if codec else text


def format_timestamp(value: str | None) -> str:
    """An RFC 3339 time from the server, in local time: ``2024-05-01 14:03``."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if moment.tzinfo is not None:
        moment = moment.astimezone()
    return moment.strftime("%Y-%m-%d %H:%M")
