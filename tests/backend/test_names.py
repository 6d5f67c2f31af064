import unicodedata

import pytest

from backend.names import InvalidName, normalize_name, numbered_name, split_extension


def test_accepts_ordinary_names_and_normalizes_to_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", "Café.txt")
    assert normalize_name(decomposed) == "Café.txt"
    assert normalize_name("report (final).pdf") == "report (final).pdf"
    assert normalize_name(" leading and trailing ") == " leading and trailing "


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("", "empty"),
        (".", "cannot be used"),
        ("..", "cannot be used"),
        ("a/b", "'/'"),
        ("a\\b", "'\\'"),
        ("nul\x00byte", "control"),
        ("tab\there", "control"),
        ("line\nbreak", "control"),
        ("del\x7f", "control"),
        ("é" * 128, "256 bytes"),
    ],
)
def test_rejects_bad_names_with_a_reason(name: str, fragment: str) -> None:
    with pytest.raises(InvalidName, match=fragment.replace("\\", "\\\\").replace("(", r"\(")):
        normalize_name(name)


def test_rejects_non_strings() -> None:
    with pytest.raises(InvalidName):
        normalize_name(42)


def test_length_limit_is_in_utf8_bytes() -> None:
    assert normalize_name("a" * 255) == "a" * 255
    with pytest.raises(InvalidName):
        normalize_name("a" * 256)
    assert normalize_name("é" * 127) == "é" * 127  # 254 bytes


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("photo.jpg", ("photo", ".jpg")),
        ("archive.tar.gz", ("archive.tar", ".gz")),
        (".bashrc", (".bashrc", "")),
        ("README", ("README", "")),
        ("trailing.", ("trailing.", "")),
    ],
)
def test_split_extension(name: str, expected: tuple[str, str]) -> None:
    assert split_extension(name) == expected


def test_numbered_names() -> None:
    assert numbered_name("a.txt", 0) == "a.txt"
    assert numbered_name("a.txt", 1) == "a (1).txt"
    assert numbered_name("a.txt", 12) == "a (12).txt"
    assert numbered_name(".bashrc", 2) == ".bashrc (2)"


def test_numbered_names_stay_within_the_byte_limit() -> None:
    long_name = "é" * 125 + ".jpg"
    numbered = numbered_name(long_name, 3)
    assert numbered.endswith(" (3).jpg")
    assert len(numbered.encode()) <= 255
    normalize_name(numbered)
    huge_extension = "x." + "e" * 200
    assert len(numbered_name(huge_extension, 1).encode()) <= 255
