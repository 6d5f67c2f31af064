"""Upload bodies streamed from the socket to the app by waitress channels of our own."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from waitress.server import create_server

from backend import streaming
from backend.streaming import channel_class

WAIT = 20  # seconds before a test that would hang fails instead

App = Callable[[dict[str, Any], Callable[..., Any]], list[bytes]]


class Recorder:
    """A WSGI app: under /up/ it reads the body (or a part of it, or none) and answers
    with what it read; anywhere else it echoes the body's length."""

    def __init__(self) -> None:
        self.read_some = threading.Event()
        self.errors: list[BaseException] = []
        self.bodies: list[bytes] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        body = environ["wsgi.input"]
        path = environ["PATH_INFO"]
        if path == "/up/refuse":
            start_response("409 Conflict", [("Content-Length", "7")])
            return [b"refused"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        got = bytearray()
        try:
            while len(got) < length:
                block = body.read(min(65536, length - len(got)))
                if not block:
                    break
                got += block
                self.read_some.set()
        except OSError as exc:
            self.errors.append(exc)
        self.bodies.append(bytes(got))
        answer = str(len(got)).encode()
        start_response("200 OK", [("Content-Length", str(len(answer)))])
        return [answer]


@pytest.fixture
def serve() -> Iterator[Callable[..., int]]:
    servers = []

    def start(app: App, idle_timeout: float = WAIT) -> int:
        server = create_server(app, host="127.0.0.1", port=0, threads=2)
        server.channel_class = channel_class(["/up/"], idle_timeout)
        threading.Thread(target=server.run, daemon=True).start()
        servers.append(server)
        return int(server.effective_port)

    yield start
    for server in servers:
        server.task_dispatcher.shutdown(timeout=WAIT)
        server.close()


def request(path: str, body: bytes, length: int | None = None) -> bytes:
    length = len(body) if length is None else length
    head = f"PATCH {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n"
    return head.encode() + body


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=WAIT)


def wait_until(condition: Callable[[], bool]) -> None:
    pause = threading.Event()
    for _ in range(WAIT * 20):
        if condition():
            return
        pause.wait(0.05)
    raise AssertionError("the server never got there")


def read_answers(sock: socket.socket, count: int) -> list[tuple[bytes, bytes]]:
    """`count` answers (head, body), each with a Content-Length."""
    data = b""
    answers = []
    while len(answers) < count:
        while b"\r\n\r\n" not in data:
            more = sock.recv(65536)
            if not more:
                return answers
            data += more
        head, _, data = data.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        while len(data) < length:
            data += sock.recv(65536)
        answers.append((head, data[:length]))
        data = data[length:]
    return answers


def test_the_app_reads_the_body_while_the_client_still_sends_it(serve) -> None:
    app = Recorder()
    port = serve(app)
    first, rest = b"a" * 300_000, b"b" * 300_000
    with connect(port) as sock:
        sock.sendall(request("/up/1", first, len(first) + len(rest)))
        assert app.read_some.wait(WAIT)  # waitress would hold the app until the end
        sock.sendall(rest)
        [(head, answer)] = read_answers(sock, 1)
    assert head.startswith(b"HTTP/1.1 200")
    assert answer == b"600000"
    assert app.bodies == [first + rest]


def test_pipelined_requests_after_a_streamed_body_are_answered_in_turn(serve) -> None:
    app = Recorder()
    port = serve(app)
    bodies = [b"x" * 5, b"y" * 200_000, b"z" * 70_000]
    with connect(port) as sock:
        sock.sendall(b"".join(request(f"/up/{i}", b) for i, b in enumerate(bodies)))
        answers = read_answers(sock, 3)
    assert [a for _, a in answers] == [str(len(b)).encode() for b in bodies]
    assert app.bodies == bodies


def test_a_body_the_app_did_not_read_is_skipped_and_the_connection_kept(serve) -> None:
    app = Recorder()
    port = serve(app)
    with connect(port) as sock:
        sock.sendall(request("/up/refuse", b"r" * 1_000_000) + request("/up/next", b"n" * 10))
        (refused_head, refused), (_, answer) = read_answers(sock, 2)
    assert refused_head.startswith(b"HTTP/1.1 409")
    assert refused == b"refused"
    assert b"connection: close" not in refused_head.lower()
    assert answer == b"10"
    assert app.bodies == [b"n" * 10]


def test_a_large_unread_body_closes_the_connection_after_the_answer(
    serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(streaming, "DRAIN_LIMIT", 1000)
    app = Recorder()
    port = serve(app)
    with connect(port) as sock:
        sock.sendall(request("/up/refuse", b"r" * 100_000))
        [(head, _)] = read_answers(sock, 1)
        assert b"connection: close" in head.lower()
        sock.settimeout(WAIT)
        try:
            while sock.recv(65536):
                pass  # nothing but the end of the connection may follow
        except ConnectionResetError:
            pass  # the server closed with the client's bytes unread


def test_a_client_that_goes_away_mid_body_makes_the_read_fail(serve) -> None:
    app = Recorder()
    port = serve(app)
    with connect(port) as sock:
        sock.sendall(request("/up/cut", b"c" * 100_000, 1_000_000))
        assert app.read_some.wait(WAIT)
    wait_until(lambda: bool(app.bodies))
    assert app.bodies == [b"c" * 100_000]
    assert len(app.errors) == 1 and isinstance(app.errors[0], ConnectionError)


def test_a_stalled_body_times_out(serve) -> None:
    app = Recorder()
    port = serve(app, idle_timeout=0.2)
    with connect(port) as sock:
        sock.sendall(request("/up/stall", b"s" * 10, 1000))
        wait_until(lambda: bool(app.bodies))
    assert app.bodies == [b"s" * 10]
    assert len(app.errors) == 1 and isinstance(app.errors[0], TimeoutError)


def test_other_paths_and_announced_continues_keep_waitress_buffering(serve) -> None:
    app = Recorder()
    port = serve(app)
    with connect(port) as sock:
        sock.sendall(b"PATCH /other HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nabcd")
        [(_, first)] = read_answers(sock, 1)
        sock.sendall(
            b"PATCH /up/1 HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"
        )
        continued = b""
        while b"\r\n\r\n" not in continued:
            continued += sock.recv(100)
        assert continued.startswith(b"HTTP/1.1 100 Continue")
        sock.sendall(b"xyz")
        [(_, second)] = read_answers(sock, 1)
    assert (first, second) == (b"4", b"3")
    assert app.bodies == [b"abcd", b"xyz"]


@pytest.mark.parametrize(
    ("head", "status", "code"),
    [
        (b"PATCH /up/x HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n", 400, "invalid_request"),
        (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 300_000 + b"\r\n\r\n", 431, None),
    ],
)
def test_requests_waitress_refuses_get_problem_json(
    serve, head: bytes, status: int, code: str | None
) -> None:
    port = serve(Recorder())
    with connect(port) as sock:
        sock.sendall(head)
        [(answer, body)] = read_answers(sock, 1)
    assert answer.split(b" ")[1] == str(status).encode()
    assert b"content-type: application/problem+json" in answer.lower()
    problem = json.loads(body)
    assert problem["status"] == status
    assert problem["code"] == (code or "headers_too_large")
    assert problem["detail"]
