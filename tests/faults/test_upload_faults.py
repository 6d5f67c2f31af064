"""Uploads against real processes that are killed, cut off, starved of disk or lose
answers. Every test ends with the file's SHA-256 checked on the server and no
duplicate or partial file left behind."""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from desktop_app.api import ApiClient
from desktop_app.engine_work import DAMAGED_NOTE
from desktop_app.retry import RetryPolicy
from desktop_app.transfers import TransferState
from desktop_app.tus import TusClient
from tests.faults.conftest import (
    MIB,
    staged_files,
    wait_until,
    write_random_file,
)
from tests.support.downloads import download_sha256
from tests.support.proxy import FaultyProxy
from tests.support.services import REPO_ROOT, Stack, start_stack

pytestmark = pytest.mark.faults


def _proxy_for(stack: Stack) -> FaultyProxy:
    port = int(stack.base_url.rsplit(":", 1)[1])
    return FaultyProxy("127.0.0.1", port)


def _only_file(api: ApiClient):
    items = api.list_folder()
    assert len(items) == 1, [item.name for item in items]
    return items[0]


def test_backend_killed_mid_upload_and_restarted(stack: Stack, engines, tmp_path: Path) -> None:
    path = tmp_path / "video.bin"
    sha = write_random_file(path, 48 * MIB)
    # Backoff alone gives up long before the dead writer's lock goes stale (30 s): only
    # the Retry-After of the server's 423 answers carries the client over it.
    impatient = RetryPolicy(max_attempts=12, base=0.1, cap=1.0)
    engine = engines(stack.base_url, stack.token, chunk_size=2 * MIB, policy=impatient)
    killed: list[int] = []

    class KillMidway:
        def transfer_changed(self, info) -> None:
            if info.bytes_done >= 17 * MIB and not killed:
                killed.append(info.bytes_done)
                # The client pauses in this hook, so the request in flight stays open:
                # once the server holds its lock, SIGKILL leaves that lock held.
                wait_until(lambda: stack.held_upload_locks() > 0, 10, "the server to lock it")
                stack.backend.kill()

        def transfers_removed(self, ids) -> None:
            pass

    engine.add_listener(KillMidway())
    engine.start()
    transfer_id = engine.add_file(path)
    wait_until(lambda: bool(killed), 60, "the kill")
    time.sleep(0.5)
    stack.start_backend()
    assert engine.wait_idle(180)
    done = engine.get(transfer_id)
    assert done.state is TransferState.DONE, done.error
    api = ApiClient(stack.base_url, stack.token)
    item = _only_file(api)
    assert (item.id, item.sha256, item.size) == (done.file_id, sha, 48 * MIB)
    assert download_sha256(stack, item.id)[0] == sha


