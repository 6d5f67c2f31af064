"""Display formatting."""

from __future__ import annotations

from desktop_app.formatting import (
    format_saved,
    format_size,
    format_speed,
    format_timestamp,
)


def test_sizes():
    assert format_size(0) == "0 bytes"
    assert format_size(1) == "1 byte"
    assert format_size(999) == "999 bytes"
    assert format_size(1000) == "1.0 KB"
    assert format_size(1_234_567) == "1.2 MB"
    assert format_size(999_990) == "1.0 MB"
    assert format_size(5 * 10**18) == "5000.0 PB"


def test_speed_saved_and_time():
    assert format_speed(0) == ""
    assert format_speed(2_500_000) == "2.5 MB/s"
    assert format_saved(None, None) == ""
    assert format_saved(0.423, "zstd") == "42% (zstd)"
    assert format_saved(-0.01, "raw") == "0% (raw)"
    assert format_timestamp(None) == ""
    assert format_timestamp("garbage") == "garbage"
    assert len(format_timestamp("2024-05-01T12:03:00Z")) == len("2024-05-01 14:03")
