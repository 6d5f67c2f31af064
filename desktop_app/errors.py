"""Typed errors raised by the Trove client core.

Every error carries a stable ``code``, the HTTP ``status`` when there was one, and a
``detail`` sentence that can be shown to a person as is.
"""

from __future__ import annotations

import errno
import os
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import requests

from desktop_app.formatting import displayable


class TroveError(Exception):
    """Base class of every error the client core raises on purpose."""

    def __init__(self, code: str, detail: str, status: int | None = None) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.status = status

    def __str__(self) -> str:
        return self.detail


class ApiError(TroveError):
    """The server answered with an error (RFC 9457 problem+json when it is Trove)."""

    def __init__(
        self,
        code: str,
        detail: str,
        status: int,
        *,
        title: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(code, detail, status)
        self.title = title
        self.retry_after = retry_after


class ServerUnreachable(TroveError):
    """No answer from the server: refused, DNS failure, TLS failure or timeout."""

    def __init__(self, server_url: str, *, timed_out: bool = False) -> None:
        if timed_out:
            detail = (
                f"The Trove server at {server_url} did not answer in time. "
                "Check your connection and try again."
            )
        else:
            detail = (
                f"Cannot reach the Trove server at {server_url}. "
                "Check the address and your connection."
            )
        super().__init__("timeout" if timed_out else "unreachable", detail)
        self.server_url = server_url


class NotTroveServer(TroveError):
    """Something answered at the address, but it does not speak the Trove API."""

    def __init__(self, server_url: str) -> None:
        super().__init__(
            "not_trove_server",
            f"The server at {server_url} answered, but it is not a Trove server. "
            "Check the address.",
        )


class LocalFileError(TroveError):
    """A local file cannot be used: vanished, unreadable or changed while in use."""

    def __init__(self, detail: str) -> None:
        super().__init__("local_file", detail)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def error_from_response(response: requests.Response) -> ApiError:
    """Build an :class:`ApiError` from an error answer, problem+json or not."""
    status = response.status_code
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    body: object = None
    content_type = response.headers.get("Content-Type", "")
    if "json" in content_type:
        try:
            body = response.json()
        except ValueError:
            body = None
    if isinstance(body, dict) and isinstance(body.get("code"), str):
        detail = body.get("detail") or body.get("title") or f"The server answered {status}."
        return ApiError(
            body["code"],
            str(detail),
            status,
            title=body.get("title"),
            retry_after=retry_after,
        )
    reason = response.reason or "error"
    return ApiError(
        f"http_{status}",
        f"The server answered {status} {reason}. Try again later.",
        status,
        retry_after=retry_after,
    )


def describe_os_error(exc: OSError) -> str:
    """A readable sentence for a local file-system error (safe to store as UTF-8)."""
    name = exc.filename
    if isinstance(name, str | bytes | os.PathLike):
        name = os.fsdecode(name)
    name = displayable(str(name)) if name else "the file"
    if exc.errno == errno.ENOENT:
        return f"{name} no longer exists."
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"Cannot read {name}: permission denied."
    if exc.errno == errno.EISDIR:
        return f"{name} is a folder, not a file."
    if exc.errno == errno.ENOSPC:
        return "The disk is full."
    return f"Cannot use {name}: {exc.strerror or exc}."
