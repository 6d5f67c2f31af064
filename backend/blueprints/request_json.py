"""Reading a JSON object body, with a problem+json answer when it is not one."""

from __future__ import annotations

from typing import Any

from flask import request

from backend.problems import Problem
from backend.validation import is_text


def json_object() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Problem(
            400,
            "invalid_request",
            "Invalid request",
            "Send a JSON object with 'Content-Type: application/json'.",
        )
    if not is_text(body):
        raise Problem(
            400,
            "invalid_request",
            "Invalid request",
            "A string in the body holds an unpaired surrogate escape (\\ud800 to \\udfff), "
            "which is not a character. Send valid Unicode text.",
        )
    return body
