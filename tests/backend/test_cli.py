import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from backend import cli
from backend.auth.passwords import verify_password

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith(("TROVE_", "COMPRESSOR_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TROVE_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def password_hash(data_dir: Path, username: str) -> str | None:
    engine = sa.create_engine(f"sqlite:///{data_dir / 'trove.db'}")
    with engine.connect() as connection:
        value = connection.execute(
            sa.text("SELECT password_hash FROM users WHERE username = :u"), {"u": username}
        ).scalar()
    engine.dispose()
    return value


def test_create_user_with_password_option(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["create-user", "alice", "--password", "s3cret"]) == 0
    assert "created user 'alice'" in capsys.readouterr().out
    stored = password_hash(data_dir, "alice")
    assert stored is not None and stored.startswith("scrypt$")
    assert verify_password("s3cret", stored)
    assert not verify_password("wrong", stored)


def test_existing_user_is_a_clear_error(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["create-user", "alice", "--password", "one"]) == 0
    assert cli.main(["create-user", "alice", "--password", "two"]) == 1
    assert "already exists" in capsys.readouterr().err
    stored = password_hash(data_dir, "alice")
    assert stored is not None and verify_password("one", stored)


def test_bad_usernames_and_empty_passwords(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["create-user", "a/b", "--password", "x"]) == 1
    assert cli.main(["create-user", "bob", "--password", ""]) == 1
    assert "empty" in capsys.readouterr().err


def test_migrate_command(data_dir: Path) -> None:
    assert cli.main(["migrate"]) == 0
    assert cli.main(["migrate"]) == 0  # idempotent
    assert (data_dir / "trove.db").exists()


def test_password_from_standard_input_via_module_entry_point(data_dir: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "backend.cli", "create-user", "carol"],
        input="from stdin\n",
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=os.environ.copy(),
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    stored = password_hash(data_dir, "carol")
    assert stored is not None and verify_password("from stdin", stored)
