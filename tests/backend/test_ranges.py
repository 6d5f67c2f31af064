import pytest

from backend.ranges import ByteRange, Unsatisfiable, parse_range


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-9", ByteRange(0, 9)),
        ("bytes=10-", ByteRange(10, 99)),
        ("bytes=-10", ByteRange(90, 99)),
        ("bytes=-1000", ByteRange(0, 99)),
        ("bytes=95-200", ByteRange(95, 99)),
        ("bytes = 5-6", ByteRange(5, 6)),
    ],
)
def test_single_ranges(header: str, expected: ByteRange) -> None:
    assert parse_range(header, 100) == expected


@pytest.mark.parametrize(
    "header", [None, "", "bytes=0-1,5-6", "items=0-1", "bytes=-", "bytes=9-3", "bytes=a-b"]
)
def test_ignored_ranges_mean_the_whole_content(header: str | None) -> None:
    assert parse_range(header, 100) is None


@pytest.mark.parametrize(
    ("header", "size"), [("bytes=100-", 100), ("bytes=-0", 100), ("bytes=-5", 0)]
)
def test_unsatisfiable(header: str, size: int) -> None:
    with pytest.raises(Unsatisfiable):
        parse_range(header, size)


def test_headers() -> None:
    byte_range = ByteRange(5, 9)
    assert byte_range.length == 5
    assert byte_range.content_range(100) == "bytes 5-9/100"
    assert byte_range.header() == "bytes=5-9"
