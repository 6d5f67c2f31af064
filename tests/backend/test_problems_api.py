import base64
import json
import logging

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.backend.conftest import metadata


def assert_problem(response: object, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status  # type: ignore[attr-defined]
    assert response.content_type == "application/problem+json"  # type: ignore[attr-defined]
    body: dict[str, object] = response.json  # type: ignore[attr-defined]
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"urn:trove:problem:{code}"
    assert body["title"]
    assert body["detail"]
    return body


def test_unknown_route(client: FlaskClient) -> None:
    assert_problem(client.get("/api/v1/nope"), 404, "not_found")
    assert_problem(client.get("/"), 404, "not_found")


def test_wrong_method(client: FlaskClient) -> None:
    response = client.put("/api/v1/auth/login")
    assert_problem(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]


def test_oversized_json_body(client: FlaskClient) -> None:
    response = client.post(
        "/api/v1/auth/login", data=b"x" * (2 * 1024 * 1024), content_type="application/json"
    )
    assert_problem(response, 413, "payload_too_large")


def test_unexpected_errors_are_logged_not_leaked(
    app: Flask, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret internals")

    with caplog.at_level(logging.ERROR):
        response = client.get("/boom")
    body = assert_problem(response, 500, "internal_error")
    assert "secret internals" not in response.get_data(as_text=True)
    assert "Traceback" not in str(body)
    assert "secret internals" in caplog.text


def test_health(client: FlaskClient) -> None:
    assert client.get("/healthz").json == {"status": "ok"}


def test_readiness_reports_each_check(client: FlaskClient) -> None:
    response = client.get("/readyz")  # nothing listens on the configured compressor port
    body = assert_problem(response, 503, "not_ready")
    assert body["checks"] == {"database": "ok", "staging": "ok", "compressor": "unavailable"}


def test_ids_no_database_can_hold_are_not_found(client: FlaskClient, alice: dict[str, str]) -> None:
    huge = 2**70
    assert_problem(client.get(f"/api/v1/files/{huge}", headers=alice), 404, "file_not_found")
    assert_problem(
        client.patch(f"/api/v1/files/{huge}", json={"name": "x"}, headers=alice),
        404,
        "file_not_found",
    )
    assert_problem(
        client.post("/api/v1/folders", json={"name": "z", "parent": huge}, headers=alice),
        404,
        "folder_not_found",
    )
    folder = client.post("/api/v1/folders", json={"name": "f"}, headers=alice).json["id"]
    assert_problem(
        client.patch(f"/api/v1/files/{folder}", json={"parent": huge}, headers=alice),
        404,
        "folder_not_found",
    )
    cursor = base64.urlsafe_b64encode(json.dumps([1, "x", huge]).encode()).decode()
    assert_problem(
        client.get(f"/api/v1/files?cursor={cursor}", headers=alice), 400, "invalid_cursor"
    )
    upload = client.post(
        "/api/v1/uploads/",
        headers={
            **alice,
            "Tus-Resumable": "1.0.0",
            "Upload-Length": "1",
            "Upload-Metadata": metadata(filename="a", parent=huge),
        },
    )
    assert_problem(upload, 400, "invalid_upload_header")


def test_unpaired_surrogates_in_json_are_refused(
    client: FlaskClient, alice: dict[str, str]
) -> None:
    body = b'{"name": "a\\ud800b", "parent": null}'
    response = client.post(
        "/api/v1/folders", data=body, content_type="application/json", headers=alice
    )
    assert_problem(response, 400, "invalid_request")
    login = client.post(
        "/api/v1/auth/login",
        data=b'{"username": "\\udfff", "password": "x"}',
        content_type="application/json",
    )
    assert_problem(login, 400, "invalid_request")
    cursor = base64.urlsafe_b64encode(b'[1, "\\ud800", 5]').decode()
    assert_problem(
        client.get(f"/api/v1/files?cursor={cursor}", headers=alice), 400, "invalid_cursor"
    )
