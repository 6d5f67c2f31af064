"""Liveness and readiness (no token needed)."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Blueprint, Response, jsonify

from backend.compressor_client import CompressorUnavailable
from backend.extensions import db
from backend.problems import Problem
from backend.runtime import runtime

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> Response:
    rt = runtime()
    checks: dict[str, str] = {}
    try:
        db.session.execute(sa.text("SELECT 1"))
        checks["database"] = "ok"
    except sa.exc.SQLAlchemyError as exc:
        log.warning("readiness: database: %s", exc)
        db.session.rollback()
        checks["database"] = "unavailable"
    try:
        rt.staging.check_writable()
        checks["staging"] = "ok"
    except OSError as exc:
        log.warning("readiness: staging: %s", exc)
        checks["staging"] = "unavailable"
    try:
        rt.compressor.check_ready()
        checks["compressor"] = "ok"
    except CompressorUnavailable as exc:
        log.warning("readiness: compressor: %s", exc)
        checks["compressor"] = "unavailable"
    failing = sorted(name for name, state in checks.items() if state != "ok")
    if failing:
        raise Problem(
            503,
            "not_ready",
            "Not ready",
            f"Not ready: {', '.join(failing)} unavailable. Check those services and the logs.",
            extra={"checks": checks},
        )
    return jsonify(status="ready", checks=checks)
