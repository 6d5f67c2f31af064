"""A throw-away MariaDB server for tests, started from Debian's `mariadb-server` binaries.

The server runs as a child process with its own data directory, socket and free TCP port on
127.0.0.1; no system service is needed or touched.
"""

from __future__ import annotations

import getpass
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support.net import free_port

SERVER_CANDIDATES = ("/usr/sbin/mariadbd", "/usr/sbin/mysqld")


def _find(name: str, candidates: tuple[str, ...] = ()) -> str:
    for path in candidates:
        if Path(path).exists():
            return path
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(
            f"{name} not found: install Debian's mariadb-server (make test-deps does)"
        )
    return found


@dataclass
class Database:
    name: str
    user: str
    password: str
    port: int

    @property
    def sqlalchemy_url(self) -> str:
        return (
            f"mysql+pymysql://{self.user}:{self.password}@127.0.0.1:{self.port}/{self.name}"
            "?charset=utf8mb4"
        )

    @property
    def sqlx_url(self) -> str:
        return f"mysql://{self.user}:{self.password}@127.0.0.1:{self.port}/{self.name}"


class MariaDB:
    """One server process; call :meth:`create_database` for each isolated database."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.datadir = root / "data"
        self.socket = root / "mysqld.sock"
        self.port = free_port()
        self.log_path = root / "mariadb.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                _find("mariadb-install-db"),
                "--no-defaults",
                f"--datadir={self.datadir}",
                f"--user={getpass.getuser()}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    _find("mariadbd", SERVER_CANDIDATES),
                    "--no-defaults",
                    f"--datadir={self.datadir}",
                    f"--socket={self.socket}",
                    f"--port={self.port}",
                    "--bind-address=127.0.0.1",
                    f"--user={getpass.getuser()}",
                    "--skip-name-resolve",
                    "--character-set-server=utf8mb4",
                    "--collation-server=utf8mb4_unicode_ci",
                    "--innodb-buffer-pool-size=64M",
                    "--innodb-flush-log-at-trx-commit=2",
                    "--max-connections=200",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mariadbd exited early:\n{self.log_path.read_text()[-2000:]}")
            if self._sql("SELECT 1", check=False).returncode == 0:
                return
            time.sleep(0.2)
        raise TimeoutError("mariadbd did not accept connections in time")

    def _sql(self, statement: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                _find("mariadb"),
                "--no-defaults",
                "-uroot",
                f"--socket={self.socket}",
                "-e",
                statement,
            ],
            check=check,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def create_database(self, prefix: str) -> Database:
        """A fresh utf8mb4 database with its own least-privilege user."""
        suffix = secrets.token_hex(4)
        db = Database(
            f"{prefix}_{suffix}", f"{prefix[:8]}_{suffix}", secrets.token_hex(12), self.port
        )
        self._sql(
            f"CREATE DATABASE `{db.name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;"
            f"CREATE USER '{db.user}'@'127.0.0.1' IDENTIFIED BY '{db.password}';"
            f"GRANT ALL PRIVILEGES ON `{db.name}`.* TO '{db.user}'@'127.0.0.1';"
        )
        return db

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None
