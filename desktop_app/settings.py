"""Where the client keeps its settings and session, and the session itself.

The bearer token goes to the OS keyring where one exists (Secret Service, macOS Keychain,
Windows Credential Locker); elsewhere it stays in the settings file, which is written
readable by the user only either way.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

APP_NAME = "trove"
KEYRING_SERVICE = "Trove"

log = logging.getLogger(__name__)


def config_dir() -> Path:
    """The per-user configuration folder (XDG on Linux)."""
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming")) / "Trove"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "Trove"
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / APP_NAME


def data_dir() -> Path:
    """The per-user data folder (XDG on Linux): the upload queue lives here."""
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local")) / "Trove"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "Trove"
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / APP_NAME


@dataclass(frozen=True)
class Session:
    server_url: str
    username: str
    token: str

    @property
    def account(self) -> str:
        return f"{self.username}@{self.server_url}"


class TokenVault:
    """Tokens in a keyring (by default the OS's); every call says whether it worked, so
    the caller can keep the token in the private settings file instead."""

    def __init__(self, backend: Any = None) -> None:
        self._backend = backend

    def _keyring(self) -> Any:
        if self._backend is None:
            import keyring  # picks a backend when imported: only once a token is at stake

            self._backend = keyring.get_keyring()
        return self._backend

    def save(self, account: str, token: str) -> bool:
        try:
            self._keyring().set_password(KEYRING_SERVICE, account, token)
        except Exception as exc:  # no keyring, locked, refused: the file will do
            log.info("the token stays in the settings file: %s", exc)
            return False
        return True

    def load(self, account: str) -> str | None:
        try:
            return self._keyring().get_password(KEYRING_SERVICE, account)
        except Exception as exc:
            log.warning("cannot read the token from the keyring: %s", exc)
            return None

    def delete(self, account: str) -> None:
        try:
            self._keyring().delete_password(KEYRING_SERVICE, account)
        except Exception as exc:
            log.info("no token to remove from the keyring: %s", exc)


class Settings:
    """``settings.json`` in the config folder: last server, last user, saved session."""

    FILE_NAME = "settings.json"

    def __init__(
        self, directory: str | os.PathLike[str] | None = None, vault: TokenVault | None = None
    ) -> None:
        self.directory = Path(directory) if directory is not None else config_dir()
        self.path = self.directory / self.FILE_NAME
        self.vault = vault or TokenVault()
        self._data = self._read()

    def _read(self) -> dict:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, temp = tempfile.mkstemp(prefix=".settings-", dir=self.directory)  # mode 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(self._data, out, indent=2, sort_keys=True)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temp, 0o600)
            os.replace(temp, self.path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    @property
    def server_url(self) -> str | None:
        return self._data.get("server_url")

    @property
    def username(self) -> str | None:
        return self._data.get("username")

    @property
    def session(self) -> Session | None:
        saved = self._data.get("session")
        if not isinstance(saved, dict):
            return None
        saved = dict(saved)
        if saved.pop("token_in_keyring", False):
            try:
                saved["token"] = self.vault.load(f"{saved['username']}@{saved['server_url']}")
            except KeyError:
                return None
            if not saved["token"]:
                return None  # removed from the keyring meanwhile: sign in again
        try:
            session = Session(**saved)
        except TypeError:
            return None
        return session if all(isinstance(v, str) for v in asdict(session).values()) else None

    def session_for(self, server_url: str) -> Session | None:
        session = self.session
        return session if session and session.server_url == server_url else None

    def save_session(self, session: Session) -> None:
        saved: dict[str, Any] = asdict(session)
        if self.vault.save(session.account, session.token):
            del saved["token"]
            saved["token_in_keyring"] = True
        self._data.update(server_url=session.server_url, username=session.username, session=saved)
        self._write()

    def clear_session(self) -> None:
        """Forget the token; the server and user name stay as the sign-in defaults."""
        saved = self._data.pop("session", None)
        if saved is None:
            return
        if isinstance(saved, dict) and saved.get("token_in_keyring"):
            self.vault.delete(f"{saved.get('username')}@{saved.get('server_url')}")
        self._write()
