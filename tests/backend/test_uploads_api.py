import base64
import hashlib
import io
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.backend.conftest import metadata, tus, upload_file

OFFSET = {"Content-Type": "application/offset+octet-stream"}


def create(client: FlaskClient, auth: dict[str, str], length: int, **meta: Any) -> Any:
    meta.setdefault("filename", "data.bin")
    return client.post(
        "/api/v1/uploads/",
        headers=tus(auth, **{"Upload-Length": str(length), "Upload-Metadata": metadata(**meta)}),
    )


def patch(
    client: FlaskClient, auth: dict[str, str], location: str, offset: int, body: bytes, **extra: str
) -> Any:
    return client.patch(
        location, data=body, headers=tus(auth, **OFFSET, **{"Upload-Offset": str(offset)}, **extra)
    )


def checksum(algorithm: str, body: bytes) -> str:
    return f"{algorithm} {base64.b64encode(hashlib.new(algorithm, body).digest()).decode()}"


def staged_files(app: Flask) -> list[str]:
    return sorted(path.name for path in app.extensions["trove"].staging.root.iterdir())


def test_options_advertises_the_server(client: FlaskClient, alice: dict[str, str]) -> None:
    response = client.options("/api/v1/uploads/", headers=alice)
    assert response.status_code == 204
    assert response.headers["Tus-Resumable"] == "1.0.0"
    assert response.headers["Tus-Version"] == "1.0.0"
    assert set(response.headers["Tus-Extension"].split(",")) == {
        "creation",
        "creation-with-upload",
        "termination",
        "checksum",
        "expiration",
    }
    assert response.headers["Tus-Max-Size"] == str(10 * 1024 * 1024)
    assert response.headers["Tus-Checksum-Algorithm"] == "sha1,sha256"


def test_the_uploads_address_works_without_its_trailing_slash(
    client: FlaskClient, alice: dict[str, str]
) -> None:
    assert client.options("/api/v1/uploads").status_code == 204
    response = client.post(
        "/api/v1/uploads",
        headers=tus(alice, **{"Upload-Length": "3", "Upload-Metadata": metadata(filename="a")}),
    )
    assert response.status_code == 201
    assert response.headers["Location"].startswith("/api/v1/uploads/")


def test_options_needs_no_credentials(client: FlaskClient) -> None:
    response = client.options("/api/v1/uploads/")
    assert response.status_code == 204
    assert response.headers["Tus-Version"] == "1.0.0"
    assert response.headers["Tus-Max-Size"] == str(10 * 1024 * 1024)
    assert client.post("/api/v1/uploads/", headers=tus({})).status_code == 401


def test_chunked_upload_creates_a_processing_file(
    client: FlaskClient, alice: dict[str, str], app: Flask
) -> None:
    data = bytes(range(256)) * 40
    created = create(client, alice, len(data), filename="chunks.bin", mtime="1714564800")
    assert created.status_code == 201
    location = created.headers["Location"]
    assert location.startswith("/api/v1/uploads/")
    assert created.headers["Upload-Offset"] == "0"
    assert created.headers["Tus-Resumable"] == "1.0.0"
    expires = parsedate_to_datetime(created.headers["Upload-Expires"])
    assert timedelta(hours=23) < expires - datetime.now(UTC) <= timedelta(hours=24)

    first = patch(client, alice, location, 0, data[:4000])
    assert first.status_code == 204
    assert first.headers["Upload-Offset"] == "4000"
    assert "Trove-File-Id" not in first.headers

    head = client.head(location, headers=tus(alice))
    assert head.status_code == 200
    assert head.headers["Upload-Offset"] == "4000"
    assert head.headers["Upload-Length"] == str(len(data))
    assert head.headers["Cache-Control"] == "no-store"
    assert head.headers["Upload-Metadata"] == metadata(filename="chunks.bin", mtime="1714564800")

    last = patch(client, alice, location, 4000, data[4000:])
    assert last.status_code == 204
    assert last.headers["Upload-Offset"] == str(len(data))
    file_id = int(last.headers["Trove-File-Id"])
    item = client.get(f"/api/v1/files/{file_id}", headers=alice).json
    assert item["name"] == "chunks.bin"
    assert item["size"] == len(data)
    assert item["sha256"] == hashlib.sha256(data).hexdigest()
    assert item["state"] == "processing"
    assert item["mtime"] == "2024-05-01T12:00:00Z"
    assert item["parent"] is None
    assert client.get(f"/api/v1/files/{file_id}/content", headers=alice).data == data

    # A retried final PATCH (its answer was lost) gets the same file, not a duplicate.
    again = patch(client, alice, location, len(data), b"")
    assert again.status_code == 204
    assert again.headers["Trove-File-Id"] == str(file_id)
    assert client.head(location, headers=tus(alice)).headers["Trove-File-Id"] == str(file_id)


