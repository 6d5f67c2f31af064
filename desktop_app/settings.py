"""Where the client keeps its settings and session, and the session itself.

The settings file holds a bearer token, so it is written readable by the user only.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

APP_NAME = "trove"


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


class Settings:
    """``settings.json`` in the config folder: last server, last user, saved session."""

    FILE_NAME = "settings.json"

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.directory = Path(directory) if directory is not None else config_dir()
        self.path = self.directory / self.FILE_NAME
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
        try:
            return Session(**saved)
        except TypeError:
            return None

    def session_for(self, server_url: str) -> Session | None:
        session = self.session
        return session if session and session.server_url == server_url else None

    def save_session(self, session: Session) -> None:
        self._data.update(
            server_url=session.server_url, username=session.username, session=asdict(session)
        )
        self._write()

    def clear_session(self) -> None:
        """Forget the token; the server and user name stay as the sign-in defaults."""
        if self._data.pop("session", None) is not None:
            self._write()
