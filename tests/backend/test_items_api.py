import threading
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from backend.extensions import db
from backend.models import Item
from backend.services import files
from tests.backend.conftest import upload_file


def mkdir(client: FlaskClient, auth: dict[str, str], name: str, parent: int | None = None) -> Any:
    return client.post("/api/v1/folders", json={"name": name, "parent": parent}, headers=auth)


def test_create_folder_returns_the_item(client: FlaskClient, alice: dict[str, str]) -> None:
    response = mkdir(client, alice, "Photos")
    assert response.status_code == 201
    item = response.json
    assert item["name"] == "Photos"
    assert item["kind"] == "folder"
    assert item["parent"] is None
    assert item["size"] == 0
    assert item["sha256"] is item["state"] is item["stored_size"] is item["codec"] is None
    assert item["created"].endswith("Z")
    child = mkdir(client, alice, "2024", item["id"]).json
    assert child["parent"] == item["id"]
    assert client.get(f"/api/v1/files/{child['id']}", headers=alice).json == child


def test_folder_name_rules(client: FlaskClient, alice: dict[str, str]) -> None:
    assert mkdir(client, alice, "Docs").status_code == 201
    taken = mkdir(client, alice, "Docs")
    assert taken.status_code == 409
    assert taken.json["code"] == "name_taken"
    assert mkdir(client, alice, "docs").status_code == 201  # case-sensitive
    for bad in ("a/b", "..", ".", "", "x\x00y", "back\\slash", "x" * 256, 5):
        response = mkdir(client, alice, bad)  # type: ignore[arg-type]
        assert response.status_code == 400, bad
        assert response.json["code"] == "invalid_name"


def test_folder_in_unknown_parent(client: FlaskClient, alice: dict[str, str]) -> None:
    response = mkdir(client, alice, "x", 999)
    assert response.status_code == 404
    assert response.json["code"] == "folder_not_found"
    bad_parent = client.post("/api/v1/folders", json={"name": "x", "parent": "1"}, headers=alice)
    assert bad_parent.status_code == 400


def test_listing_order_and_pagination(client: FlaskClient, alice: dict[str, str]) -> None:
    for name in ("b-folder", "A-folder"):
        mkdir(client, alice, name)
    for name in ("zeta.txt", "Alpha.txt", "beta.txt", "alpha2.txt"):
        upload_file(client, alice, name.encode(), name)
    expected = ["A-folder", "b-folder", "Alpha.txt", "alpha2.txt", "beta.txt", "zeta.txt"]
    whole = client.get("/api/v1/files", headers=alice).json
    assert [item["name"] for item in whole["items"]] == expected
    assert whole["next"] is None
    names: list[str] = []
    cursor = None
    pages = 0
    while True:
        query = "/api/v1/files?limit=4" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(query, headers=alice).json
        names += [item["name"] for item in page["items"]]
        pages += 1
        cursor = page["next"]
        if cursor is None:
            break
    assert names == expected
    assert pages == 2


def test_listing_a_folder_and_bad_parameters(client: FlaskClient, alice: dict[str, str]) -> None:
    folder = mkdir(client, alice, "Music").json
    upload_file(client, alice, b"la", "song.mp3", parent=folder["id"])
    listing = client.get(f"/api/v1/files?parent={folder['id']}", headers=alice).json
    assert [item["name"] for item in listing["items"]] == ["song.mp3"]
    assert listing["items"][0]["parent"] == folder["id"]
    assert [i["name"] for i in client.get("/api/v1/files", headers=alice).json["items"]] == [
        "Music"
    ]
    assert client.get("/api/v1/files?parent=12345", headers=alice).json["code"] == (
        "folder_not_found"
    )
    for query in ("limit=0", "limit=1001", "limit=x", "parent=abc"):
        assert client.get(f"/api/v1/files?{query}", headers=alice).status_code == 400
    bad_cursor = client.get("/api/v1/files?cursor=garbage", headers=alice)
    assert bad_cursor.status_code == 400
    assert bad_cursor.json["code"] == "invalid_cursor"


