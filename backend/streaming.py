"""waitress channels that hand upload bodies to the app as they arrive.

waitress reads a whole request body before the app runs, spooling it past
`inbuf_overflow` to a temporary file: every upload chunk is then written twice, and the
app only starts on it once the client has sent its last byte. For the paths given
(tus PATCH and creation-with-upload), a request whose headers announce a
`Content-Length` is handed to a task thread as soon as its headers are in; the app reads
the body straight from the socket.

This is safe because a waitress channel reads nothing while it has a request in service
(`channel_request_lookahead` 0): the task thread owns the socket's incoming side until it
answers. It never reads past the body, so a pipelined request stays in the socket for the
channel. A client that goes away or stalls longer than the idle timeout makes the body
raise `OSError`: the upload code keeps what arrived (all of it or, for a chunk with a
checksum, none) and answers 400. When the server stops, :func:`cut_streamed_bodies`
ends every body in flight the same way, so that each request lets go of its upload. A
body the app did not read to its end is drained before the answer when it is small,
otherwise the connection closes after the answer: the next request on the
connection never starts inside an old body.
"""

from __future__ import annotations

import contextlib
import functools
import io
import select
import socket
import time
import weakref
from collections.abc import Iterable
from typing import Any

from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.task import WSGITask

from backend.server_errors import ProblemErrorTask

STREAMED_METHODS = frozenset({"PATCH", "POST"})
DRAIN_LIMIT = 64 * 1024 * 1024  # unread body bytes skipped to keep a connection open
_DRAIN_BLOCK = 1024 * 1024
# Bodies being streamed; made and cut on the server's main thread only.
_IN_FLIGHT: weakref.WeakSet[SocketBody] = weakref.WeakSet()


class ServerStopping(ConnectionAbortedError):
    """The body was cut short because the server is stopping, not by its client."""


def cut_streamed_bodies() -> int:
    """End every body in flight as if its client had stopped sending, so that requests
    still reading one keep what arrived, let go of their uploads' locks and answer
    instead of holding the locks past the process's end. Returns how many were cut."""
    bodies = [body for body in list(_IN_FLIGHT) if not body.exhausted]
    for body in bodies:
        body.cut()
    return len(bodies)


class SocketBody(io.RawIOBase):
    """`length` body bytes: those that came with the headers, then the socket's."""

    def __init__(self, channel: HTTPChannel, length: int, head: bytes, idle_timeout: float):
        super().__init__()
        self._channel = channel
        self._head = memoryview(head)
        self._in_socket = length - len(head)
        self._idle_timeout = idle_timeout
        self._poller: Any = None
        self._cut = False
        self.broken = False
        _IN_FLIGHT.add(self)

    def readable(self) -> bool:
        return True

    @property
    def exhausted(self) -> bool:
        return not self._head and self._in_socket == 0

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if not view:
            return 0
        if self._head:
            count = min(len(view), len(self._head))
            view[:count] = self._head[:count]
            self._head = self._head[count:]
            return count
        if self._in_socket == 0:
            return 0
        if self.broken:
            raise ConnectionAbortedError("the request body was cut off")
        try:
            count = self._receive(view[: self._in_socket])
        except OSError:
            self.broken = True
            raise
        self._in_socket -= count
        self._channel.last_activity = time.time()
        return count

    def _receive(self, view: memoryview) -> int:
        sock = self._channel.socket
        while True:
            try:
                count = sock.recv_into(view)
            except (BlockingIOError, InterruptedError):
                self._wait(sock)
                continue
            if not count and self._cut:
                raise ServerStopping("the server is stopping")
            if not count:
                raise ConnectionResetError("the client closed the connection mid-body")
            return int(count)

    def cut(self) -> None:
        """Stop reading: the reader wakes up and sees the body end early."""
        self._cut = True
        with contextlib.suppress(OSError):
            self._channel.socket.shutdown(socket.SHUT_RD)

    def _wait(self, sock: Any) -> None:
        if self._poller is None:
            self._poller = select.poll()
            self._poller.register(sock, select.POLLIN | select.POLLPRI)
        if not self._poller.poll(self._idle_timeout * 1000):
            raise TimeoutError(f"no body bytes for {self._idle_timeout:g} s")

    def drain(self, limit: int) -> bool:
        """Skip what the app left unread when it is at most `limit` bytes; whether the
        connection is now at the end of the body."""
        self._head = self._head[len(self._head) :]
        if self.broken or self._in_socket > limit:
            return False
        scratch = memoryview(bytearray(min(_DRAIN_BLOCK, self._in_socket)))
        try:
            while self._in_socket:
                self.readinto(scratch)
        except OSError:
            return False
        return True


