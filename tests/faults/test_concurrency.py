"""Racing writers on one upload, and two clients sending the same content at once."""

from __future__ import annotations

import base64
import threading
from pathlib import Path

import pytest
import requests

from desktop_app.api import ApiClient
from desktop_app.transfers import TransferState
from tests.faults.conftest import MIB, wait_until, write_random_file
from tests.support.services import Stack

pytestmark = pytest.mark.faults


def _tus(stack: Stack, **headers: str) -> dict[str, str]:
    return {**stack.auth(), "Tus-Resumable": "1.0.0", **headers}


@pytest.mark.mariadb
def test_concurrent_patches_never_interleave(mysql_stack: Stack) -> None:
    stack = mysql_stack
    size = 8 * MIB
    created = requests.post(
        f"{stack.base_url}/api/v1/uploads/",
        headers=_tus(stack, **{"Upload-Length": str(size), "Upload-Metadata": "filename YS5iaW4="}),
        timeout=30,
    )
    url = stack.base_url + created.headers["Location"]
    bodies = [bytes([n]) * size for n in range(6)]
    answers: list[requests.Response] = []
    start = threading.Barrier(len(bodies))

    def send(body: bytes) -> None:
        start.wait()
        answers.append(
            requests.patch(
                url,
                data=body,
                headers=_tus(
                    stack,
                    **{
                        "Upload-Offset": "0",
                        "Content-Type": "application/offset+octet-stream",
                    },
                ),
                timeout=60,
            )
        )

    threads = [threading.Thread(target=send, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses.count(204) == 1, statuses
    assert set(statuses) <= {204, 409, 423}, statuses
    for answer in answers:
        if answer.status_code != 204:
            assert answer.json()["code"] in ("offset_mismatch", "upload_locked")
    [winner] = [answer for answer in answers if answer.status_code == 204]
    file_id = int(winner.headers["Trove-File-Id"])
    content = requests.get(
        f"{stack.base_url}/api/v1/files/{file_id}/content", headers=stack.auth(), timeout=60
    ).content
    assert content in bodies  # one writer's bytes, never a mix
    head = requests.head(url, headers=_tus(stack), timeout=30)
    assert head.headers["Upload-Offset"] == str(size)


@pytest.mark.mariadb
def test_two_clients_send_the_same_content_at_once(
    mysql_stack: Stack, engines, tmp_path: Path
) -> None:
    stack = mysql_stack
    path = tmp_path / "shared.bin"
    sha = write_random_file(path, 12 * MIB)
    first = engines(stack.base_url, stack.token, chunk_size=MIB)
    second = engines(stack.base_url, stack.token, chunk_size=MIB)
    ids = [first.add_file(path), second.add_file(path)]
    first.start()
    second.start()
    assert first.wait_idle(120) and second.wait_idle(120)
    done = [first.get(ids[0]), second.get(ids[1])]
    assert [d.state for d in done] == [TransferState.DONE] * 2, [d.error for d in done]
    api = ApiClient(stack.base_url, stack.token)
    items = api.list_folder()
    assert sorted(item.name for item in items) == ["shared (1).bin", "shared.bin"]
    assert {item.sha256 for item in items} == {sha}

    # Both reach the compressor as one blob.
    def stored() -> bool:
        return all(api.get_item(item.id).state == "stored" for item in items)

    wait_until(stored, 60, "both files to be stored")
    stats = requests.get(
        f"{stack.compressor_url}/v1/stats",
        headers={"Authorization": f"Bearer {stack.compressor_token}"},
        timeout=30,
    ).json()
    assert stats["blobs"] == 1

    # A third copy of the same content is added without sending a byte.
    again = requests.post(
        f"{stack.base_url}/api/v1/uploads/",
        headers=_tus(
            stack,
            **{
                "Upload-Length": str(12 * MIB),
                "Upload-Metadata": "filename YS5iaW4=,sha256 "
                + base64.b64encode(sha.encode()).decode(),
            },
        ),
        timeout=30,
    )
    assert again.status_code == 201
    assert again.headers["Upload-Offset"] == str(12 * MIB)
    assert api.get_item(int(again.headers["Trove-File-Id"])).state == "stored"
