"""Storage usage and savings of the signed-in user."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from backend.auth.guard import current_user, login_required
from backend.services.usage import usage

bp = Blueprint("usage", __name__, url_prefix="/api/v1")


@bp.get("/usage")
@login_required
def get_usage() -> Response:
    return jsonify(usage(current_user().id))