class StreamingParser(HTTPRequestParser):
    """Parses a request like waitress does, but completes a streamed request at the end
    of its headers, taking the body bytes that came with them."""

    def __init__(
        self, adj: Any, *, channel: HTTPChannel, prefixes: tuple[str, ...], idle_timeout: float
    ) -> None:
        super().__init__(adj)
        self._channel = channel
        self._prefixes = prefixes
        self._idle_timeout = idle_timeout
        self.streamed: SocketBody | None = None

    def received(self, data: bytes) -> int:
        in_headers = not self.headers_finished
        consumed = int(super().received(data))
        if in_headers and self.headers_finished and self._streams():
            head = data[consumed : consumed + self.content_length]
            self.streamed = SocketBody(self._channel, self.content_length, head, self._idle_timeout)
            self.body_rcv = None
            self.completed = True
            consumed += len(head)
        return consumed

    def _streams(self) -> bool:
        return (
            not self.completed
            and self.error is None
            and not self.chunked
            and not self.expect_continue
            and self.content_length > 0
            and self.command in STREAMED_METHODS
            and self.path.startswith(self._prefixes)
        )

    def get_body_stream(self) -> Any:
        if self.streamed is not None:
            return self.streamed
        return super().get_body_stream()


class TroveTask(WSGITask):
    """A WSGI task that keeps connections open where waitress would close them for no
    need, and never answers with part of a streamed body still unread on the connection.

    waitress closes the connection after any answer without a Content-Length, even one
    that by definition has no body (204, 304): every tus PATCH would then cost the client
    a new connection. Such an answer ends with its headers, so HTTP/1.1 keeps the
    connection open unless the client asked to close it."""

    _building = False

    def build_response_header(self) -> bytes:
        body = getattr(self.request, "streamed", None)
        if body is not None and not body.exhausted and not body.drain(DRAIN_LIMIT):
            self.set_close_on_finish()
        self._building = True
        try:
            return super().build_response_header()  # type: ignore[no-any-return]
        finally:
            self._building = False

    def set_close_on_finish(self) -> None:
        if (
            self._building
            and not self.has_body
            and self.version == "1.1"
            and self.request.headers.get("CONNECTION", "").lower() != "close"
        ):
            return
        super().set_close_on_finish()


class TroveChannel(HTTPChannel):
    """A channel whose requests under `prefixes` stream their bodies (set per server by
    :func:`use_trove_channels`)."""

    task_class = TroveTask
    error_task_class = ProblemErrorTask
    prefixes: tuple[str, ...] = ()
    idle_timeout = 15.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.parser_class = functools.partial(
            StreamingParser, channel=self, prefixes=self.prefixes, idle_timeout=self.idle_timeout
        )


def channel_class(prefixes: Iterable[str], idle_timeout: float) -> type[TroveChannel]:
    """A :class:`TroveChannel` class streaming the bodies of requests under `prefixes`,
    giving up on a body after `idle_timeout` seconds without a byte."""
    return type(
        "TroveChannel",
        (TroveChannel,),
        {"prefixes": tuple(prefixes), "idle_timeout": idle_timeout},
    )
