"""Client for the Trove backend's JSON API (``/api/v1``), free of any UI toolkit.

One :class:`ApiClient` may be shared by many threads: each thread gets its own
``requests.Session`` so connection pools are never used concurrently.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from desktop_app import __version__
from desktop_app.errors import (
    ApiError,
    LocalFileError,
    NotTroveServer,
    ServerUnreachable,
    TroveError,
    error_from_response,
)

DEFAULT_TIMEOUT = (10.0, 120.0)  # (connect, read) seconds
DOWNLOAD_CHUNK = 1024 * 1024
_KEEP = object()


def normalize_server_url(url: str) -> str:
    """``trove.example.org`` → ``https://trove.example.org``; local hosts default to http."""
    url = url.strip()
    if not url:
        raise ValueError("Enter the address of your Trove server.")
    if "://" not in url:
        host = url.split("/", 1)[0].split(":", 1)[0].lower()
        local = host in ("localhost", "::1") or host.startswith("127.") or host.endswith(".local")
        url = ("http://" if local else "https://") + url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url} is not a valid server address.")
    return url.rstrip("/")


@dataclass(frozen=True)
class Item:
    """A file or folder as the server describes it."""

    id: int
    name: str
    kind: str
    parent: int | None
    size: int = 0
    sha256: str | None = None
    mtime: str | None = None
    state: str | None = None
    stored_size: int | None = None
    codec: str | None = None
    created: str | None = None

    @property
    def is_folder(self) -> bool:
        return self.kind == "folder"

    @property
    def saved_fraction(self) -> float | None:
        """Share of the original size saved by the compressor, once stored."""
        if self.is_folder or self.stored_size is None or not self.size:
            return None
        return 1.0 - self.stored_size / self.size

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Item:
        return cls(
            id=int(data["id"]),
            name=str(data["name"]),
            kind=str(data["kind"]),
            parent=None if data.get("parent") is None else int(data["parent"]),
            size=int(data.get("size") or 0),
            sha256=data.get("sha256"),
            mtime=data.get("mtime"),
            state=data.get("state"),
            stored_size=None if data.get("stored_size") is None else int(data["stored_size"]),
            codec=data.get("codec"),
            created=data.get("created"),
        )


@dataclass(frozen=True)
class Usage:
    files: int
    folders: int
    original_bytes: int
    stored_bytes: int
    processing: int = 0

    @property
    def saved_bytes(self) -> int:
        return max(0, self.original_bytes - self.stored_bytes)

    @property
    def saved_fraction(self) -> float:
        return self.saved_bytes / self.original_bytes if self.original_bytes else 0.0

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Usage:
        return cls(
            files=int(data.get("files", 0)),
            folders=int(data.get("folders", 0)),
            original_bytes=int(data.get("original_bytes", 0)),
            stored_bytes=int(data.get("stored_bytes", 0)),
            processing=int(data.get("processing", 0)),
        )


