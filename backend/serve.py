"""`trove-backend` / `python -m backend`: migrate, start the worker, serve with waitress."""

from __future__ import annotations

import logging
import signal
import sys
from types import FrameType

from waitress.server import BaseWSGIServer, MultiSocketServer, create_server

from backend import migrate, thumbnails
from backend.app import create_app
from backend.blueprints.uploads import UPLOADS_PATH
from backend.config import Config, ConfigError
from backend.db_wait import DatabaseUnavailable, wait_for_database
from backend.services.upload_locks import BODY_IDLE_TIMEOUT_SECONDS
from backend.streaming import channel_class, cut_streamed_bodies
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


def use_trove_channels(server: BaseWSGIServer | MultiSocketServer) -> None:
    """Make every listening socket of `server` keep connections open after bodiless
    answers and stream upload bodies to the app (see :mod:`backend.streaming`)."""
    if server.adj.channel_request_lookahead:
        # A channel would read the next request while a task reads the body.
        raise ValueError("streamed upload bodies need channel_request_lookahead = 0")
    channel = channel_class([UPLOADS_PATH + "/"], BODY_IDLE_TIMEOUT_SECONDS)
    listeners = server.map.values() if isinstance(server, MultiSocketServer) else [server]
    for listener in listeners:
        if isinstance(listener, BaseWSGIServer):
            listener.channel_class = channel


def waitress_settings(config: Config) -> dict[str, object]:
    """Limits that keep the server's memory flat whatever the upload size.

    Upload bodies go straight from the socket to the app (:mod:`backend.streaming`,
    which needs `channel_request_lookahead` 0: a channel reads nothing while it serves).
    waitress reads any other body before the app runs: up to `inbuf_overflow` bytes in
    memory, the rest in a temporary file, so a body costs at most that much memory per
    connection. Answers spill to disk past `outbuf_overflow` the same way."""
    return {
        "threads": config.threads,
        "max_request_body_size": config.max_request_bytes,
        "max_request_header_size": 64 * 1024,
        "inbuf_overflow": 512 * 1024,
        "outbuf_overflow": 1024 * 1024,
        "recv_bytes": 256 * 1024,
        "channel_request_lookahead": 0,
        "connection_limit": 100,
        "channel_timeout": 300,
        "cleanup_interval": 30,
        "ident": "trove",
    }


def main() -> int:
    configure_logging()
    try:
        config = Config.from_env()
    except ConfigError as exc:
        log.error("configuration error: %s", exc)
        return 2
    config.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        wait_for_database(config.database_url, config.database_wait_seconds)
    except DatabaseUnavailable as exc:
        log.error("%s", exc)
        return 3
    migrate.upgrade(config.database_url)
    app = create_app(config)
    log.info("%s", thumbnails.support())
    worker = Worker(app)
    server = create_server(
        app,
        host=config.host,
        port=config.port,
        **waitress_settings(config),
    )
    use_trove_channels(server)

    def _shutdown(signum: int, _frame: FrameType | None) -> None:
        log.info("received signal %d, shutting down", signum)
        cut = cut_streamed_bodies()
        if cut:
            log.info("cut %d upload bodies short; their clients resume from what arrived", cut)
        raise SystemExit(0)  # waitress's run() catches it and stops its task threads

    signal.signal(signal.SIGTERM, _shutdown)
    signal.signal(signal.SIGINT, _shutdown)
    worker.start()
    for host, port in _addresses(server):
        log.info("listening on %s:%s", host, port)
    try:
        server.run()
        # A single listener has let its task threads finish already; several have not.
        server.task_dispatcher.shutdown(timeout=5)
    finally:
        worker.stop()
    log.info("stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