def test_creation_with_upload_and_checksums(client: FlaskClient, alice: dict[str, str]) -> None:
    data = b"hello tus"
    for algorithm in ("sha1", "sha256"):
        response = client.post(
            "/api/v1/uploads/",
            data=data,
            headers=tus(
                alice,
                **OFFSET,
                **{
                    "Upload-Length": str(len(data)),
                    "Upload-Metadata": metadata(filename=f"{algorithm}.txt"),
                    "Upload-Checksum": checksum(algorithm, data),
                },
            ),
        )
        assert response.status_code == 201
        assert response.headers["Upload-Offset"] == str(len(data))
        assert "Trove-File-Id" in response.headers


def test_partial_creation_with_upload(client: FlaskClient, alice: dict[str, str]) -> None:
    response = client.post(
        "/api/v1/uploads/",
        data=b"abc",
        headers=tus(
            alice,
            **OFFSET,
            **{"Upload-Length": "6", "Upload-Metadata": metadata(filename="abc")},
        ),
    )
    assert response.status_code == 201
    assert response.headers["Upload-Offset"] == "3"
    done = patch(client, alice, response.headers["Location"], 3, b"def")
    file_id = done.headers["Trove-File-Id"]
    assert client.get(f"/api/v1/files/{file_id}/content", headers=alice).data == b"abcdef"


def test_checksum_mismatch_discards_the_chunk(client: FlaskClient, alice: dict[str, str]) -> None:
    location = create(client, alice, 10).headers["Location"]
    assert patch(client, alice, location, 0, b"12345").status_code == 204
    bad = patch(
        client, alice, location, 5, b"67890", **{"Upload-Checksum": checksum("sha256", b"x")}
    )
    assert bad.status_code == 460
    assert bad.json["code"] == "checksum_mismatch"
    assert bad.headers["Tus-Resumable"] == "1.0.0"
    assert client.head(location, headers=tus(alice)).headers["Upload-Offset"] == "5"
    unsupported = patch(client, alice, location, 5, b"67890", **{"Upload-Checksum": "md5 AAAA"})
    assert unsupported.status_code == 400
    good = patch(
        client, alice, location, 5, b"67890", **{"Upload-Checksum": checksum("sha1", b"67890")}
    )
    file_id = good.headers["Trove-File-Id"]
    assert client.get(f"/api/v1/files/{file_id}/content", headers=alice).data == b"1234567890"


def test_offset_mismatch(client: FlaskClient, alice: dict[str, str]) -> None:
    location = create(client, alice, 10).headers["Location"]
    response = patch(client, alice, location, 3, b"abc")
    assert response.status_code == 409
    assert response.json["code"] == "offset_mismatch"
    assert client.head(location, headers=tus(alice)).headers["Upload-Offset"] == "0"


def test_body_longer_than_the_upload(client: FlaskClient, alice: dict[str, str]) -> None:
    location = create(client, alice, 4).headers["Location"]
    response = patch(client, alice, location, 0, b"too long")
    assert response.status_code == 413
    assert client.head(location, headers=tus(alice)).headers["Upload-Offset"] == "0"


