"""Values from clients judged before they reach a query: item ids within the range every
database the backend runs on can hold (a signed 32-bit integer column), and strings that
are Unicode text."""

from __future__ import annotations

MAX_ID = 2**31 - 1


def is_id(value: object) -> bool:
    """Whether `value` can be the id of an item (a JSON number, a path or query part)."""
    return type(value) is int and 0 < value <= MAX_ID


def is_text(value: object) -> bool:
    """Whether every string in a decoded JSON value is Unicode text (JSON lets a `\\uXXXX`
    escape name half of a surrogate pair alone; no database or file name can hold that)."""
    if isinstance(value, str):
        return not any("\ud800" <= char <= "\udfff" for char in value)
    if isinstance(value, dict):
        return all(is_text(key) and is_text(item) for key, item in value.items())
    if isinstance(value, list):
        return all(is_text(item) for item in value)
    return True
