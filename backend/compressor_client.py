"""HTTP client for the compressor's internal /v1 contract (streamed in both directions)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

import requests

from backend.backoff import parse_retry_after

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 300.0


class CompressorUnavailable(Exception):
    """The compressor could not be reached or answered 5xx/401; worth retrying later."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class CompressorRejected(Exception):
    """The compressor refused the request (a 4xx other than 401); retrying will not help."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status


@dataclass(frozen=True)
class StoredBlob:
    sha256: str
    size: int
    stored_size: int
    codec: str


class CompressorClient:
    def __init__(self, base_url: str, token_provider: Callable[[], str]) -> None:
        self.base_url = base_url.rstrip("/")
        self._token_provider = token_provider
        self._token: str | None = None
        self._lock = threading.Lock()
        self._local = threading.local()

    @property
    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def _auth(self) -> dict[str, str]:
        with self._lock:
            if self._token is None:
                try:
                    self._token = self._token_provider()
                except (OSError, ValueError) as exc:
                    raise CompressorUnavailable(f"shared token unavailable: {exc}") from exc
            return {"Authorization": f"Bearer {self._token}"}

    def _request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        data: BinaryIO | None = None,
        stream: bool = False,
    ) -> requests.Response:
        try:
            response = self._session.request(
                method,
                f"{self.base_url}{path}",
                headers={**self._auth(), **(headers or {})},
                data=data,
                stream=stream,
                timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
            )
        except requests.RequestException as exc:
            raise CompressorUnavailable(f"compressor unreachable: {exc}") from exc
        if response.status_code == 401:
            response.close()
            with self._lock:
                self._token = None  # the token file may have been (re)created since
            raise CompressorUnavailable("compressor refused the shared token (401)")
        if response.status_code >= 500:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            detail = _detail(response)
            raise CompressorUnavailable(
                f"compressor answered {response.status_code}: {detail}", retry_after
            )
        return response

    def put_blob(self, sha256: str, body: BinaryIO, size: int) -> StoredBlob:
        # requests sends an empty file object with chunked encoding (it cannot tell an empty
        # stream from one of unknown length), which contradicts Content-Length: 0.
        response = self._request(
            "PUT",
            f"/v1/blobs/{sha256}",
            data=body if size else b"",
            headers={"Content-Length": str(size), "Content-Type": "application/octet-stream"},
        )
        if response.status_code not in (200, 201):
            raise CompressorRejected(response.status_code, _detail(response))
        reply = response.json()
        return StoredBlob(
            sha256=str(reply["sha256"]),
            size=int(reply["size"]),
            stored_size=int(reply["stored_size"]),
            codec=str(reply["codec"]),
        )

    def open_blob(self, sha256: str, range_header: str | None = None) -> requests.Response:
        """Streamed GET; the caller must close the response. 200/206 or CompressorRejected."""
        headers = {"Range": range_header} if range_header else {}
        response = self._request("GET", f"/v1/blobs/{sha256}", headers=headers, stream=True)
        if response.status_code not in (200, 206):
            detail = _detail(response)
            response.close()
            raise CompressorRejected(response.status_code, detail)
        return response

    def delete_blob(self, sha256: str) -> None:
        response = self._request("DELETE", f"/v1/blobs/{sha256}")
        if response.status_code not in (200, 204):
            raise CompressorRejected(response.status_code, _detail(response))

    def check_ready(self) -> None:
        """Raise CompressorUnavailable unless GET /readyz answers 200."""
        try:
            response = self._session.get(f"{self.base_url}/readyz", timeout=(2.0, 5.0))
        except requests.RequestException as exc:
            raise CompressorUnavailable(f"compressor unreachable: {exc}") from exc
        if response.status_code != 200:
            raise CompressorUnavailable(f"compressor not ready ({response.status_code})")


def _detail(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("code") or body)[:200]
    return str(body)[:200]