def test_protocol_errors(client: FlaskClient, alice: dict[str, str]) -> None:
    location = create(client, alice, 10).headers["Location"]
    no_version = client.patch(
        location, data=b"a", headers={**alice, **OFFSET, "Upload-Offset": "0"}
    )
    assert no_version.status_code == 412
    assert no_version.headers["Tus-Version"] == "1.0.0"
    assert no_version.content_type == "application/problem+json"
    wrong_type = client.patch(
        location,
        data=b"a",
        headers=tus(alice, **{"Content-Type": "text/plain", "Upload-Offset": "0"}),
    )
    assert wrong_type.status_code == 415
    no_offset = client.patch(location, data=b"a", headers=tus(alice, **OFFSET))
    assert (no_offset.status_code, no_offset.json["code"]) == (400, "invalid_upload_header")
    wrong_create_type = client.post(
        "/api/v1/uploads/",
        data=b"abc",
        headers=tus(
            alice,
            **{
                "Content-Type": "text/plain",
                "Upload-Length": "3",
                "Upload-Metadata": metadata(filename="a"),
            },
        ),
    )
    assert wrong_create_type.status_code == 415
    unauthenticated = client.head(location, headers=tus({}))
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["Tus-Resumable"] == "1.0.0"


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({"Upload-Metadata": metadata(filename="a")}, 400, "invalid_upload_header"),
        (
            {"Upload-Length": "-1", "Upload-Metadata": metadata(filename="a")},
            400,
            "invalid_upload_header",
        ),
        ({"Upload-Length": "1"}, 400, "invalid_upload_header"),
        ({"Upload-Length": "1", "Upload-Metadata": "filename !!"}, 400, "invalid_upload_header"),
        (
            {"Upload-Length": "1", "Upload-Metadata": metadata(filename="a", mtime="soon")},
            400,
            "invalid_upload_header",
        ),
        ({"Upload-Length": "1", "Upload-Metadata": metadata(filename="a/b")}, 400, "invalid_name"),
        ({"Upload-Length": "1", "Upload-Metadata": metadata(filename="..")}, 400, "invalid_name"),
        (
            {"Upload-Length": "1", "Upload-Metadata": metadata(filename="a\x01b")},
            400,
            "invalid_name",
        ),
        ({"Upload-Length": "1", "Upload-Metadata": metadata(filename="")}, 400, "invalid_name"),
        (
            {"Upload-Length": "1", "Upload-Metadata": metadata(filename="a", parent=77)},
            404,
            "folder_not_found",
        ),
        (
            {"Upload-Length": str(10 * 1024 * 1024 + 1), "Upload-Metadata": metadata(filename="a")},
            413,
            "upload_too_large",
        ),
    ],
)
def test_creation_is_validated_before_any_data_moves(
    client: FlaskClient,
    alice: dict[str, str],
    app: Flask,
    headers: dict[str, str],
    status: int,
    code: str,
) -> None:
    response = client.post("/api/v1/uploads/", headers=tus(alice, **headers))
    assert (response.status_code, response.json["code"]) == (status, code)
    assert response.headers["Tus-Resumable"] == "1.0.0"
    assert staged_files(app) == []


def test_zero_length_upload_completes_at_creation(
    client: FlaskClient, alice: dict[str, str]
) -> None:
    response = create(client, alice, 0, filename="empty.txt")
    assert response.status_code == 201
    assert response.headers["Upload-Offset"] == "0"
    file_id = response.headers["Trove-File-Id"]
    item = client.get(f"/api/v1/files/{file_id}", headers=alice).json
    assert (item["size"], item["sha256"]) == (0, hashlib.sha256(b"").hexdigest())
    content = client.get(f"/api/v1/files/{file_id}/content", headers=alice)
    assert (content.status_code, content.data) == (200, b"")


