import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from backend.config import Config, ConfigError
from backend.shared_token import get_or_create_token


def test_defaults_follow_the_design(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = Config.from_env({})
    assert config.data_dir == tmp_path / "data"
    assert config.database_url == f"sqlite:///{tmp_path / 'data' / 'trove.db'}"
    assert (config.host, config.port) == ("127.0.0.1", 8080)
    assert config.compressor_url == "http://127.0.0.1:8081"
    assert config.token_dir == tmp_path / "data" / "compressor"
    assert config.compressor_token is None


def test_environment_overrides(tmp_path: Path) -> None:
    config = Config.from_env(
        {
            "TROVE_DATA_DIR": str(tmp_path / "d"),
            "TROVE_DATABASE_URL": "mysql+pymysql://u:p@db/trove?charset=utf8mb4",
            "TROVE_HOST": "0.0.0.0",
            "TROVE_PORT": "9000",
            "TROVE_COMPRESSOR_URL": "http://compressor:8081/",
            "COMPRESSOR_DATA_DIR": str(tmp_path / "c"),
            "COMPRESSOR_TOKEN": " abc \n",
        }
    )
    assert config.database_url.startswith("mysql+pymysql://")
    assert (config.host, config.port) == ("0.0.0.0", 9000)
    assert config.compressor_url == "http://compressor:8081"
    assert config.token_dir == tmp_path / "c"
    assert config.compressor_token == "abc"


def test_bad_numbers_are_reported() -> None:
    with pytest.raises(ConfigError, match="TROVE_PORT"):
        Config.from_env({"TROVE_PORT": "http"})


def test_token_is_created_once_and_private(tmp_path: Path) -> None:
    directory = tmp_path / "compressor"
    with ThreadPoolExecutor(8) as pool:
        tokens = set(pool.map(lambda _: get_or_create_token(directory), range(16)))
    assert len(tokens) == 1
    token = tokens.pop()
    assert len(token) == 64 and int(token, 16) >= 0
    mode = stat.S_IMODE(os.stat(directory / "token").st_mode)
    assert mode == 0o600
    assert [p.name for p in directory.iterdir()] == ["token"]


def test_an_existing_token_is_read_and_stripped(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("  cafe\n")
    assert get_or_create_token(tmp_path) == "cafe"