def test_a_backend_stopped_mid_chunk_keeps_what_arrived_and_frees_the_upload(
    stack: Stack,
) -> None:
    size = 4 * MIB
    data = os.urandom(size)
    tus = {**stack.auth(), "Tus-Resumable": "1.0.0"}
    created = requests.post(
        f"{stack.base_url}/api/v1/uploads/",
        headers={**tus, "Upload-Length": str(size), "Upload-Metadata": "filename YS5iaW4="},
        timeout=30,
    )
    path = created.headers["Location"]
    port = int(stack.base_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        head = "".join(
            f"{name}: {value}\r\n"
            for name, value in {
                **tus,
                "Host": "127.0.0.1",
                "Upload-Offset": "0",
                "Content-Type": "application/offset+octet-stream",
                "Content-Length": str(size),
            }.items()
        )
        sock.sendall(f"PATCH {path} HTTP/1.1\r\n{head}\r\n".encode() + data[:MIB])
        [staged] = staged_files(stack)
        wait_until(lambda: staged.stat().st_size == MIB, 10, "the first MiB to be written")
        stack.stop_backend()  # SIGTERM, with the rest of the body still to come
        answer = http.client.HTTPResponse(sock)
        answer.begin()
        problem = json.loads(answer.read())
    assert (answer.status, problem["code"]) == (503, "server_stopping")
    assert answer.getheader("Upload-Offset") == str(MIB)  # what arrived was kept
    assert answer.getheader("Retry-After") == "5"
    assert stack.held_upload_locks() == 0  # nobody waits on a dead writer's lock

    stack.start_backend()
    url = stack.base_url + path
    assert requests.head(url, headers=tus, timeout=30).headers["Upload-Offset"] == str(MIB)
    rest = requests.patch(
        url,
        data=data[MIB:],
        headers={
            **tus,
            "Upload-Offset": str(MIB),
            "Content-Type": "application/offset+octet-stream",
        },
        timeout=60,
    )
    assert rest.status_code == 204, rest.text
    file_id = int(rest.headers["Trove-File-Id"])
    assert download_sha256(stack, file_id) == (hashlib.sha256(data).hexdigest(), size)


def test_connection_cut_at_random_offsets_during_a_200_mb_upload(
    stack: Stack, engines, tmp_path: Path
) -> None:
    size = 200 * MIB
    path = tmp_path / "large.bin"
    sha = write_random_file(path, size)
    rng = random.Random(4)
    cuts = sorted(rng.randrange(MIB, size - MIB) for _ in range(6))
    with _proxy_for(stack) as proxy:
        proxy.cut_at(*cuts)
        engine = engines(proxy.url, stack.token)
        engine.start()
        transfer_id = engine.add_file(path)
        assert engine.wait_idle(300)
        done = engine.get(transfer_id)
        assert done.state is TransferState.DONE, done.error
        assert proxy.log.cuts == cuts  # every cut really happened mid-upload
    api = ApiClient(stack.base_url, stack.token)
    item = _only_file(api)
    assert (item.id, item.sha256, item.size) == (done.file_id, sha, size)
    uploads_left = [p for p in staged_files(stack) if p.stat().st_size != size]
    assert uploads_left == []  # no partial leftovers beside the file's own staged copy


def test_bytes_damaged_on_the_way_are_caught_and_sent_again(
    stack: Stack, engines, tmp_path: Path
) -> None:
    """Chunks go without a checksum of their own; the server catches a damaged file by
    its SHA-256, and the client sends it again with every chunk checked, so that a chunk
    damaged this time is refused (460) and sent again on its own."""
    size = 8 * MIB
    path = tmp_path / "damaged.bin"
    sha = write_random_file(path, size)
    with _proxy_for(stack) as proxy:
        # In the middle of the first send, then of the second one (chunk bodies are
        # nearly all of the bytes: the headers of a chunk are a few hundred).
        proxy.damage_at(size // 2 + 12_345, size + size // 2 + 54_321)
        engine = engines(proxy.url, stack.token, chunk_size=MIB)
        engine.start()
        transfer_id = engine.add_file(path)
        assert engine.wait_idle(120)
        done = engine.get(transfer_id)
        assert done.state is TransferState.DONE, done.error
        assert len(proxy.log.damaged) == 2
    assert done.note == DAMAGED_NOTE  # sent again once, as the user is told
    api = ApiClient(stack.base_url, stack.token)
    item = _only_file(api)
    assert (item.id, item.sha256, item.size) == (done.file_id, sha, size)
    assert download_sha256(stack, item.id)[0] == sha


def test_a_chunk_cut_short_keeps_the_bytes_that_came(stack: Stack, tmp_path: Path) -> None:
    """The server streams a chunk to disk as it arrives: when the connection drops
    mid-chunk, what came is kept and HEAD says so, and the upload goes on from there."""
    size = 6 * MIB
    path = tmp_path / "cut.bin"
    sha = write_random_file(path, size)
    data = path.read_bytes()
    tus = TusClient(ApiClient(stack.base_url, stack.token))
    url = tus.create(size, {"filename": "cut.bin", "sha256": sha}).url
    sent = 3 * MIB + 12_345
    host, port = stack.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(
            (
                f"PATCH {url.removeprefix(stack.base_url)} HTTP/1.1\r\nHost: {host}\r\n"
                f"Authorization: Bearer {stack.token}\r\nTus-Resumable: 1.0.0\r\n"
                "Content-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\n"
                f"Content-Length: {size}\r\n\r\n"
            ).encode()
            + data[:sent]
        )
    wait_until(lambda: tus.offset(url) == sent, 30, "the bytes sent to be kept")
    with path.open("rb") as stream:
        offset, file_id = tus.patch(url, stream, sent, size - sent, threading.Event())
    assert offset == size and file_id is not None
    api = ApiClient(stack.base_url, stack.token)
    assert api.get_item(file_id).sha256 == sha
    assert download_sha256(stack, file_id)[0] == sha


def test_lost_answers_to_committed_chunks_and_to_the_final_patch(
    stack: Stack, engines, tmp_path: Path
) -> None:
    size = 24 * MIB + 777
    path = tmp_path / "answers.bin"
    sha = write_random_file(path, size)
    with _proxy_for(stack) as proxy:
        # The answers to three chunks in the middle, and to the very last one, vanish.
        proxy.drop_answer_after(5 * MIB, 9 * MIB, 15 * MIB, size)
        engine = engines(proxy.url, stack.token, chunk_size=2 * MIB)
        engine.start()
        transfer_id = engine.add_file(path)
        assert engine.wait_idle(120)
        done = engine.get(transfer_id)
        assert done.state is TransferState.DONE, done.error
        assert len(proxy.log.dropped_answers) == 4
    assert done.file_id is not None
    api = ApiClient(stack.base_url, stack.token)
    item = _only_file(api)  # no duplicate from the retried final PATCH
    assert (item.id, item.sha256) == (done.file_id, sha)


def test_compressor_down_during_and_after_an_upload(stack: Stack, engines, tmp_path: Path) -> None:
    path = tmp_path / "document.txt"
    text = b"Trove keeps every byte. " * 400_000  # ~9.6 MB, compressible
    path.write_bytes(text)
    sha = hashlib.sha256(text).hexdigest()
    engine = engines(stack.base_url, stack.token, chunk_size=MIB)
    stopped: list[bool] = []

    class StopCompressorMidway:
        def transfer_changed(self, info) -> None:
            if info.bytes_done >= 3 * MIB and not stopped:
                stopped.append(True)
                stack.compressor.kill()

        def transfers_removed(self, ids) -> None:
            pass

    engine.add_listener(StopCompressorMidway())
    engine.start()
    transfer_id = engine.add_file(path)
    assert engine.wait_idle(120)
    done = engine.get(transfer_id)
    assert stopped and done.state is TransferState.DONE, done.error
    api = ApiClient(stack.base_url, stack.token)
    item = api.get_item(done.file_id)
    assert item.state == "processing"
    assert download_sha256(stack, item.id)[0] == sha  # straight from staging
    time.sleep(1.0)  # the worker keeps failing to reach the compressor meanwhile
    assert api.get_item(item.id).state == "processing"

    stack.compressor.start()
    wait_until(lambda: api.get_item(item.id).state == "stored", 60, "the file to be stored")
    stored = api.get_item(item.id)
    assert stored.stored_size is not None and stored.stored_size < len(text)
    assert download_sha256(stack, item.id)[0] == sha  # now from the compressor
    assert staged_files(stack) == []


def _queue_row(queue: Path) -> dict | None:
    if not queue.exists():
        return None
    try:
        with contextlib.closing(sqlite3.connect(queue, timeout=5)) as db:
            db.row_factory = sqlite3.Row
            row = db.execute("SELECT * FROM transfers ORDER BY id LIMIT 1").fetchone()
            return dict(row) if row else None
    except sqlite3.Error:
        return None


def _server_offset(stack: Stack, url: str) -> int:
    response = requests.head(url, headers={**stack.auth(), "Tus-Resumable": "1.0.0"}, timeout=10)
    return int(response.headers.get("Upload-Offset", 0)) if response.ok else 0


def _child(stack: Stack, queue: Path, path: Path, *limit: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.support.upload_child",
            stack.base_url,
            stack.token,
            str(queue),
            str(path),
            *limit,
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_client_killed_mid_upload_resumes_from_the_server_offset(
    stack: Stack, tmp_path: Path
) -> None:
    size = 24 * MIB
    path = tmp_path / "photo-library.tar"
    sha = write_random_file(path, size)
    queue = tmp_path / "client" / "queue.sqlite3"
    first = _child(stack, queue, path, str(6 * MIB))  # throttled so it is caught midway
    try:
        url_seen: list[str] = []

        def midway() -> bool:
            row = _queue_row(queue)
            if not row or not row["upload_url"]:
                return False
            url_seen.append(row["upload_url"])
            return _server_offset(stack, row["upload_url"]) >= 6 * MIB

        wait_until(midway, 60, "the first client to be part-way")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    server_offset = _server_offset(stack, url_seen[-1])
    assert 0 < server_offset < size

    second = _child(stack, queue, path)
    out, _ = second.communicate(timeout=120)
    assert second.returncode == 0
    [result] = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert result["state"] == "done", result["error"]
    assert result["lowest_offset"] >= server_offset  # resumed, nothing sent twice
    api = ApiClient(stack.base_url, stack.token)
    item = _only_file(api)  # no duplicate file
    assert (item.id, item.sha256) == (result["file_id"], sha)
    assert TusClient(api).status(url_seen[-1]) == (size, item.id)


@contextlib.contextmanager
def _small_staging_disk(data_dir: Path, size: int) -> Iterator[dict[str, str]]:
    """A real size-limited file system for staging: a tmpfs when this process may mount
    one. Elsewhere, the fallback: a reserve (TROVE_STAGING_MIN_FREE_BYTES) that leaves
    the same room on the real disk (less exact: other writers to that disk move it).
    Yields extra backend environment."""
    staging = data_dir / "staging"
    staging.mkdir(parents=True, exist_ok=True)
    mounted = False
    if os.geteuid() == 0:
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(staging)],
            capture_output=True,
            check=False,
        )
        mounted = result.returncode == 0
    try:
        if mounted:
            yield {}
        else:
            stat = os.statvfs(staging)
            yield {"TROVE_STAGING_MIN_FREE_BYTES": str(stat.f_bavail * stat.f_frsize - size)}
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(staging)], check=False)


