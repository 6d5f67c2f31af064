"""`trove-admin`: administration commands (create-user, migrate).

The database schema is brought up to date before every command."""

from __future__ import annotations

import argparse
import getpass
import sys

import sqlalchemy as sa

from backend import migrate
from backend.app import create_app
from backend.auth.passwords import hash_password
from backend.config import Config, ConfigError
from backend.extensions import db
from backend.models import User
from backend.names import InvalidName, normalize_name

MAX_USERNAME_CHARS = 150


def _read_password() -> str:
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != password:
            raise ValueError("the passwords do not match")
        return password
    return sys.stdin.readline().rstrip("\r\n")


def create_user(config: Config, username: str, password: str | None) -> int:
    try:
        username = normalize_name(username)
    except InvalidName as exc:
        print(f"error: invalid username: {exc}", file=sys.stderr)
        return 1
    if len(username) > MAX_USERNAME_CHARS:
        print(f"error: usernames are at most {MAX_USERNAME_CHARS} characters", file=sys.stderr)
        return 1
    app = create_app(config)
    with app.app_context():
        if db.session.scalar(sa.select(User.id).where(User.username == username)) is not None:
            print(f"error: user '{username}' already exists", file=sys.stderr)
            return 1
        if password is None:
            try:
                password = _read_password()
            except ValueError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
        if not password:
            print("error: the password cannot be empty", file=sys.stderr)
            return 1
        db.session.add(User(username=username, password_hash=hash_password(password)))
        try:
            db.session.commit()
        except sa.exc.IntegrityError:
            print(f"error: user '{username}' already exists", file=sys.stderr)
            return 1
    print(f"created user '{username}'")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trove-admin", description="Administer Trove.")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-user", help="create a user who can sign in")
    create.add_argument("name")
    create.add_argument("--password", help="the password (read from standard input when absent)")
    commands.add_parser("migrate", help="bring the database schema up to date")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        config = Config.from_env()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    config.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(config.database_url)
    if args.command == "migrate":
        print("database schema is up to date")
        return 0
    return create_user(config, args.name, args.password)


if __name__ == "__main__":
    raise SystemExit(main())
