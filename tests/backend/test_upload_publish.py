"""Where a finished upload's file lands: its owner's folder, under an id never used before."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from backend.extensions import db
from backend.models import Item, User
from tests.backend.conftest import upload_file
from tests.backend.test_uploads_api import create, patch


def test_upload_into_a_folder_deleted_meanwhile(client: FlaskClient, alice: dict[str, str]) -> None:
    folder = client.post("/api/v1/folders", json={"name": "gone"}, headers=alice).json
    location = create(client, alice, 3, parent=folder["id"]).headers["Location"]
    client.delete(f"/api/v1/files/{folder['id']}", headers=alice)
    response = patch(client, alice, location, 0, b"abc")
    assert (response.status_code, response.json["code"]) == (404, "folder_not_found")


def test_an_upload_never_lands_in_another_users_folder(
    client: FlaskClient, alice: dict[str, str], make_user: Any, app: Flask
) -> None:
    folder = client.post("/api/v1/folders", json={"name": "mine"}, headers=alice).json
    location = create(client, alice, 3, parent=folder["id"]).headers["Location"]
    bob = make_user("bob")
    with app.app_context():  # the folder id now names someone else's folder
        bob_id = db.session.scalar(sa.select(User.id).where(User.username == "bob"))
        db.session.execute(sa.update(Item).where(Item.id == folder["id"]).values(user_id=bob_id))
        db.session.commit()
    response = patch(client, alice, location, 0, b"abc")
    assert (response.status_code, response.json["code"]) == (404, "folder_not_found")
    inside = client.get(f"/api/v1/files?parent={folder['id']}", headers=bob).json["items"]
    assert inside == []


def test_ids_of_deleted_files_are_never_handed_out_again(
    client: FlaskClient, alice: dict[str, str]
) -> None:
    first = upload_file(client, alice, b"first", "first.txt")
    assert client.delete(f"/api/v1/files/{first}", headers=alice).status_code == 204
    second = upload_file(client, alice, b"second", "second.txt")
    assert second > first
