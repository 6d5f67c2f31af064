from collections.abc import Callable

from flask.testing import FlaskClient

from tests.backend.conftest import PASSWORD


def test_login_returns_a_token_and_the_user(
    client: FlaskClient, make_user: Callable[[str], dict[str, str]]
) -> None:
    make_user("alice")
    response = client.post("/api/v1/auth/login", json={"username": "alice", "password": PASSWORD})
    assert response.status_code == 200
    assert response.json["user"]["username"] == "alice"
    token = response.json["token"]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json == {"id": response.json["user"]["id"], "username": "alice"}


def test_wrong_credentials(client: FlaskClient, make_user: Callable[[str], dict[str, str]]) -> None:
    make_user("alice")
    for body in (
        {"username": "alice", "password": "wrong"},
        {"username": "nobody", "password": PASSWORD},
    ):
        response = client.post("/api/v1/auth/login", json=body)
        assert response.status_code == 401
        assert response.json["code"] == "invalid_credentials"
        assert response.content_type == "application/problem+json"


def test_malformed_login_bodies(client: FlaskClient) -> None:
    for kwargs in (
        {"data": "not json", "content_type": "application/json"},
        {"json": ["alice", "pw"]},
        {"json": {"username": "alice"}},
        {"json": {"username": 1, "password": "x"}},
    ):
        response = client.post("/api/v1/auth/login", **kwargs)
        assert response.status_code == 400
        assert response.json["code"] == "invalid_request"


def test_missing_or_invalid_token_is_401(client: FlaskClient) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
        response = client.get("/api/v1/me", headers=headers)
        assert response.status_code == 401
        assert response.json["code"] == "unauthorized"
        assert response.headers["WWW-Authenticate"] == "Bearer"


def test_logout_revokes_only_that_token(
    client: FlaskClient, make_user: Callable[[str], dict[str, str]]
) -> None:
    first = make_user("alice")
    second = client.post(
        "/api/v1/auth/login", json={"username": "alice", "password": PASSWORD}
    ).json["token"]
    assert client.post("/api/v1/auth/logout", headers=first).status_code == 204
    assert client.get("/api/v1/me", headers=first).status_code == 401
    assert (
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {second}"}).status_code == 200
    )
