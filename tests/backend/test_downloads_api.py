from flask.testing import FlaskClient

from tests.backend.conftest import upload_file

DATA = bytes(range(256)) * 4


def test_download_from_staging(client: FlaskClient, alice: dict[str, str]) -> None:
    file_id = upload_file(client, alice, DATA, "Résumé 2024.pdf")
    response = client.get(f"/api/v1/files/{file_id}/content", headers=alice)
    assert response.status_code == 200
    assert response.data == DATA
    assert response.headers["Content-Length"] == str(len(DATA))
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=\"R_sum_ 2024.pdf\"; filename*=UTF-8''R%C3%A9sum%C3%A9%202024.pdf"
    )


def test_single_ranges(client: FlaskClient, alice: dict[str, str]) -> None:
    file_id = upload_file(client, alice, DATA)
    url = f"/api/v1/files/{file_id}/content"
    for header, start, end in (
        ("bytes=10-19", 10, 19),
        ("bytes=1000-", 1000, 1023),
        ("bytes=-24", 1000, 1023),
        ("bytes=1020-5000", 1020, 1023),
    ):
        response = client.get(url, headers={**alice, "Range": header})
        assert response.status_code == 206, header
        assert response.data == DATA[start : end + 1]
        assert response.headers["Content-Range"] == f"bytes {start}-{end}/{len(DATA)}"
        assert response.headers["Content-Length"] == str(end - start + 1)
    multi = client.get(url, headers={**alice, "Range": "bytes=0-1,4-5"})
    assert (multi.status_code, multi.data) == (200, DATA)


def test_unsatisfiable_range(client: FlaskClient, alice: dict[str, str]) -> None:
    file_id = upload_file(client, alice, DATA)
    response = client.get(
        f"/api/v1/files/{file_id}/content", headers={**alice, "Range": "bytes=5000-"}
    )
    assert response.status_code == 416
    assert response.headers["Content-Range"] == f"bytes */{len(DATA)}"
    assert response.json["code"] == "range_not_satisfiable"


def test_folders_and_missing_files_have_no_content(
    client: FlaskClient, alice: dict[str, str]
) -> None:
    folder = client.post("/api/v1/folders", json={"name": "f"}, headers=alice).json
    response = client.get(f"/api/v1/files/{folder['id']}/content", headers=alice)
    assert (response.status_code, response.json["code"]) == (400, "not_a_file")
    missing = client.get("/api/v1/files/4242/content", headers=alice)
    assert (missing.status_code, missing.json["code"]) == (404, "file_not_found")