def test_rename_and_move(client: FlaskClient, alice: dict[str, str]) -> None:
    a = mkdir(client, alice, "a").json
    b = mkdir(client, alice, "b").json
    file_id = upload_file(client, alice, b"hello", "note.txt")
    renamed = client.patch(f"/api/v1/files/{file_id}", json={"name": "memo.txt"}, headers=alice)
    assert renamed.status_code == 200
    assert renamed.json["name"] == "memo.txt"
    moved = client.patch(f"/api/v1/files/{file_id}", json={"parent": a["id"]}, headers=alice)
    assert moved.json["parent"] == a["id"]
    back = client.patch(f"/api/v1/files/{file_id}", json={"parent": None}, headers=alice)
    assert back.json["parent"] is None
    both = client.patch(
        f"/api/v1/files/{b['id']}", json={"name": "b2", "parent": a["id"]}, headers=alice
    )
    assert (both.json["name"], both.json["parent"]) == ("b2", a["id"])


def test_patch_errors(client: FlaskClient, alice: dict[str, str]) -> None:
    a = mkdir(client, alice, "a").json
    sub = mkdir(client, alice, "sub", a["id"]).json
    mkdir(client, alice, "taken")
    cases: list[tuple[int, dict[str, Any], int, str]] = [
        (a["id"], {"parent": a["id"]}, 400, "invalid_move"),
        (a["id"], {"parent": sub["id"]}, 400, "invalid_move"),
        (a["id"], {"name": "taken"}, 409, "name_taken"),
        (a["id"], {"name": "x/y"}, 400, "invalid_name"),
        (a["id"], {"parent": 9999}, 404, "folder_not_found"),
        (a["id"], {"color": "red"}, 400, "invalid_request"),
        (9999, {"name": "x"}, 404, "file_not_found"),
    ]
    for item_id, body, status, code in cases:
        response = client.patch(f"/api/v1/files/{item_id}", json=body, headers=alice)
        assert (response.status_code, response.json["code"]) == (status, code), body
    same = client.patch(f"/api/v1/files/{a['id']}", json={"name": "a"}, headers=alice)
    assert same.status_code == 200


def test_delete_folder_recursively(client: FlaskClient, alice: dict[str, str], app: Any) -> None:
    top = mkdir(client, alice, "top").json
    mid = mkdir(client, alice, "mid", top["id"]).json
    ids = [
        upload_file(client, alice, b"one", "1.txt", parent=top["id"]),
        upload_file(client, alice, b"two", "2.txt", parent=mid["id"]),
    ]
    keep = upload_file(client, alice, b"keep", "keep.txt")
    staged = list(app.extensions["trove"].staging.root.iterdir())
    assert len(staged) == 3
    assert client.delete(f"/api/v1/files/{top['id']}", headers=alice).status_code == 204
    for item_id in [top["id"], mid["id"], *ids]:
        assert client.get(f"/api/v1/files/{item_id}", headers=alice).status_code == 404
    assert client.get(f"/api/v1/files/{keep}", headers=alice).status_code == 200
    assert len(list(app.extensions["trove"].staging.root.iterdir())) == 1
    assert client.delete(f"/api/v1/files/{top['id']}", headers=alice).status_code == 404


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_users_never_see_each_other(
    client: FlaskClient,
    alice: dict[str, str],
    make_user: Callable[[str], dict[str, str]],
    method: str,
) -> None:
    bob = make_user("bob")
    folder = mkdir(client, alice, "private").json
    file_id = upload_file(client, alice, b"secret", "secret.txt", parent=folder["id"])
    for item_id in (folder["id"], file_id):
        response = getattr(client, method)(
            f"/api/v1/files/{item_id}", json={"name": "mine"}, headers=bob
        )
        assert response.status_code == 404
        assert response.json["code"] == "file_not_found"
    assert client.get(f"/api/v1/files/{file_id}/content", headers=bob).status_code == 404
    assert client.get(f"/api/v1/files?parent={folder['id']}", headers=bob).status_code == 404
    assert mkdir(client, bob, "x", folder["id"]).status_code == 404
    assert client.get("/api/v1/files", headers=bob).json["items"] == []
    assert mkdir(client, bob, "private").status_code == 201  # names are per user
    assert client.get(f"/api/v1/files/{file_id}", headers=alice).status_code == 200


