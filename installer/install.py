"""Self-host Trove with Docker in one command: `installer/install.sh` (or `python3 -m
installer.install` from the repository root).

Writes `.env` with strong random secrets (existing values are kept, never overwritten),
builds and starts the stack, waits until every service is healthy, creates the first admin
and prints the address and the credentials. Safe to run again: it then keeps the secrets,
brings the stack up to date and leaves an existing admin as it is."""

from __future__ import annotations

import argparse
import errno
import os
import secrets
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from installer.compose import REPO_ROOT, ComposeError, Stack, check_engine, compose_command

SECRETS = ("MYSQL_ROOT_PASSWORD", "TROVE_DB_PASSWORD", "COMPRESSOR_DB_PASSWORD", "COMPRESSOR_TOKEN")
# COMPOSE_PROJECT_NAME in .env makes a hand-run `docker compose` use the same project (and
# so the same volumes) as the installer.
DEFAULTS = {
    "COMPOSE_PROJECT_NAME": "trove",
    "TROVE_HTTP_ADDRESS": "0.0.0.0",
    "TROVE_HTTP_PORT": "8080",
}


class InstallError(RuntimeError):
    """Something the person running the installer can fix; the message says how."""


def read_env(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if not path.exists():
        return values
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip().strip("'\"")
    return values


def new_secret() -> str:
    """256 bits, URL- and SQL-safe (letters, digits, - and _)."""
    return secrets.token_urlsafe(32)


def write_env(path: Path, overrides: Mapping[str, str] | None = None) -> list[str]:
    """Fill in what `.env` lacks; return the names of the secrets generated now.

    Existing secrets stay as they are: the database keeps the passwords of its first start."""
    current = read_env(path)
    lines = path.read_text().splitlines() if path.exists() else []
    created: list[str] = []
    wanted: dict[str, str] = {}
    for name in SECRETS:
        if not current.get(name):
            wanted[name] = new_secret()
            created.append(name)
    for name, value in DEFAULTS.items():
        if not current.get(name):
            wanted[name] = value
    for name, value in (overrides or {}).items():
        if name in SECRETS and current.get(name):
            raise InstallError(f"{name} is already set in {path}; it cannot be replaced")
        if current.get(name) != value:
            wanted[name] = value
    if not wanted:
        return created
    kept = [line for line in lines if line.partition("=")[0].strip() not in wanted]
    if not lines:
        kept = ["# Written by installer/install.sh. Keep the secrets: the database stores its"]
        kept.append("# passwords on its first start and does not read them again.")
    text = "\n".join([*kept, *(f"{k}={v}" for k, v in wanted.items())]) + "\n"
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)
    return created


def check_port_free(address: str, port: int) -> None:
    try:
        with socket.create_server((address, port)):
            pass
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise InstallError(
                f"port {port} on {address} is already in use by another program: stop it, "
                f"or choose a free port with --port (it is saved as TROVE_HTTP_PORT in .env)"
            ) from None
        if exc.errno == errno.EACCES:
            raise InstallError(
                f"no permission to use port {port}: choose a port above 1023 with --port"
            ) from None
        raise InstallError(f"cannot use {address}:{port}: {exc.strerror}") from None


def create_admin(stack: Stack, username: str) -> str | None:
    """The new admin's password, or None when the user exists already."""
    password = secrets.token_urlsafe(15)
    done = stack.run(
        "exec", "-T", "backend", "trove-admin", "create-user", username,
        stdin=password + "\n", check=False,
    )  # fmt: skip
    output = (done.stdout + done.stderr).strip()
    if done.returncode == 0:
        return password
    if "already exists" in output:
        return None
    raise InstallError(f"could not create the admin user: {output}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="installer/install.sh", description="Build, start and set up Trove with Docker."
    )
    parser.add_argument("--env-file", type=Path, default=REPO_ROOT / ".env")
    parser.add_argument("--project-name", help="compose project (default: .env's, else trove)")
    parser.add_argument("--port", type=int, help="port to publish the API on (default 8080)")
    parser.add_argument("--address", help="address to publish on (default 0.0.0.0: all)")
    parser.add_argument("--admin", default="admin", help="name of the first admin user")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait (600)")
    return parser


def install(args: argparse.Namespace) -> int:
    check_engine()
    command = tuple(compose_command())
    overrides = {}
    if args.project_name is not None:
        overrides["COMPOSE_PROJECT_NAME"] = args.project_name
    if args.port is not None:
        overrides["TROVE_HTTP_PORT"] = str(args.port)
    if args.address is not None:
        overrides["TROVE_HTTP_ADDRESS"] = args.address
    env_file = args.env_file.resolve()
    planned = {**DEFAULTS, **{k: v for k, v in read_env(env_file).items() if v}, **overrides}
    address, port = planned["TROVE_HTTP_ADDRESS"], int(planned["TROVE_HTTP_PORT"])
    stack = Stack(env_file, planned["COMPOSE_PROJECT_NAME"], command)
    if stack.published_port("backend", 8080) != port:  # not already ours
        check_port_free(address, port)
    created = write_env(env_file, overrides)
    kept = len(SECRETS) - len(created)
    print(f"{env_file}: {len(created)} secrets generated, {kept} kept")
    print(f"building the images with `{' '.join(command)}` ...", flush=True)
    if stack.build(capture=False).returncode != 0:
        raise InstallError("the images could not be built; the messages above say why")
    print("starting the stack ...", flush=True)
    up = stack.run("up", "-d", capture=False, check=False)
    if up.returncode != 0:
        raise InstallError("the stack did not start; the messages above say why")
    print("waiting until every service is healthy ...", flush=True)
    seconds = stack.wait_healthy(timeout=args.timeout)
    print(f"healthy after {seconds:.0f} s")
    password = create_admin(stack, args.admin)
    host = "localhost" if address in ("0.0.0.0", "::", "127.0.0.1") else address
    print()
    print(f"Trove is running at http://{host}:{port}/ (API /api/v1, health /readyz)")
    print(f"compose project: {stack.project} (set in {env_file.name} as COMPOSE_PROJECT_NAME)")
    if password is None:
        print(f"admin user '{args.admin}' exists already; its password is unchanged")
    else:
        print(f"admin user: {args.admin}")
        print(f"password:   {password}   (shown once; sign in with the desktop app)")
    print("Put a reverse proxy with TLS in front before exposing it (see README).")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return install(args)
    except (InstallError, ComposeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except subprocess.SubprocessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
