"""Single HTTP byte ranges (pure): `bytes=a-b`, `bytes=a-`, `bytes=-n`."""

from __future__ import annotations

import re
from dataclasses import dataclass

_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


class Unsatisfiable(ValueError):
    """The range lies wholly outside the content (answer 416)."""


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end}/{size}"

    def header(self) -> str:
        return f"bytes={self.start}-{self.end}"


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The range to serve, or None to serve everything.

    Malformed or multi-range headers are ignored (RFC 9110 allows that); a syntactically
    valid single range that selects no byte raises Unsatisfiable."""
    if not header:
        return None
    match = _RANGE.fullmatch(header.strip().replace(" ", ""))
    if not match or (not match.group(1) and not match.group(2)):
        return None
    first, last = match.group(1), match.group(2)
    if not first:
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise Unsatisfiable(header)
        return ByteRange(max(0, size - suffix), size - 1)
    start = int(first)
    if last and int(last) < start:
        return None
    if start >= size:
        raise Unsatisfiable(header)
    return ByteRange(start, min(int(last), size - 1) if last else size - 1)
