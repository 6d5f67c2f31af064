"""Thumbnails of image and video files: `GET /api/v1/files/{id}/thumbnail?size=N`."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, request, send_file
from flask.blueprints import BlueprintSetupState

from backend import thumbnails
from backend.auth.guard import current_user, login_required
from backend.models import FILE
from backend.problems import Problem
from backend.runtime import EXTENSION_KEY, runtime
from backend.services import downloads, files

log = logging.getLogger(__name__)

bp = Blueprint("thumbnails", __name__, url_prefix="/api/v1")

CACHE_DIR = "thumbnails"


@bp.record_once
def _size_memory_budget(state: BlueprintSetupState) -> None:
    """Thumbnail decodes share one memory budget per process, sized by the configuration."""
    config = state.app.extensions[EXTENSION_KEY].config
    thumbnails.BUDGET.resize(config.thumbnail_memory_bytes)


def no_thumbnail() -> Problem:
    return Problem(
        404,
        "no_thumbnail",
        "No thumbnail",
        "This file has no preview picture. Download it to open it.",
    )


def _size() -> int:
    raw = request.args.get("size") or str(thumbnails.DEFAULT_SIZE)
    low, high = thumbnails.MIN_SIZE, thumbnails.MAX_SIZE
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise Problem(
            400,
            "invalid_request",
            "Invalid request",
            f"'size' must be a whole number from {low} to {high}.",
        )
    return int(raw)


@bp.get("/files/<int:item_id>/thumbnail")
@login_required
def thumbnail(item_id: int) -> Response:
    size = _size()
    user_id = current_user().id
    item = files.get_item(user_id, item_id)
    if item.kind != FILE or not item.sha256 or not thumbnails.may_have_thumbnail(item.name):
        reason = thumbnails.skipped_because(item.name)
        log.info("no thumbnail for file %s (%r): %s", item_id, item.name, reason)
        raise no_thumbnail()
    video = thumbnails.is_video(item.name)  # reads only the start: any size will do
    if item.size > thumbnails.MAX_SOURCE_BYTES and not video:
        log.info("no thumbnail for file %s: %d bytes is too large", item_id, item.size)
        raise no_thumbnail()
    rt = runtime()
    cache = thumbnails.ThumbnailCache(rt.config.data_dir / CACHE_DIR)
    found = cache.get(item.sha256, size)
    if found is None:
        content = downloads.open_content(user_id, item_id, None, rt.staging, rt.compressor)
        try:
            found = cache.make(item.sha256, size, content.body, video=video, source_size=item.size)
        except thumbnails.NoThumbnail as exc:
            log.info("no thumbnail for file %s (%s): %s", item_id, item.sha256, exc)
            raise no_thumbnail() from None
        finally:
            close = getattr(content.body, "close", None)
            if close is not None:
                close()
    response = send_file(found.path, mimetype=found.mimetype, conditional=False, etag=False)
    response.set_etag(f"{item.sha256}-{size}")
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response.make_conditional(request)
