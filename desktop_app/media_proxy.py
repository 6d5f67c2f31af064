"""A loopback HTTP relay that lets a media player stream files it cannot authorise itself.

Qt's media player fetches a URL on its own and cannot add an ``Authorization`` header, so
the preview hands it ``http://127.0.0.1:PORT/media/GRANT`` instead. Each grant is a random,
unguessable token for exactly one file; the relay forwards the player's requests (with
their ``Range``, so seeking works) to ``/api/v1/files/{id}/content`` with the bearer token,
and streams the answer back block by block. The token never leaves the process, the relay
listens on loopback only, and grants are revoked when the preview moves on.

Revoking also cuts the streams in flight, from the calling thread. The player's stop and
source changes block the UI thread inside Qt, holding the GIL, until the player's reader
thread lets go of its stream; a relay thread serving that stream would need the GIL to go
on, so without the cut the two would wait for each other for ever.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import socket
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from desktop_app.api import ApiClient
from desktop_app.errors import TroveError

log = logging.getLogger(__name__)

RELAY_CHUNK = 64 * 1024
# Headers of the backend's answer that the player needs (length, seeking, type).
PASSED_HEADERS = ("Content-Length", "Content-Range", "Accept-Ranges", "Content-Type")


class MediaProxy:
    """Serves granted files of one signed-in account on ``127.0.0.1``, on a free port."""

    def __init__(self, api: ApiClient) -> None:
        self.api = api
        self._grants: dict[str, int] = {}
        self._streams: set[socket.socket] = set()
        self._lock = threading.Lock()
        proxy = self

        class Handler(_RelayHandler):
            relay = proxy

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="media-proxy", daemon=True
        )
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def grant(self, file_id: int) -> str:
        """A URL the player may fetch (and seek in) for this one file."""
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._grants[token] = file_id
        return f"http://127.0.0.1:{self.port}/media/{token}"

    def revoke_all(self) -> None:
        """Forget every grant and cut every stream still being served."""
        with self._lock:
            self._grants.clear()
            streams = list(self._streams)
        for stream in streams:
            with contextlib.suppress(OSError):
                stream.shutdown(socket.SHUT_RDWR)

    def serving(self, stream: socket.socket, active: bool) -> None:
        """Note a player connection as open or closed (see :meth:`revoke_all`)."""
        with self._lock:
            if active:
                self._streams.add(stream)
            else:
                self._streams.discard(stream)

    def file_for(self, path: str) -> int | None:
        prefix, _, token = path.partition("/media/")
        if prefix or not token:
            return None
        with self._lock:
            for known, file_id in self._grants.items():
                if secrets.compare_digest(known, token):
                    return file_id
        return None

    def close(self) -> None:
        self.revoke_all()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


class _RelayHandler(BaseHTTPRequestHandler):
    relay: MediaProxy
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.relay.serving(self.connection, True)

    def finish(self) -> None:
        self.relay.serving(self.connection, False)
        super().finish()

    def do_GET(self) -> None:
        self._relay(send_body=True)

    def do_HEAD(self) -> None:
        self._relay(send_body=False)

    def _relay(self, send_body: bool) -> None:
        file_id = self.relay.file_for(self.path.split("?", 1)[0])
        if file_id is None:
            self._plain(HTTPStatus.NOT_FOUND, "No such media here.")
            return
        headers = {"Range": self.headers["Range"]} if self.headers.get("Range") else {}
        try:
            upstream = self.relay.api.send(
                "HEAD" if not send_body else "GET",
                f"/api/v1/files/{file_id}/content",
                headers=headers,
                stream=True,
            )
        except TroveError as exc:
            self._plain(HTTPStatus.BAD_GATEWAY, str(exc))
            return
        with contextlib.closing(upstream):
            self.send_response(upstream.status_code)
            for name in PASSED_HEADERS:
                if name in upstream.headers:
                    self.send_header(name, upstream.headers[name])
            if "Content-Length" not in upstream.headers:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if not send_body:
                return
            try:
                for block in upstream.iter_content(RELAY_CHUNK):
                    self.wfile.write(block)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the player seeked or stopped: normal
            except OSError as exc:  # the backend went away mid-stream
                log.info("media relay of file %s stopped: %s", file_id, exc)
                self.close_connection = True

    def _plain(self, status: HTTPStatus, text: str) -> None:
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("media relay: " + format, *args)
