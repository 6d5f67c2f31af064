"""A small threaded TCP proxy that breaks connections on purpose.

It sits between a client and the backend and counts the bytes the clients send
(over all connections, so resends count too). At chosen counts it cuts the connection
in the middle of a request (`cut_at`), lets the request through and throws away the
server's answer (`drop_answer_after`), as a flaky network or a proxy timeout would, or
flips the bits of one byte on the way (`damage_at`), as faulty hardware would.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass, field

_BLOCK = 64 * 1024


@dataclass
class ProxyLog:
    cuts: list[int] = field(default_factory=list)  # upstream byte counts where cut
    dropped_answers: list[int] = field(default_factory=list)
    damaged: list[int] = field(default_factory=list)
    connections: int = 0


class FaultyProxy:
    def __init__(self, target_host: str, target_port: int, listen_port: int = 0) -> None:
        self.target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", listen_port))
        self.port = self._listener.getsockname()[1]
        self.upstream_bytes = 0
        self.log = ProxyLog()
        self._lock = threading.Lock()
        self._cut_points: list[int] = []
        self._drop_points: list[int] = []
        self._damage_points: list[int] = []
        self._sockets: set[socket.socket] = set()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="faulty-proxy", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cut_at(self, *upstream_offsets: int) -> None:
        """Cut the connection once the clients have sent this many bytes in total."""
        with self._lock:
            self._cut_points = sorted([*self._cut_points, *upstream_offsets])

    def drop_answer_after(self, *upstream_offsets: int) -> None:
        """Swallow the first answer the server gives after the clients sent this many
        bytes, and close the connection instead: the request took effect, the client
        never hears so."""
        with self._lock:
            self._drop_points = sorted([*self._drop_points, *upstream_offsets])

    def damage_at(self, *upstream_offsets: int) -> None:
        """Invert the byte the clients send at each of these counts (from 0)."""
        with self._lock:
            self._damage_points = sorted([*self._damage_points, *upstream_offsets])

    def pending_faults(self) -> int:
        with self._lock:
            return len(self._cut_points) + len(self._drop_points) + len(self._damage_points)

    def start(self) -> FaultyProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._closed.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            _close(sock)
        self._thread.join(5)

    def __enter__(self) -> FaultyProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target, timeout=10)
                server.settimeout(None)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._sockets.update((client, server))
                self.log.connections += 1
            pair = (client, server)
            threading.Thread(target=self._upstream, args=pair, daemon=True).start()
            threading.Thread(target=self._downstream, args=pair, daemon=True).start()

    def _finish(self, client: socket.socket, server: socket.socket) -> None:
        for sock in (client, server):
            _close(sock)
        with self._lock:
            self._sockets.discard(client)
            self._sockets.discard(server)

    def _upstream(self, client: socket.socket, server: socket.socket) -> None:
        try:
            while data := client.recv(_BLOCK):
                with self._lock:
                    cut = None
                    if self._cut_points and self.upstream_bytes + len(data) >= self._cut_points[0]:
                        cut = self._cut_points.pop(0)
                        data = data[: max(0, cut - self.upstream_bytes)]
                    data = self._damage(data)
                    self.upstream_bytes += len(data)
                    if cut is not None:
                        self.log.cuts.append(cut)
                if data:
                    server.sendall(data)
                if cut is not None:
                    break
        except OSError:
            pass
        self._finish(client, server)

    def _damage(self, data: bytes) -> bytes:
        """`data` (about to be counted) with the bytes due for damage inverted; under
        the lock."""
        end = self.upstream_bytes + len(data)
        if not self._damage_points or self._damage_points[0] >= end:
            return data
        damaged = bytearray(data)
        while self._damage_points and self._damage_points[0] < end:
            point = self._damage_points.pop(0)
            damaged[point - self.upstream_bytes] ^= 0xFF
            self.log.damaged.append(point)
        return bytes(damaged)

    def _downstream(self, client: socket.socket, server: socket.socket) -> None:
        try:
            while data := server.recv(_BLOCK):
                with self._lock:
                    drop = bool(self._drop_points) and self.upstream_bytes >= self._drop_points[0]
                    if drop:
                        self.log.dropped_answers.append(self._drop_points.pop(0))
                if drop:
                    break
                client.sendall(data)
        except OSError:
            pass
        self._finish(client, server)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
