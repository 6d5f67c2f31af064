"""Settings and the saved session: private file, sensible defaults, XDG locations."""

from __future__ import annotations

import stat

from desktop_app import settings as settings_module
from desktop_app.settings import Session, Settings


def test_session_file_is_readable_by_the_user_only(tmp_path):
    config = tmp_path / "config"
    settings = Settings(config)
    settings.save_session(Session("http://127.0.0.1:8080", "alice", "secret-token"))
    mode = stat.S_IMODE((config / "settings.json").stat().st_mode)
    assert mode == 0o600
    assert stat.S_IMODE(config.stat().st_mode) & 0o077 == 0
    assert not [p for p in config.iterdir() if p.name != "settings.json"]  # no temp leftovers


def test_session_round_trips_and_sign_out_keeps_the_defaults(tmp_path):
    session = Session("http://127.0.0.1:8080", "alice", "secret-token")
    Settings(tmp_path).save_session(session)

    reread = Settings(tmp_path)
    assert reread.session == session
    assert reread.session_for("http://127.0.0.1:8080") == session
    assert reread.session_for("http://other:8080") is None
    assert session.account == "alice@http://127.0.0.1:8080"

    reread.clear_session()
    after = Settings(tmp_path)
    assert after.session is None
    assert (after.server_url, after.username) == ("http://127.0.0.1:8080", "alice")
    assert "secret-token" not in (tmp_path / "settings.json").read_text()


def test_damaged_settings_file_means_fresh_settings(tmp_path):
    (tmp_path / "settings.json").write_text("{not json")
    assert Settings(tmp_path).session is None
    (tmp_path / "settings.json").write_text('{"session": {"token": 1}}')
    assert Settings(tmp_path).session is None


def test_default_locations_follow_xdg(monkeypatch, tmp_path):
    monkeypatch.setattr(settings_module.sys, "platform", "linux")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    assert settings_module.config_dir() == tmp_path / "cfg" / "trove"
    assert settings_module.data_dir() == tmp_path / "share" / "trove"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert settings_module.config_dir() == tmp_path / ".config" / "trove"
