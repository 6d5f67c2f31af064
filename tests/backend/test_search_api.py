"""Searching names with `GET /api/v1/files?q=`."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.backend.conftest import upload_file


def names(client: FlaskClient, auth: dict[str, str], **params: object) -> list[str]:
    response = client.get("/api/v1/files", query_string=params, headers=auth)
    assert response.status_code == 200, response.json
    return [item["name"] for item in response.json["items"]]


def test_search_finds_names_anywhere_case_insensitively(
    client: FlaskClient, alice: dict[str, str], make_user
) -> None:
    trips = client.post("/api/v1/folders", json={"name": "Trips", "parent": None}, headers=alice)
    trips_id = trips.json["id"]
    upload_file(client, alice, b"a", "Beach Holiday.jpg", parent=trips_id)
    upload_file(client, alice, b"b", "holiday notes.txt")
    upload_file(client, alice, b"c", "100%_holiday.png")
    upload_file(client, alice, b"d", "tax 2024.pdf")
    client.post("/api/v1/folders", json={"name": "Holidays", "parent": trips_id}, headers=alice)
    bob = make_user("bob")
    upload_file(client, bob, b"e", "bob holiday.jpg")

    assert names(client, alice, q="HOLIDAY") == [
        "Holidays",
        "100%_holiday.png",
        "Beach Holiday.jpg",
        "holiday notes.txt",
    ]
    assert names(client, alice, q="holiday", parent=trips_id) == ["Holidays", "Beach Holiday.jpg"]
    assert names(client, alice, q="%") == ["100%_holiday.png"]  # wildcards are literal
    assert names(client, alice, q="_h") == ["100%_holiday.png"]
    assert names(client, alice, q="nothing like it") == []
    assert names(client, alice, q="  ") == [
        "Trips",
        "100%_holiday.png",
        "holiday notes.txt",
        "tax 2024.pdf",
    ]
    first = client.get("/api/v1/files?q=holiday&limit=2", headers=alice).json
    rest = client.get(f"/api/v1/files?q=holiday&limit=2&cursor={first['next']}", headers=alice)
    assert [i["name"] for i in first["items"] + rest.json["items"]] == names(
        client, alice, q="holiday"
    )
