"""Login, logout and the signed-in user."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, Response, jsonify

from backend.auth import tokens
from backend.auth.guard import current_token, current_user, login_required
from backend.auth.passwords import DUMMY_HASH, verify_password
from backend.blueprints.request_json import json_object
from backend.extensions import db
from backend.models import User
from backend.problems import Problem

bp = Blueprint("auth", __name__, url_prefix="/api/v1")


@bp.post("/auth/login")
def login() -> tuple[Response, int]:
    body = json_object()
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        raise Problem(
            400,
            "invalid_request",
            "Invalid request",
            "Send 'username' and 'password' as strings.",
        )
    user = db.session.scalar(sa.select(User).where(User.username == username))
    if not verify_password(password, user.password_hash if user else DUMMY_HASH) or not user:
        raise Problem(
            401,
            "invalid_credentials",
            "Wrong username or password",
            "The username or password is wrong. Check both and try again.",
        )
    token = tokens.issue(user)
    return jsonify(token=token, user={"id": user.id, "username": user.username}), 200


@bp.post("/auth/logout")
@login_required
def logout() -> tuple[str, int]:
    tokens.revoke(current_token())
    return "", 204


@bp.get("/me")
@login_required
def me() -> Response:
    user = current_user()
    return jsonify(id=user.id, username=user.username)
