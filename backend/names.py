"""File and folder name rules (pure): NFC, 1..255 UTF-8 bytes, no separators or controls."""

from __future__ import annotations

import unicodedata

MAX_NAME_BYTES = 255


class InvalidName(ValueError):
    """The name breaks a rule; the message says which, as a sentence a person can act on."""


def normalize_name(raw: object) -> str:
    """Return the NFC form of `raw` or raise InvalidName explaining what is wrong."""
    if not isinstance(raw, str):
        raise InvalidName("The name must be a string.")
    name = unicodedata.normalize("NFC", raw)
    if not name:
        raise InvalidName("The name cannot be empty. Give the item a name.")
    if name in (".", ".."):
        raise InvalidName(f"'{name}' cannot be used as a name. Choose another name.")
    if "/" in name:
        raise InvalidName("Names cannot contain '/'. Rename the item and try again.")
    if "\\" in name:
        raise InvalidName("Names cannot contain '\\'. Rename the item and try again.")
    if any(unicodedata.category(char) == "Cc" for char in name):
        raise InvalidName(
            "Names cannot contain control characters such as NUL, tab or newline. "
            "Rename the item and try again."
        )
    size = len(name.encode("utf-8"))
    if size > MAX_NAME_BYTES:
        raise InvalidName(
            f"The name is {size} bytes long in UTF-8; the limit is {MAX_NAME_BYTES}. "
            "Choose a shorter name."
        )
    return name


def split_extension(name: str) -> tuple[str, str]:
    """'photo.jpg' -> ('photo', '.jpg'); '.bashrc' and 'README' have no extension."""
    dot = name.rfind(".")
    if dot <= 0 or dot == len(name) - 1:
        return name, ""
    return name[:dot], name[dot:]


def numbered_name(name: str, number: int) -> str:
    """The `number`-th alternative for a taken name: 'a.txt' -> 'a (2).txt'.

    The stem is shortened (never inside a character) so the result stays a valid name."""
    if number == 0:
        return name
    stem, ext = split_extension(name)
    if len(ext.encode("utf-8")) > MAX_NAME_BYTES // 2:
        stem, ext = name, ""
    suffix = f" ({number}){ext}"
    budget = MAX_NAME_BYTES - len(suffix.encode("utf-8"))
    while len(stem.encode("utf-8")) > budget:
        stem = stem[:-1]
    return f"{stem}{suffix}"