def test_staging_disk_full(tmp_path: Path, compressor_bin: Path, engines) -> None:
    room = 20 * MIB
    big, small = tmp_path / "too-big.bin", tmp_path / "fits.bin"
    write_random_file(big, 32 * MIB)
    sha = write_random_file(small, 2 * MIB)
    with _small_staging_disk(tmp_path / "data", room) as backend_env:
        stack = start_stack(tmp_path, backend_env=backend_env)
        try:
            _staging_disk_full(stack, engines, big, small, sha, room)
        finally:
            stack.stop()


def _staging_disk_full(stack: Stack, engines, big: Path, small: Path, sha: str, room: int) -> None:
    stack.compressor.kill()  # staged files stay staged: nothing frees the disk by itself
    engine = engines(stack.base_url, stack.token, chunk_size=4 * MIB)
    engine.start()
    transfer_id = engine.add_file(big)
    assert engine.wait_idle(120)
    failed = engine.get(transfer_id)
    assert failed.state is TransferState.FAILED
    assert failed.error and "no room left" in failed.error  # the server's own sentence
    api = ApiClient(stack.base_url, stack.token)
    assert api.list_folder() == []  # nothing partial published
    url = engine.store.get(transfer_id).upload_url
    committed = TusClient(api).offset(url)
    assert 0 < committed < 32 * MIB and committed % (4 * MIB) == 0
    [staged] = staged_files(stack)
    assert staged.stat().st_size == committed  # the chunk that did not fit is gone

    raw = requests.patch(
        url,
        data=b"x" * min(32 * MIB - committed, 8 * MIB),
        headers={
            **stack.auth(),
            "Tus-Resumable": "1.0.0",
            "Upload-Offset": str(committed),
            "Content-Type": "application/offset+octet-stream",
        },
        timeout=30,
    )
    assert raw.status_code == 507
    assert raw.headers["Content-Type"] == "application/problem+json"
    assert raw.json()["code"] == "insufficient_storage"

    engine.cancel(transfer_id)  # the user gives up: the server frees the space
    assert engine.wait_idle(30)
    wait_until(lambda: staged_files(stack) == [], 30, "the staged bytes to be removed")
    second = engine.add_file(small)
    assert engine.wait_idle(60)
    assert engine.get(second).state is TransferState.DONE
    assert _only_file(api).sha256 == sha
