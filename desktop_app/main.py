"""``trove-desktop``: the Trove desktop client."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from desktop_app import __version__
from desktop_app.api import normalize_server_url
from desktop_app.settings import Settings, config_dir, data_dir


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="trove-desktop", description="Trove: your files, stored byte-exact in fewer bytes."
    )
    parser.add_argument("--server", metavar="URL", help="the Trove server to use")
    parser.add_argument(
        "--credentials-file",
        metavar="PATH",
        type=Path,
        help='JSON {"username": ..., "password": ...} to sign in with when not signed in',
    )
    parser.add_argument("--config-dir", type=Path, help="where settings and the session live")
    parser.add_argument("--data-dir", type=Path, help="where the upload queue lives")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser.parse_args(argv)


def read_credentials(path: Path) -> tuple[str, str]:
    """``(username, password)`` from a JSON file; ``ValueError`` with a reason otherwise."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"Cannot read {path}: {exc.strerror}.") from exc
    except ValueError as exc:
        raise ValueError(f"{path} is not valid JSON.") from exc
    if not (
        isinstance(data, dict)
        and isinstance(data.get("username"), str)
        and isinstance(data.get("password"), str)
    ):
        raise ValueError(f'{path} must hold {{"username": "...", "password": "..."}}.')
    return data["username"], data["password"]


def create_app(args: argparse.Namespace):
    """The application and its controller, not started yet (``ValueError`` for bad args)."""
    server_url = normalize_server_url(args.server) if args.server else None
    credentials = read_credentials(args.credentials_file) if args.credentials_file else None

    from PySide6.QtWidgets import QApplication

    from desktop_app.ui.controller import AppController

    app = QApplication(sys.argv[:1])
    app.setApplicationName("Trove")
    app.setApplicationVersion(__version__)
    app.setQuitOnLastWindowClosed(True)
    controller = AppController(
        Settings(args.config_dir or config_dir()),
        args.data_dir or data_dir(),
        server_url=server_url,
        credentials=credentials,
    )
    return app, controller


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        app, controller = create_app(args)
    except ValueError as exc:
        print(f"trove-desktop: {exc}", file=sys.stderr)
        return 2
    controller.start()
    try:
        return app.exec()
    finally:
        controller.shutdown()


if __name__ == "__main__":
    sys.exit(main())
