"""Run Trove from a source checkout: `make serve` (services only) and `make run` (plus the app).

Both honour the configuration variables of DESIGN.md; the defaults put everything under
./data with SQLite, the compressor on 127.0.0.1:8081 and the backend on 127.0.0.1:8080.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parents[1]
FIRST_USER = "admin"


class StartError(RuntimeError):
    """A service did not come up; the message says why and what to do."""


def stack_env() -> dict[str, str]:
    """The environment both services share, with every default made explicit."""
    env = dict(os.environ)
    data_dir = Path(env.get("TROVE_DATA_DIR", "data")).resolve()
    env["TROVE_DATA_DIR"] = str(data_dir)
    env.setdefault("COMPRESSOR_DATA_DIR", str(data_dir / "compressor"))
    env.setdefault("COMPRESSOR_HOST", "127.0.0.1")
    env.setdefault("COMPRESSOR_PORT", "8081")
    env.setdefault("TROVE_HOST", "127.0.0.1")
    env.setdefault("TROVE_PORT", "8080")
    env.setdefault(
        "TROVE_COMPRESSOR_URL", f"http://{env['COMPRESSOR_HOST']}:{env['COMPRESSOR_PORT']}"
    )
    env.setdefault("RUST_LOG", "info")
    return env


def compressor_bin() -> Path:
    default = REPO_ROOT / "compressor" / "target" / "release" / "trove-compressor"
    return Path(os.environ.get("TROVE_COMPRESSOR_BIN", default))


def wait_healthy(name: str, url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StartError(f"{name} exited with code {proc.returncode}; see the log above")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise StartError(f"{name} did not answer {url} within {timeout:.0f}s")


def start_services(env: dict[str, str]) -> list[subprocess.Popen[bytes]]:
    binary = compressor_bin()
    if not binary.exists():
        raise StartError(f"{binary} is missing: run `make build` first")
    Path(env["COMPRESSOR_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        compressor = subprocess.Popen([str(binary), "serve"], env=env)
        procs.append(compressor)
        compressor_url = f"http://{env['COMPRESSOR_HOST']}:{env['COMPRESSOR_PORT']}"
        wait_healthy("compressor", f"{compressor_url}/healthz", compressor)
        backend = subprocess.Popen([sys.executable, "-m", "backend"], env=env, cwd=REPO_ROOT)
        procs.append(backend)
        wait_healthy("backend", f"{backend_url(env)}/healthz", backend)
    except BaseException:
        stop_services(procs)
        raise
    return procs


def backend_url(env: dict[str, str]) -> str:
    return f"http://{env['TROVE_HOST']}:{env['TROVE_PORT']}"


def stop_services(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in reversed(procs):
        if proc.poll() is None:
            proc.terminate()
    for proc in reversed(procs):
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


def ensure_first_user(env: dict[str, str]) -> Path | None:
    """Create the first user once and show its credentials; return the credentials file."""
    creds = Path(env["TROVE_DATA_DIR"]) / "first-user.json"
    if creds.exists():
        return creds
    password = secrets.token_urlsafe(12)
    result = subprocess.run(
        [sys.executable, "-m", "backend.cli", "create-user", FIRST_USER, "--password", password],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        print(f"Not creating a first user: {result.stderr.strip() or result.stdout.strip()}")
        return None
    fd = os.open(creds, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"username": FIRST_USER, "password": password}, fh)
    print(
        "\n  First user created. Sign in with\n"
        f"    server:   {backend_url(env)}\n    username: {FIRST_USER}\n    password: {password}\n"
        f"  (kept in {creds}, readable only by you)\n"
    )
    return creds


def wait_forever(procs: list[subprocess.Popen[bytes]]) -> int:
    while True:
        for proc in procs:
            if proc.poll() is not None:
                print(f"a service exited with code {proc.returncode}; stopping", file=sys.stderr)
                return 1
        time.sleep(0.5)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["serve", "run"])
    args = parser.parse_args(argv)
    env = stack_env()
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        procs = start_services(env)
    except StartError as exc:
        print(f"trove: {exc}", file=sys.stderr)
        return 1
    try:
        print(f"Trove is running: backend {backend_url(env)}, data in {env['TROVE_DATA_DIR']}")
        if args.command == "serve":
            return wait_forever(procs)
        creds = ensure_first_user(env)
        app = [sys.executable, "-m", "desktop_app", "--server", backend_url(env)]
        if creds is not None:
            app += ["--credentials-file", str(creds)]
        return subprocess.call(app, env=env, cwd=REPO_ROOT)
    except KeyboardInterrupt:
        return 0
    finally:
        stop_services(procs)


if __name__ == "__main__":
    sys.exit(main())
