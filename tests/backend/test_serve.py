import http.client
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from waitress.server import create_server

from backend.serve import use_trove_channels
from tests.support.net import free_port, wait_http_ok

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_serves_migrates_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TROVE_", "COMPRESSOR_"))}
    env |= {
        "TROVE_DATA_DIR": str(tmp_path / "data"),
        "TROVE_PORT": str(port),
        "TROVE_COMPRESSOR_URL": f"http://127.0.0.1:{free_port()}",
    }
    log_path = tmp_path / "backend.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "backend"],
            env=env,
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_http_ok(f"http://127.0.0.1:{port}/healthz", 30, lambda: process.poll() is None)
        unknown = requests.get(f"http://127.0.0.1:{port}/api/v1/files", timeout=5)
        assert unknown.status_code == 401
        assert unknown.headers["Content-Type"] == "application/problem+json"
        process.send_signal(signal.SIGTERM)
        assert process.wait(20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    log_text = log_path.read_text()
    assert f"listening on 127.0.0.1:{port}" in log_text
    assert "worker started" in log_text
    assert "worker stopped" in log_text
    assert (tmp_path / "data" / "trove.db").exists()


def test_bodiless_answers_keep_the_connection(tmp_path: Path) -> None:
    """A 204 (every tus PATCH) must not make the client open a new connection."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TROVE_", "COMPRESSOR_"))}
    env |= {
        "TROVE_DATA_DIR": str(tmp_path / "data"),
        "TROVE_PORT": str(port),
        "TROVE_COMPRESSOR_URL": f"http://127.0.0.1:{free_port()}",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "backend"],
        env=env,
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_http_ok(f"http://127.0.0.1:{port}/healthz", 30, lambda: process.poll() is None)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("OPTIONS", "/api/v1/uploads/")
        first = connection.getresponse()
        first.read()
        assert first.status == 204
        assert first.getheader("Connection") != "close"
        sock = connection.sock
        connection.request("GET", "/healthz")
        second = connection.getresponse()
        second.read()
        assert second.status == 200
        assert connection.sock is sock  # the same connection served both
        connection.request("OPTIONS", "/api/v1/uploads/", headers={"Connection": "close"})
        closing = connection.getresponse()
        closing.read()
        assert closing.getheader("Connection") == "close"
        connection.close()
    finally:
        process.terminate()
        process.wait(20)


def test_streamed_bodies_refuse_a_channel_that_reads_ahead() -> None:
    """A channel reading the next request while a task reads the body would mix them."""
    server = create_server(lambda environ, start: [], host="127.0.0.1", port=0)
    try:
        use_trove_channels(server)  # waitress's default: no lookahead
        ahead = create_server(
            lambda environ, start: [], host="127.0.0.1", port=0, channel_request_lookahead=1
        )
        try:
            with pytest.raises(ValueError, match="channel_request_lookahead"):
                use_trove_channels(ahead)
        finally:
            ahead.close()
    finally:
        server.close()
