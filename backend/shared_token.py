"""The secret shared with the compressor: COMPRESSOR_TOKEN, else the `token` file in the
compressor's data directory, created by whichever service needs it first."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from pathlib import Path

TOKEN_FILE = "token"


def get_or_create_token(directory: Path) -> str:
    """Read `directory/token`; if absent, create it without ever overwriting a concurrent
    creator's token: write a private temp file, then hard-link it into place."""
    path = directory / TOKEN_FILE
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    directory.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=".token-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(32) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp_name, 0o600)
        with contextlib.suppress(FileExistsError):  # a concurrent creator won: use theirs
            os.link(temp_name, path)
            _sync_dir(directory)
    finally:
        os.unlink(temp_name)
    return _read(path)


def _read(path: Path) -> str:
    token = path.read_text(encoding="ascii").strip()
    if not token:
        raise ValueError(f"{path} is empty; delete it or set COMPRESSOR_TOKEN")
    return token


def _sync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
