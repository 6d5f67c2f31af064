"""Small network helpers for tests: free ports and waiting for HTTP readiness."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import requests


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http_ok(url: str, timeout: float, is_alive: Callable[[], bool] = lambda: True) -> None:
    """Poll ``url`` until it answers 200, the process dies, or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    last_error = "no answer"
    while time.monotonic() < deadline:
        if not is_alive():
            raise RuntimeError(f"process exited before {url} answered")
        try:
            response = requests.get(url, timeout=2)
            if response.status_code == 200:
                return
            last_error = f"HTTP {response.status_code}"
        except requests.RequestException as exc:
            last_error = str(exc)
        time.sleep(0.1)
    raise TimeoutError(f"{url} not ready after {timeout:.0f}s: {last_error}")
