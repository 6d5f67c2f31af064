"""Settings and the saved session: private file, sensible defaults, XDG locations."""

from __future__ import annotations

import stat

from keyring.backend import KeyringBackend
from keyring.backends.fail import Keyring as FailKeyring
from keyring.errors import PasswordDeleteError

from desktop_app import settings as settings_module
from desktop_app.settings import Session, Settings, TokenVault


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


class MemoryKeyring(KeyringBackend):
    """Stands in for the OS keyring (Secret Service, Keychain), which is outside Trove."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.secrets.pop((service, username), None) is None:
            raise PasswordDeleteError(username)


def test_token_goes_to_the_keyring_where_there_is_one(tmp_path):
    ring = MemoryKeyring()
    session = Session("http://127.0.0.1:8080", "alice", "secret-token")
    Settings(tmp_path, TokenVault(ring)).save_session(session)
    assert "secret-token" not in (tmp_path / "settings.json").read_text()
    assert ring.secrets == {("Trove", session.account): "secret-token"}

    reread = Settings(tmp_path, TokenVault(ring))
    assert reread.session == session
    # Without the keyring entry (removed by the user) the session is gone: sign in again.
    assert Settings(tmp_path, TokenVault(MemoryKeyring())).session is None
    reread.clear_session()
    assert ring.secrets == {}
    assert Settings(tmp_path, TokenVault(ring)).session is None


def test_without_a_keyring_the_token_stays_in_the_private_file(tmp_path):
    settings = Settings(tmp_path, TokenVault(FailKeyring()))
    session = Session("http://127.0.0.1:8080", "alice", "secret-token")
    settings.save_session(session)
    assert "secret-token" in (tmp_path / "settings.json").read_text()
    assert stat.S_IMODE((tmp_path / "settings.json").stat().st_mode) == 0o600
    assert Settings(tmp_path, TokenVault(FailKeyring())).session == session