class ApiClient:
    """Typed access to ``/api/v1``. Errors surface as :class:`~desktop_app.errors.TroveError`."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> None:
        self.base_url = normalize_server_url(base_url)
        self.token = token
        self.timeout = timeout
        self._local = threading.local()

    # -- plumbing ---------------------------------------------------------------------

    def url(self, path: str) -> str:
        """Absolute URL for an API path or a server-relative ``Location``."""
        return urljoin(self.base_url + "/", path.lstrip("/")) if "://" not in path else path

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["User-Agent"] = f"trove-desktop/{__version__}"
            self._local.session = session
        return session

    def send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """One HTTP exchange; connection failures become :class:`ServerUnreachable`.

        The answer is returned whatever its status: callers decide what an error is.
        """
        headers = dict(kwargs.pop("headers", None) or {})
        if self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        kwargs.setdefault("timeout", self.timeout)
        try:
            return self._session().request(method, self.url(path), headers=headers, **kwargs)
        except requests.Timeout as exc:
            raise ServerUnreachable(self.base_url, timed_out=True) from exc
        except (requests.ConnectionError, requests.exceptions.InvalidURL) as exc:
            raise ServerUnreachable(self.base_url) from exc

    def _call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        response = self.send(method, path, **kwargs)
        if response.status_code >= 400:
            raise error_from_response(response)
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._call(method, path, **kwargs)
        try:
            return response.json()
        except ValueError as exc:
            raise NotTroveServer(self.base_url) from exc

    def close(self) -> None:
        session = getattr(self._local, "session", None)
        if session is not None:
            session.close()
            self._local.session = None

    # -- auth ---------------------------------------------------------------------------

    def login(self, username: str, password: str) -> str:
        """Sign in; the token is kept on the client and returned."""
        try:
            data = self._json(
                "POST", "/api/v1/auth/login", json={"username": username, "password": password}
            )
        except ApiError as exc:
            if exc.code.startswith("http_") or exc.code in ("not_found", "method_not_allowed"):
                raise NotTroveServer(self.base_url) from exc
            raise
        token = data.get("token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise NotTroveServer(self.base_url)
        self.token = token
        return token

    def logout(self) -> None:
        """End the session on the server; the local token is dropped even if that fails."""
        try:
            if self.token:
                self._call("POST", "/api/v1/auth/logout")
        finally:
            self.token = None

    def me(self) -> dict[str, Any]:
        return self._json("GET", "/api/v1/me")

    # -- files and folders --------------------------------------------------------------

    def folder_page(
        self, parent: int | None = None, cursor: str | None = None, *, limit: int = 200
    ) -> tuple[list[Item], str | None]:
        """One page of a folder's items (``None``: the root) and the cursor of the next."""
        params: dict[str, Any] = {"limit": limit}
        if parent is not None:
            params["parent"] = parent
        if cursor:
            params["cursor"] = cursor
        data = self._json("GET", "/api/v1/files", params=params)
        return [Item.from_json(raw) for raw in data.get("items", [])], data.get("next") or None

    def iter_folder(self, parent: int | None = None, *, page_size: int = 200) -> Iterator[Item]:
        """Every item of a folder (``None``: the root), following ``next`` cursors."""
        cursor: str | None = None
        while True:
            items, cursor = self.folder_page(parent, cursor, limit=page_size)
            yield from items
            if not cursor:
                return

    def list_folder(self, parent: int | None = None) -> list[Item]:
        return list(self.iter_folder(parent))

    def get_item(self, item_id: int) -> Item:
        return Item.from_json(self._json("GET", f"/api/v1/files/{item_id}"))

    def create_folder(self, name: str, parent: int | None = None) -> Item:
        return Item.from_json(
            self._json("POST", "/api/v1/folders", json={"name": name, "parent": parent})
        )

    def update_item(self, item_id: int, *, name: str | None = None, parent: Any = _KEEP) -> Item:
        """Rename and/or move; pass ``parent=None`` to move into the root."""
        body: dict[str, Any] = {}
        if name is not None:
            body["name"] = name
        if parent is not _KEEP:
            body["parent"] = parent
        return Item.from_json(self._json("PATCH", f"/api/v1/files/{item_id}", json=body))

    def rename(self, item_id: int, name: str) -> Item:
        return self.update_item(item_id, name=name)

    def move(self, item_id: int, parent: int | None) -> Item:
        return self.update_item(item_id, parent=parent)

    def delete(self, item_id: int) -> None:
        self._call("DELETE", f"/api/v1/files/{item_id}")

    def usage(self) -> Usage:
        return Usage.from_json(self._json("GET", "/api/v1/usage"))

    def search(self, query: str, parent: int | None = None, *, limit: int = 1000) -> list[Item]:
        """Items whose name contains ``query``: in the whole account, or in ``parent`` only."""
        params: dict[str, Any] = {"q": query, "limit": limit}
        if parent is not None:
            params["parent"] = parent
        data = self._json("GET", "/api/v1/files", params=params)
        return [Item.from_json(raw) for raw in data.get("items", [])]

    def thumbnail(self, file_id: int, size: int = 256) -> bytes | None:
        """A JPEG or PNG picture of the file, or None when it has none."""
        response = self.send("GET", f"/api/v1/files/{file_id}/thumbnail", params={"size": size})
        if response.status_code >= 400:
            error = error_from_response(response)
            if error.code == "no_thumbnail":
                return None
            raise error
        return response.content

    def download(
        self,
        file_id: int,
        dest: str | os.PathLike[str],
        *,
        progress: Callable[[int, int], None] | None = None,
        expected_sha256: str | None = None,
        chunk_size: int = DOWNLOAD_CHUNK,
    ) -> Path:
        """Stream a file's content to ``dest``.

        Bytes go to ``dest.part`` first, which is renamed once complete (and verified when
        ``expected_sha256`` is given). A ``.part`` left by an interrupted download is
        resumed with ``Range``.
        """
        dest = Path(dest)
        part = dest.with_name(dest.name + ".part")
        offset = part.stat().st_size if part.exists() else 0
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        response = self.send(
            "GET", f"/api/v1/files/{file_id}/content", headers=headers, stream=True
        )
        with contextlib.closing(response):
            if response.status_code == 416 and offset:
                part.unlink()
                return self.download(
                    file_id,
                    dest,
                    progress=progress,
                    expected_sha256=expected_sha256,
                    chunk_size=chunk_size,
                )
            if response.status_code >= 400:
                raise error_from_response(response)
            if response.status_code != 206 or not _range_starts_at(response, offset):
                offset = 0
            length = int(response.headers.get("Content-Length", "0") or 0)
            total = offset + length
            hasher = hashlib.sha256() if expected_sha256 else None
            mode = "r+b" if offset else "wb"
            with open(part, mode) as out:
                if hasher is not None and offset:
                    for block in iter(lambda: out.read(chunk_size), b""):
                        hasher.update(block)
                out.seek(offset)
                out.truncate()
                done = offset
                if progress:
                    progress(done, total)
                try:
                    for block in response.iter_content(chunk_size):
                        out.write(block)
                        if hasher is not None:
                            hasher.update(block)
                        done += len(block)
                        if progress:
                            progress(done, total)
                except (requests.ConnectionError, requests.Timeout) as exc:
                    raise ServerUnreachable(self.base_url) from exc
                out.flush()
                os.fsync(out.fileno())
        if length and done != total:
            raise TroveError("incomplete_download", "The download stopped early. Try again.")
        if hasher is not None and expected_sha256 and hasher.hexdigest() != expected_sha256:
            part.unlink(missing_ok=True)
            raise TroveError(
                "download_corrupt", "The downloaded file does not match its checksum. Try again."
            )
        try:
            os.replace(part, dest)
        except OSError as exc:
            raise LocalFileError(f"Cannot save {dest}: {exc.strerror}.") from exc
        return dest


def _range_starts_at(response: requests.Response, offset: int) -> bool:
    content_range = response.headers.get("Content-Range", "")
    # "bytes START-END/TOTAL"
    try:
        start = int(content_range.split()[1].split("-", 1)[0])
    except (IndexError, ValueError):
        return False
    return start == offset
