"""`trove-backend` / `python -m backend`: migrate, start the worker, serve with waitress."""

from __future__ import annotations

import logging
import signal
import sys
from types import FrameType

from waitress.server import BaseWSGIServer, MultiSocketServer, create_server

from backend import migrate
from backend.app import create_app
from backend.config import Config, ConfigError
from backend.worker import Worker

log = logging.getLogger("backend")


def configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _addresses(server: BaseWSGIServer | MultiSocketServer) -> list[tuple[str, int]]:
    if isinstance(server, MultiSocketServer):
        return [(str(host), int(port)) for host, port in server.effective_listen]
    return [(str(server.effective_host), int(server.effective_port))]


def main() -> int:
    configure_logging()
    try:
        config = Config.from_env()
    except ConfigError as exc:
        log.error("configuration error: %s", exc)
        return 2
    config.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(config.database_url)
    app = create_app(config)
    worker = Worker(app)
    server = create_server(
        app,
        host=config.host,
        port=config.port,
        threads=config.threads,
        # Upload bodies may be as large as a whole file; waitress spools them to disk.
        max_request_body_size=config.max_upload_bytes,
        channel_timeout=300,
        ident="trove",
    )

    def _shutdown(signum: int, _frame: FrameType | None) -> None:
        log.info("received signal %d, shutting down", signum)
        raise SystemExit(0)  # waitress's run() catches it and stops its task threads

    signal.signal(signal.SIGTERM, _shutdown)
    signal.signal(signal.SIGINT, _shutdown)
    worker.start()
    for host, port in _addresses(server):
        log.info("listening on %s:%s", host, port)
    try:
        server.run()
    finally:
        worker.stop()
    log.info("stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