def test_usage(client: FlaskClient, alice: dict[str, str]) -> None:
    empty = client.get("/api/v1/usage", headers=alice).json
    assert empty == {
        "files": 0,
        "folders": 0,
        "original_bytes": 0,
        "stored_bytes": 0,
        "saved_bytes": 0,
        "processing": 0,
    }
    mkdir(client, alice, "f")
    upload_file(client, alice, b"x" * 100, "a")
    upload_file(client, alice, b"y" * 50, "b")
    usage = client.get("/api/v1/usage", headers=alice).json
    assert usage == {
        "files": 2,
        "folders": 1,
        "original_bytes": 150,
        "stored_bytes": 150,
        "saved_bytes": 0,
        "processing": 2,
    }


def test_two_folders_moved_into_each_other_at_once_make_no_loop(
    app: Flask, alice: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    move_into_each_other_at_once(app, alice, monkeypatch)


def move_into_each_other_at_once(
    app: Flask, auth: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Moves folder a into b and b into a, the second one checked while the first one
    has checked but not committed yet (unless the first holds the second back)."""
    client = app.test_client()
    a = client.post("/api/v1/folders", json={"name": "a"}, headers=auth).json["id"]
    b = client.post("/api/v1/folders", json={"name": "b"}, headers=auth).json["id"]
    first_checked, second_checked = threading.Event(), threading.Event()
    is_inside = files._is_inside

    def checked_in_turn(user_id: int, folder_id: int | None, ancestor_id: int) -> bool:
        inside = is_inside(user_id, folder_id, ancestor_id)
        if ancestor_id == a:  # the first move waits (a while) for the second one's check
            first_checked.set()
            second_checked.wait(timeout=2)
        else:
            second_checked.set()
        return inside

    monkeypatch.setattr(files, "_is_inside", checked_in_turn)
    answers: dict[str, int] = {}

    def move(folder: int, into: int) -> None:
        response = app.test_client().patch(
            f"/api/v1/files/{folder}", json={"parent": into}, headers=auth
        )
        answers[f"{folder}->{into}"] = response.status_code

    first = threading.Thread(target=move, args=(a, b))
    first.start()
    assert first_checked.wait(timeout=10)
    second = threading.Thread(target=move, args=(b, a))
    second.start()
    first.join(timeout=30)
    second.join(timeout=30)
    assert sorted(answers.values()) == [200, 400], answers
    parents = {i: client.get(f"/api/v1/files/{i}", headers=auth).json["parent"] for i in (a, b)}
    assert None in parents.values(), parents  # one of them is still in the root


def test_a_loop_of_folders_left_by_an_older_version_never_hangs_a_request(
    app: Flask, client: FlaskClient, alice: dict[str, str]
) -> None:
    a = client.post("/api/v1/folders", json={"name": "a"}, headers=alice).json["id"]
    b = client.post("/api/v1/folders", json={"name": "b", "parent": a}, headers=alice).json["id"]
    c = client.post("/api/v1/folders", json={"name": "c"}, headers=alice).json["id"]
    with app.app_context():
        db.session.execute(sa.update(Item).where(Item.id == a).values(parent_id=b, parent_key=b))
        db.session.commit()
    moved = client.patch(f"/api/v1/files/{c}", json={"parent": a}, headers=alice)
    assert (moved.status_code, moved.json["code"]) == (400, "invalid_move")
    assert client.delete(f"/api/v1/files/{a}", headers=alice).status_code == 204
    assert client.get(f"/api/v1/files/{b}", headers=alice).status_code == 404
