"""Creating folders."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from backend.auth.guard import current_user, login_required
from backend.blueprints.request_json import json_object
from backend.problems import Problem
from backend.services import folders
from backend.services.files import to_json

bp = Blueprint("folders", __name__, url_prefix="/api/v1")


@bp.post("/folders")
@login_required
def create_folder() -> tuple[Response, int]:
    body = json_object()
    parent = body.get("parent")
    if parent is not None and type(parent) is not int:
        raise Problem(
            400,
            "invalid_request",
            "Invalid request",
            "'parent' must be a folder id or null for the root.",
        )
    folder = folders.create_folder(current_user().id, body.get("name"), parent)
    return jsonify(to_json(folder)), 201
