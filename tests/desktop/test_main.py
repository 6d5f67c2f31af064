"""Command-line options of trove-desktop."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from desktop_app import __version__
from desktop_app.main import main, parse_args, read_credentials


def test_version_option():
    result = subprocess.run(
        [sys.executable, "-m", "desktop_app", "--version"], capture_output=True, text=True
    )
    assert result.returncode == 0
    assert result.stdout.strip() == f"trove-desktop {__version__}"


def test_options_parse(tmp_path):
    args = parse_args(
        ["--server", "http://h:1", "--config-dir", str(tmp_path), "--data-dir", str(tmp_path)]
    )
    assert (args.server, args.config_dir, args.data_dir) == ("http://h:1", tmp_path, tmp_path)


def test_credentials_file(tmp_path):
    good = tmp_path / "creds.json"
    good.write_text(json.dumps({"username": "alice", "password": "pw"}))
    assert read_credentials(good) == ("alice", "pw")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"username": "alice"}))
    with pytest.raises(ValueError, match="must hold"):
        read_credentials(bad)
    with pytest.raises(ValueError, match="Cannot read"):
        read_credentials(tmp_path / "missing.json")


def test_bad_credentials_file_exits_with_a_message(tmp_path, capsys):
    assert main(["--credentials-file", str(tmp_path / "missing.json")]) == 2
    assert "Cannot read" in capsys.readouterr().err
