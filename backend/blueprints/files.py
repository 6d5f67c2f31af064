"""Listing, reading, downloading, renaming/moving and deleting files and folders."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from backend.auth.guard import current_user, login_required
from backend.blueprints.request_json import json_object
from backend.problems import Problem
from backend.runtime import runtime
from backend.services import downloads, files
from backend.validation import MAX_ID

bp = Blueprint("files", __name__, url_prefix="/api/v1")


def _int_arg(name: str, low: int, high: int) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise Problem(
            400,
            "invalid_request",
            "Invalid request",
            f"'{name}' must be a whole number from {low} to {high}.",
        )
    return int(raw)


@bp.get("/files")
@login_required
def list_files() -> Response:
    parent = _int_arg("parent", 1, MAX_ID)
    limit = _int_arg("limit", 1, files.MAX_LIMIT)
    page = files.list_items(
        current_user().id,
        parent,
        files.DEFAULT_LIMIT if limit is None else limit,
        request.args.get("cursor"),
        (request.args.get("q") or "").strip() or None,
    )
    return jsonify(items=[files.to_json(item) for item in page.items], next=page.next_cursor)


@bp.get("/files/<int:item_id>")
@login_required
def get_file(item_id: int) -> Response:
    return jsonify(files.to_json(files.get_item(current_user().id, item_id)))


@bp.get("/files/<int:item_id>/content")
@login_required
def download(item_id: int) -> Response:
    rt = runtime()
    content = downloads.open_content(
        current_user().id, item_id, request.headers.get("Range"), rt.staging, rt.compressor
    )
    response = Response(content.body, status=content.status, direct_passthrough=True)
    response.headers.update(content.headers)
    return response


@bp.patch("/files/<int:item_id>")
@login_required
def update(item_id: int) -> Response:
    item = files.update_item(current_user().id, item_id, json_object())
    return jsonify(files.to_json(item))


@bp.delete("/files/<int:item_id>")
@login_required
def delete(item_id: int) -> tuple[str, int]:
    rt = runtime()
    if files.delete_item(current_user().id, item_id, rt.staging):
        rt.work_ready.set()
    return "", 204
