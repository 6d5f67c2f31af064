"""Server answers and local failures become readable, typed errors."""

from __future__ import annotations

import errno
import json
import os
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import requests

from desktop_app.errors import (
    ApiError,
    describe_os_error,
    error_from_response,
    parse_retry_after,
)


def _response(status: int, body: bytes, content_type: str, **headers: str) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.reason = "Reason"
    response._content = body
    response.headers.update({"Content-Type": content_type, **headers})
    return response


def test_problem_json_keeps_code_status_and_detail():
    problem = {
        "type": "urn:trove:problem:invalid_name",
        "title": "Invalid file name",
        "status": 400,
        "detail": "File names cannot contain '/'. Rename the file and try again.",
        "code": "invalid_name",
    }
    error = error_from_response(
        _response(400, json.dumps(problem).encode(), "application/problem+json")
    )
    assert isinstance(error, ApiError)
    assert (error.code, error.status, error.title) == ("invalid_name", 400, "Invalid file name")
    assert error.detail == problem["detail"]
    assert str(error) == problem["detail"]


def test_answer_that_is_not_a_problem_still_reads_well():
    error = error_from_response(_response(502, b"<html>Bad gateway</html>", "text/html"))
    assert (error.code, error.status) == ("http_502", 502)
    assert "502" in error.detail
    assert "<html>" not in error.detail


def test_retry_after_is_read_from_the_answer():
    error = error_from_response(
        _response(503, b"{}", "application/problem+json", **{"Retry-After": "7"})
    )
    assert error.retry_after == 7.0


def test_retry_after_accepts_seconds_and_http_dates():
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)
    assert 50 <= (parse_retry_after(later) or 0) <= 61
    earlier = format_datetime(datetime.now(UTC) - timedelta(seconds=60), usegmt=True)
    assert parse_retry_after(earlier) == 0.0


def test_os_errors_become_sentences():
    missing = FileNotFoundError(errno.ENOENT, "No such file", "/tmp/gone.jpg")
    assert describe_os_error(missing) == "/tmp/gone.jpg no longer exists."
    denied = PermissionError(errno.EACCES, "Permission denied", "/tmp/secret")
    assert describe_os_error(denied) == "Cannot read /tmp/secret: permission denied."


def test_os_errors_about_names_that_are_not_utf8_stay_readable():
    name = os.fsdecode(b"/tmp/f\xfcr Oma/gone.jpg")
    missing = FileNotFoundError(errno.ENOENT, "No such file", name)
    assert describe_os_error(missing) == "/tmp/f\ufffdr Oma/gone.jpg no longer exists."
    as_bytes = FileNotFoundError(errno.ENOENT, "No such file", b"/tmp/\xff")
    assert describe_os_error(as_bytes) == "/tmp/\ufffd no longer exists."
