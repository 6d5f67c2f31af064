"""tus 1.0.0 endpoint (core, creation, creation-with-upload, termination, checksum,
expiration). Every answer carries Tus-Resumable."""

from __future__ import annotations

from flask import Blueprint, Response, request

from backend.auth.guard import current_user, login_required
from backend.models import Upload
from backend.problems import Problem
from backend.runtime import runtime
from backend.services import uploads
from backend.tus_headers import (
    CHECKSUM_ALGORITHMS,
    EXTENSIONS,
    OFFSET_CONTENT_TYPE,
    TUS_VERSION,
    format_expires,
)

UPLOADS_PATH = "/api/v1/uploads"
bp = Blueprint("uploads", __name__, url_prefix=UPLOADS_PATH)


@bp.before_request
def _check_version() -> None:
    # One PATCH body may be large (a chunk, or a whole file from a client that does not
    # chunk); it is streamed to disk, never parsed. JSON routes keep the small app limit.
    request.max_content_length = runtime().config.max_request_bytes
    if request.method != "OPTIONS" and request.headers.get("Tus-Resumable") != TUS_VERSION:
        raise Problem(
            412,
            "unsupported_tus_version",
            "Unsupported tus version",
            f"Send 'Tus-Resumable: {TUS_VERSION}'; it is the only version this server speaks.",
            headers={"Tus-Version": TUS_VERSION},
        )


@bp.after_request
def _tus_resumable(response: Response) -> Response:
    response.headers["Tus-Resumable"] = TUS_VERSION
    return response


def _has_body() -> bool:
    return bool(request.content_length) or "chunked" in request.headers.get("Transfer-Encoding", "")


def _require_offset_stream() -> None:
    if request.mimetype != OFFSET_CONTENT_TYPE:
        raise Problem(
            415,
            "unsupported_media_type",
            "Unsupported media type",
            f"Send upload bytes with 'Content-Type: {OFFSET_CONTENT_TYPE}'.",
        )


def _progress_headers(upload: Upload) -> dict[str, str]:
    headers = {
        "Upload-Offset": str(upload.offset),
        "Upload-Expires": format_expires(upload.expires),
    }
    if upload.file_id is not None:
        headers["Trove-File-Id"] = str(upload.file_id)
    return headers


# The uploads address works with and without its trailing slash (tus clients are
# configured with either), rather than answering a redirect.
@bp.route("/", methods=["OPTIONS"], provide_automatic_options=False, strict_slashes=False)
def options() -> Response:
    # tus clients probe OPTIONS without credentials; the answer holds only limits.
    return Response(
        status=204,
        headers={
            "Tus-Version": TUS_VERSION,
            "Tus-Extension": EXTENSIONS,
            "Tus-Max-Size": str(runtime().config.max_upload_bytes),
            "Tus-Checksum-Algorithm": ",".join(CHECKSUM_ALGORITHMS),
        },
    )


@bp.post("/", strict_slashes=False)
@login_required
def create() -> Response:
    rt = runtime()
    with_body = _has_body()
    if with_body:
        _require_offset_stream()
    with rt.uploads.request():
        upload, deduplicated = uploads.create(
            rt,
            current_user().id,
            request.headers.get("Upload-Length"),
            request.headers.get("Upload-Metadata"),
        )
        if with_body and upload.file_id is None:
            upload = uploads.append(
                rt,
                current_user().id,
                upload.uid,
                "0",
                request.headers.get("Upload-Checksum"),
                request.stream,
                request.content_length,
            )
    headers = _progress_headers(upload)
    headers["Location"] = f"/api/v1/uploads/{upload.uid}"
    if deduplicated:
        headers["Trove-Deduplicated"] = "true"
    return Response(status=201, headers=headers)


@bp.route("/<uid>", methods=["HEAD"])
@login_required
def head(uid: str) -> Response:
    upload = uploads.get_active(current_user().id, uid)
    headers = _progress_headers(upload)
    headers.update(
        {
            "Upload-Length": str(upload.length),
            "Cache-Control": "no-store",
        }
    )
    if upload.metadata_header:
        headers["Upload-Metadata"] = upload.metadata_header
    return Response(status=200, headers=headers)


@bp.patch("/<uid>")
@login_required
def patch(uid: str) -> Response:
    _require_offset_stream()
    rt = runtime()
    with rt.uploads.request():
        upload = uploads.append(
            rt,
            current_user().id,
            uid,
            request.headers.get("Upload-Offset"),
            request.headers.get("Upload-Checksum"),
            request.stream,
            request.content_length,
        )
    return Response(status=204, headers=_progress_headers(upload))


@bp.delete("/<uid>")
@login_required
def terminate(uid: str) -> Response:
    uploads.terminate(runtime(), current_user().id, uid)
    return Response(status=204)
