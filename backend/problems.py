"""RFC 9457 problem+json errors for every 4xx/5xx answer."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, json
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"

# Stable codes and a sentence for errors Werkzeug or waitress raise before our code runs.
_HTTP_CODES: dict[int, tuple[str, str]] = {
    400: ("invalid_request", "The request could not be understood. Check its syntax."),
    401: ("unauthorized", "Sign in and send the token as 'Authorization: Bearer <token>'."),
    404: ("not_found", "There is nothing at this address. Check the URL."),
    405: ("method_not_allowed", "This address does not accept that method."),
    411: ("length_required", "Send a Content-Length header with the request body."),
    413: ("payload_too_large", "The request body is too large. Send a smaller one."),
    415: ("unsupported_media_type", "The request body has a content type this route refuses."),
    416: ("range_not_satisfiable", "The requested range lies outside the content."),
    431: ("headers_too_large", "The request's headers are too large. Send fewer or shorter."),
    501: ("not_implemented", "The server does not support what the request asks for."),
}


class Problem(Exception):
    """An error answered to the client as problem+json."""

    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})


def problem_document(problem: Problem) -> dict[str, Any]:
    """The problem+json body of `problem`."""
    return {
        "type": f"urn:trove:problem:{problem.code}",
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        "code": problem.code,
        **problem.extra,
    }


def problem_response(problem: Problem) -> Response:
    body = problem_document(problem)
    response = Response(json.dumps(body), status=problem.status, mimetype=PROBLEM_JSON)
    response.headers.update(problem.headers)
    return response


def unauthorized(detail: str = _HTTP_CODES[401][1]) -> Problem:
    return Problem(
        401, "unauthorized", "Unauthorized", detail, headers={"WWW-Authenticate": "Bearer"}
    )


def status_problem(
    status: int, title: str, detail: str = "", headers: Mapping[str, str] | None = None
) -> Problem:
    """The problem for an HTTP error raised outside our code: its stable code and sentence
    where there is one, else a code made from `title` and `detail` as given."""
    code, sentence = _HTTP_CODES.get(status, (title.lower().replace(" ", "_"), detail))
    return Problem(status, code, title, sentence or "", headers=headers)


def _from_http_exception(exc: HTTPException) -> Problem:
    headers = {
        key: value
        for key, value in exc.get_headers()
        if key.lower() in ("allow", "www-authenticate", "retry-after", "content-range")
    }
    return status_problem(exc.code or 500, exc.name, exc.description or "", headers)


def install(app: Flask) -> None:
    @app.errorhandler(Problem)
    def _problem(exc: Problem) -> Response:
        return problem_response(exc)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        return problem_response(_from_http_exception(exc))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error")
        return problem_response(
            Problem(
                500,
                "internal_error",
                "Internal server error",
                "Something went wrong on the server. Try again; if it keeps failing, "
                "tell the administrator.",
            )
        )
