"""The installer's .env handling and port check (no Docker needed)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from installer.install import SECRETS, InstallError, check_port_free, read_env, write_env


def test_first_run_writes_strong_distinct_secrets_readable_by_the_owner_only(
    tmp_path: Path,
) -> None:
    env_file = tmp_path / ".env"
    assert write_env(env_file) == list(SECRETS)
    values = read_env(env_file)
    assert all(len(values[name]) >= 43 for name in SECRETS)  # 256 bits, URL-safe base64
    assert len({values[name] for name in SECRETS}) == len(SECRETS)
    assert all(set(values[name]) <= set("-_") | set(_alnum()) for name in SECRETS)
    assert values["TROVE_HTTP_PORT"] == "8080"
    assert values["COMPOSE_PROJECT_NAME"] == "trove"
    assert env_file.stat().st_mode & 0o777 == 0o600


def test_existing_secrets_and_comments_are_kept(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("# mine\nMYSQL_ROOT_PASSWORD=chosen-by-me\nTROVE_DB_PASSWORD=\n")
    created = write_env(env_file, {"TROVE_HTTP_PORT": "9090"})
    assert created == ["TROVE_DB_PASSWORD", "COMPRESSOR_DB_PASSWORD", "COMPRESSOR_TOKEN"]
    text = env_file.read_text()
    assert text.startswith("# mine\nMYSQL_ROOT_PASSWORD=chosen-by-me\n")
    values = read_env(env_file)
    assert values["TROVE_HTTP_PORT"] == "9090"
    assert values["TROVE_DB_PASSWORD"]
    assert write_env(env_file) == []
    assert env_file.read_text() == text  # a second run changes nothing


def test_a_secret_that_is_set_cannot_be_replaced(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    write_env(env_file)
    before = env_file.read_text()
    with pytest.raises(InstallError, match="TROVE_DB_PASSWORD is already set"):
        write_env(env_file, {"TROVE_DB_PASSWORD": "other"})
    assert env_file.read_text() == before


def test_a_taken_port_is_reported_with_what_to_do() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(InstallError) as caught:
            check_port_free("127.0.0.1", port)
    assert str(caught.value) == (
        f"port {port} on 127.0.0.1 is already in use by another program: stop it, "
        "or choose a free port with --port (it is saved as TROVE_HTTP_PORT in .env)"
    )
    check_port_free("127.0.0.1", port)  # free again


def _alnum() -> str:
    return "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
