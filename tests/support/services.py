"""Start the real Trove services as subprocesses for tests.

Each service runs from the same entry point a user runs (`trove-compressor`,
`python -m backend`), on a free port, with its own data directory and log file.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.support.net import free_port, wait_http_ok

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPRESSOR_BIN = Path(
    os.environ.get(
        "TROVE_COMPRESSOR_BIN", REPO_ROOT / "compressor" / "target" / "release" / "trove-compressor"
    )
)
START_TIMEOUT = 60.0


def _base_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TROVE_", "COMPRESSOR_")) or k == "TROVE_COMPRESSOR_BIN"
    }
    env.setdefault("RUST_LOG", "info")
    env["PYTHONUNBUFFERED"] = "1"
    return env


@dataclass
class Service:
    """A service process that can be stopped, killed and started again with the same set-up."""

    name: str
    argv: list[str]
    env: dict[str, str]
    health_url: str
    log_path: Path
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def start(self) -> None:
        if self.running:
            return
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.argv,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO_ROOT,
            start_new_session=True,
        )
        log.close()
        try:
            wait_http_ok(self.health_url, START_TIMEOUT, lambda: self.running)
        except (RuntimeError, TimeoutError) as exc:
            self.kill()
            raise RuntimeError(f"{self.name} failed to start: {exc}\n{self.log_tail()}") from exc

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        """Stop gracefully (SIGTERM), escalating to SIGKILL."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None

    def kill(self) -> None:
        """Kill -9: no chance to clean up, as in a crash or power cut."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


@dataclass
class Compressor(Service):
    data_dir: Path = Path()
    url: str = ""

    @property
    def token(self) -> str:
        return (self.data_dir / "token").read_text().strip()

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def make_compressor(data_dir: Path, database_url: str | None = None) -> Compressor:
    if not COMPRESSOR_BIN.exists():
        raise RuntimeError(
            f"compressor binary not found at {COMPRESSOR_BIN}; build it with "
            "`cargo build --release --manifest-path compressor/Cargo.toml` (make build does)"
        )
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    env = _base_env() | {
        "COMPRESSOR_HOST": "127.0.0.1",
        "COMPRESSOR_PORT": str(port),
        "COMPRESSOR_DATA_DIR": str(data_dir),
    }
    if database_url:
        env["COMPRESSOR_DATABASE_URL"] = database_url
    url = f"http://127.0.0.1:{port}"
    return Compressor(
        name="compressor",
        argv=[str(COMPRESSOR_BIN), "serve"],
        env=env,
        health_url=f"{url}/healthz",
        log_path=data_dir.parent / "compressor.log",
        data_dir=data_dir,
        url=url,
    )


@dataclass
class Backend(Service):
    data_dir: Path = Path()
    base_url: str = ""

    def admin(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run the `trove-admin` CLI against this backend's configuration."""
        return subprocess.run(
            [sys.executable, "-m", "backend.cli", *args],
            env=self.env,
            cwd=REPO_ROOT,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
        )


def make_backend(
    data_dir: Path,
    compressor: Compressor,
    database_url: str | None = None,
    extra_env: dict[str, str] | None = None,
) -> Backend:
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    env = _base_env() | {
        "TROVE_DATA_DIR": str(data_dir),
        "TROVE_HOST": "127.0.0.1",
        "TROVE_PORT": str(port),
        "TROVE_COMPRESSOR_URL": compressor.url,
        "COMPRESSOR_DATA_DIR": str(compressor.data_dir),
    }
    if database_url:
        env["TROVE_DATABASE_URL"] = database_url
    env.update(extra_env or {})
    base_url = f"http://127.0.0.1:{port}"
    return Backend(
        name="backend",
        argv=[sys.executable, "-m", "backend"],
        env=env,
        health_url=f"{base_url}/healthz",
        log_path=data_dir / "backend.log",
        data_dir=data_dir,
        base_url=base_url,
    )


@dataclass
class Stack:
    """A compressor and a backend wired together, with one signed-in user."""

    compressor: Compressor
    backend: Backend
    username: str
    password: str
    token: str = ""

    @property
    def base_url(self) -> str:
        return self.backend.base_url

    @property
    def data_dir(self) -> Path:
        return self.backend.data_dir

    @property
    def compressor_url(self) -> str:
        return self.compressor.url

    @property
    def compressor_token(self) -> str:
        return self.compressor.token

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def start(self) -> None:
        self.compressor.start()
        self.backend.start()

    def stop(self) -> None:
        self.backend.stop()
        self.compressor.stop()

    def start_backend(self) -> None:
        self.backend.start()

    def stop_backend(self) -> None:
        self.backend.stop()

    def held_upload_locks(self) -> int:
        """How many uploads a writer holds locked (the embedded database only)."""
        database = self.data_dir / "trove.db"
        with contextlib.closing(sqlite3.connect(database, timeout=5)) as db:
            query = "SELECT COUNT(*) FROM uploads WHERE lock_token IS NOT NULL"
            return int(db.execute(query).fetchone()[0])

    def create_user(self, username: str, password: str) -> None:
        result = self.backend.admin("create-user", username, "--password", password)
        if result.returncode != 0:
            raise RuntimeError(f"create-user failed: {result.stdout}{result.stderr}")

    def login(self, username: str, password: str) -> str:
        response = requests.post(
            f"{self.base_url}/api/v1/auth/login",
            json={"username": username, "password": password},
            timeout=30,
        )
        response.raise_for_status()
        return str(response.json()["token"])


def start_stack(
    root: Path,
    backend_database_url: str | None = None,
    compressor_database_url: str | None = None,
    username: str = "alice",
    password: str = "correct horse battery staple",
    backend_env: dict[str, str] | None = None,
) -> Stack:
    """Start compressor and backend under ``root`` and sign ``username`` in."""
    compressor = make_compressor(root / "data" / "compressor", compressor_database_url)
    backend = make_backend(root / "data", compressor, backend_database_url, backend_env)
    stack = Stack(compressor, backend, username, password)
    try:
        stack.start()
        stack.create_user(username, password)
        stack.token = stack.login(username, password)
    except BaseException:
        stack.stop()
        raise
    return stack