def test_whole_file_sha256_is_verified(
    client: FlaskClient, alice: dict[str, str], app: Flask
) -> None:
    data = b"the real content"
    good = create(client, alice, len(data), sha256=hashlib.sha256(data).hexdigest().upper())
    assert patch(client, alice, good.headers["Location"], 0, data).headers["Trove-File-Id"]
    bad = create(client, alice, len(data), filename="bad.bin", sha256="0" * 64)
    response = patch(client, alice, bad.headers["Location"], 0, data)
    assert response.status_code == 422
    assert response.json["code"] == "sha256_mismatch"
    names = [item["name"] for item in client.get("/api/v1/files", headers=alice).json["items"]]
    assert names == ["data.bin"]
    assert client.head(bad.headers["Location"], headers=tus(alice)).status_code == 404
    assert len(staged_files(app)) == 1


def test_taken_names_get_numbered(client: FlaskClient, alice: dict[str, str]) -> None:
    for _ in range(3):
        upload_file(client, alice, b"x", "photo.jpg")
    upload_file(client, alice, b"x", "photo (1) extra.jpg")
    upload_file(client, alice, b"x", "README")
    upload_file(client, alice, b"x", "README")
    names = [item["name"] for item in client.get("/api/v1/files", headers=alice).json["items"]]
    assert names == [
        "photo (1) extra.jpg",
        "photo (1).jpg",
        "photo (2).jpg",
        "photo.jpg",
        "README",
        "README (1)",
    ]


def test_termination(client: FlaskClient, alice: dict[str, str], app: Flask) -> None:
    location = create(client, alice, 10).headers["Location"]
    patch(client, alice, location, 0, b"abc")
    assert len(staged_files(app)) == 1
    assert client.delete(location, headers=tus(alice)).status_code == 204
    assert staged_files(app) == []
    gone = client.head(location, headers=tus(alice))
    assert gone.status_code == 404
    assert client.delete(location, headers=tus(alice)).json["code"] == "upload_not_found"


def test_uploads_belong_to_their_owner(
    client: FlaskClient, alice: dict[str, str], make_user: Any
) -> None:
    bob = make_user("bob")
    location = create(client, alice, 3).headers["Location"]
    assert client.head(location, headers=tus(bob)).status_code == 404
    assert patch(client, bob, location, 0, b"abc").status_code == 404
    assert client.delete(location, headers=tus(bob)).status_code == 404
    assert client.head(location, headers=tus(alice)).status_code == 200


class CutAfter(io.BytesIO):
    """A request body whose client goes away after its first `keep` bytes."""

    def __init__(self, data: bytes, keep: int) -> None:
        super().__init__(data)
        self._keep = keep

    def readinto(self, buffer: Any) -> int:
        return len(self._take(len(buffer), memoryview(buffer)))

    def read(self, size: int | None = -1) -> bytes:
        return self._take(size if size is not None and size >= 0 else 1 << 30)

    def _take(self, size: int, into: memoryview | None = None) -> bytes:
        left = self._keep - self.tell()
        if left <= 0:
            raise ConnectionResetError("the client went away")
        data = super().read(min(size, left))
        if into is not None:
            into[: len(data)] = data
        return data


@pytest.mark.parametrize("checked", [False, True])
def test_a_body_cut_short_says_what_the_server_holds(
    client: FlaskClient, alice: dict[str, str], checked: bool
) -> None:
    body = b"0123456789" * 100
    location = create(client, alice, len(body)).headers["Location"]
    assert patch(client, alice, location, 0, body[:100]).status_code == 204
    extra = {"Upload-Checksum": checksum("sha256", body[100:])} if checked else {}
    response = client.patch(
        location,
        input_stream=CutAfter(body[100:], 300),
        headers=tus(alice, **OFFSET, **{"Upload-Offset": "100", "Content-Length": "900"}, **extra),
    )
    kept = 100 if checked else 400  # a chunk with a checksum is all or nothing
    assert (response.status_code, response.json["code"]) == (400, "body_cut_short")
    assert response.headers["Upload-Offset"] == str(kept)
    assert client.head(location, headers=tus(alice)).headers["Upload-Offset"] == str(kept)
