"""Self-hosting with Docker Compose, end to end: installer, corpus round trip through the
desktop app's engine, restarts, a crashed compressor, a database that is not ready and a
port that is taken. The tests run in order on one deployment (see conftest.py)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from desktop_app.api import ApiClient, Item
from desktop_app.engine import UploadEngine
from desktop_app.retry import RetryPolicy
from desktop_app.store import QueueStore
from desktop_app.transfers import TransferState
from installer.compose import REPO_ROOT, SERVICES
from installer.install import SECRETS, read_env
from tests.compose.conftest import FIGURES, Deployment
from tests.desktop.conftest import remote_tree
from tests.support import corpus

pytestmark = pytest.mark.timeout(3600)  # a cold image build alone takes about 10 minutes
PATIENT = RetryPolicy(max_attempts=60, base=0.2, cap=3.0)


def installer(d: Deployment, *extra: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "installer.install", "--env-file", str(d.env_file)]
    argv += ["--project-name", d.stack.project, "--address", "127.0.0.1", *extra]
    return subprocess.run(argv, cwd=REPO_ROOT, capture_output=True, text=True, timeout=1800)


def cached_steps(build_output: str) -> str:
    """How much of the build came from the layer cache (legacy builder and BuildKit)."""
    steps = len(re.findall(r"^(Step \d+/\d+ : (?!FROM|ARG)|#\d+ \[)", build_output, re.M))
    cached = build_output.count("Using cache") + len(re.findall(r"\bCACHED\b", build_output))
    return f"{cached} of {steps} build steps from the layer cache"


def login(d: Deployment) -> ApiClient:
    api = ApiClient(d.base_url, timeout=(5, 60))
    api.login(d.admin, d.password)
    return api


def files_below(api: ApiClient, parent: int) -> dict[str, Item]:
    return {path: item for path, item in remote_tree(api, parent).items() if not item.is_folder}


def wait_stored(api: ApiClient, parent: int, count: int, timeout: float = 900) -> dict[str, Item]:
    deadline = time.monotonic() + timeout
    while True:
        items = files_below(api, parent)
        if len(items) == count and all(i.state == "stored" for i in items.values()):
            return items
        if time.monotonic() > deadline:
            waiting = sorted(f"{p}: {i.state}" for p, i in items.items() if i.state != "stored")
            pytest.fail(f"{len(items)}/{count} files, not stored in time: {waiting[:10]}")
        time.sleep(1)


def check_downloads(api: ApiClient, items: dict[str, Item], expected: dict[str, str], tmp: Path):
    tmp.mkdir(parents=True, exist_ok=True)
    for path, item in items.items():
        # api.download verifies the SHA-256 while it writes; compare with the source too.
        api.download(item.id, tmp / str(item.id), expected_sha256=expected[path])
        assert item.sha256 == expected[path], path


def stack_state(d: Deployment, service: str) -> dict:
    return d.stack.state(service)


# -- 1. installer: clean state → built, healthy, first admin --------------------------------


def test_installer_builds_starts_and_creates_the_first_admin(deployment: Deployment) -> None:
    started = time.monotonic()
    done = installer(deployment, "--port", str(deployment.port))
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    FIGURES["installer: build + up + healthy + admin"] = f"{elapsed:.0f} s"
    FIGURES["layer cache"] = cached_steps(done.stdout + done.stderr)
    assert "4 secrets generated, 0 kept" in done.stdout
    assert f"Trove is running at http://localhost:{deployment.port}/" in done.stdout
    deployment.password = re.search(r"^password:\s+(\S+)", done.stdout, re.M).group(1)
    env = read_env(deployment.env_file)
    assert all(len(env[name]) >= 43 for name in SECRETS)
    assert len({env[name] for name in SECRETS}) == len(SECRETS)
    assert oct(deployment.env_file.stat().st_mode & 0o777) == "0o600"
    assert {s: deployment.stack.health(s) for s in SERVICES} == dict.fromkeys(SERVICES, "healthy")
    api = login(deployment)
    assert api.me()["username"] == "admin"


def test_running_the_installer_again_keeps_secrets_and_admin(deployment: Deployment) -> None:
    before = deployment.env_file.read_text()
    done = installer(deployment)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "0 secrets generated, 4 kept" in done.stdout
    assert "admin user 'admin' exists already; its password is unchanged" in done.stdout
    assert deployment.env_file.read_text() == before
    login(deployment).me()


# -- 2. the desktop engine's uploads, byte-exact, stored by the compressor ----------------


def test_the_whole_corpus_round_trips_through_the_stack(
    deployment: Deployment,
    corpus_root: Path,
    corpus_files: list[corpus.CorpusFile],
    tmp_path: Path,
) -> None:
    api = login(deployment)
    folder = api.create_folder("corpus")
    store = QueueStore(tmp_path / "queue.sqlite3")
    engine = UploadEngine(api, store, workers=3, policy=PATIENT, progress_interval=0).start()
    started = time.monotonic()
    try:
        engine.add_paths(
            [corpus_root / top for top in {f.relpath.split("/")[0] for f in corpus_files}],
            folder.id,
        )
        assert engine.wait_idle(1200), "uploads did not finish"
        states = {t.state for t in engine.transfers()}
    finally:
        engine.shutdown()
        store.close()
    uploaded = time.monotonic() - started
    assert states == {TransferState.DONE}
    items = wait_stored(api, folder.id, len(corpus_files))
    stored = time.monotonic() - started
    total = sum(f.size for f in corpus_files)
    FIGURES["corpus"] = (
        f"{len(corpus_files)} files, {total / 1e6:.0f} MB: uploaded in {uploaded:.0f} s, "
        f"all stored by the compressor after {stored:.0f} s"
    )
    check_downloads(api, items, {f.relpath: f.sha256 for f in corpus_files}, tmp_path / "dl")
    codecs = {i.codec for i in items.values()}
    assert {"raw", "zstd", "lepton"} <= codecs, codecs
    usage = api.usage()
    assert usage.files == len(corpus_files)
    assert usage.stored_bytes < usage.original_bytes == total
    FIGURES["corpus stored"] = (
        f"{usage.stored_bytes / total:.1%} of original, codecs {sorted(codecs)}"
    )


# -- 3. restart: the data survives, warm start time -------------------------------------------


def test_data_survives_recreating_every_container(deployment: Deployment, tmp_path: Path) -> None:
    api = login(deployment)
    before = api.usage()
    deployment.stack.run("down")  # containers and network go; volumes stay
    started = time.monotonic()
    deployment.stack.run("up", "-d")
    deployment.stack.wait_healthy(timeout=120)
    FIGURES["warm up → healthy (containers recreated)"] = f"{time.monotonic() - started:.1f} s"
    api = login(deployment)  # sign-in tokens live in the database, so this also checks it
    assert api.usage() == before
    folder = next(i for i in api.list_folder(None) if i.name == "corpus")
    items = dict(sorted(files_below(api, folder.id).items(), key=lambda p: -p[1].size)[:8])
    check_downloads(api, items, {p: i.sha256 for p, i in items.items()}, tmp_path / "dl")


# -- 4. the compressor crashes while uploads are running ----------------------------------------


def test_a_killed_compressor_loses_nothing(deployment: Deployment, tmp_path: Path) -> None:
    local = tmp_path / "local"
    local.mkdir()
    expected = {}
    for n in range(6):
        path = local / f"part-{n}.bin"
        data = os.urandom(3 << 20) + (b"trove %d\n" % n) * (300_000 + n)
        path.write_bytes(data)
        expected[path.name] = hashlib.sha256(data).hexdigest()
    api = login(deployment)
    folder = api.create_folder("crash")
    pid = stack_state(deployment, "compressor")["Pid"]
    restarts = _restart_count(deployment, "compressor")
    killed = []
    store = QueueStore(tmp_path / "queue.sqlite3")
    engine = UploadEngine(api, store, workers=2, chunk_size=1 << 20, policy=PATIENT)
    engine.start()
    try:
        for path in sorted(local.iterdir()):
            engine.add_file(path, folder.id)
        deadline = time.monotonic() + 300
        while not killed and time.monotonic() < deadline:
            if any(t.state == TransferState.DONE for t in engine.transfers()):
                os.kill(pid, 9)  # a crash, not a stop: the restart policy brings it back
                killed.append(time.monotonic())
            time.sleep(0.05)
        assert killed, "no upload finished"
        unfinished = [t for t in engine.transfers() if t.state != TransferState.DONE]
        assert unfinished, "every upload had finished before the crash"
        assert engine.wait_idle(600)
        assert {t.state for t in engine.transfers()} == {TransferState.DONE}
    finally:
        engine.shutdown()
        store.close()
    items = wait_stored(api, folder.id, len(expected))
    assert _restart_count(deployment, "compressor") > restarts
    deployment.stack.wait_healthy(timeout=120)
    check_downloads(api, items, expected, tmp_path / "dl")


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True).stdout


def _restart_count(d: Deployment, service: str) -> int:
    cid = d.stack.container(service)
    done = subprocess.run(
        ["docker", "inspect", "--format", "{{.RestartCount}}", cid],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout)


# -- 5. the database is not ready when the services start --------------------------------------


def test_services_wait_for_a_database_that_is_not_ready(deployment: Deployment) -> None:
    stack = deployment.stack
    db, backend, compressor = (stack.container(s) for s in ("db", "backend", "compressor"))
    docker("stop", db)  # plain docker: compose versions differ in what else they restart
    docker("restart", backend, compressor)
    deadline = time.monotonic() + 60
    while "waiting for the database at db:3306/trove" not in stack.logs("backend"):
        assert time.monotonic() < deadline, stack.logs("backend")[-3000:]
        time.sleep(1)
    assert stack.health("backend") != "healthy"
    # The compressor stops with the reason and its restart policy starts it again.
    while "cannot start: cannot open the index" not in stack.logs("compressor"):
        assert time.monotonic() < deadline, stack.logs("compressor")[-3000:]
        time.sleep(1)
    docker("start", db)
    stack.wait_healthy(timeout=180)
    backend_log = stack.logs("backend")
    assert "Can't connect to MySQL server on 'db'" in backend_log
    assert "the database at db:3306/trove is reachable" in backend_log
    assert "Traceback" not in backend_log
    login(deployment).usage()


def test_a_database_password_changed_after_the_first_start_is_explained(
    deployment: Deployment,
) -> None:
    stack, env_file = deployment.stack, deployment.env_file
    original = env_file.read_text()
    old = read_env(env_file)["TROVE_DB_PASSWORD"]
    env_file.write_text(original.replace(f"TROVE_DB_PASSWORD={old}", "TROVE_DB_PASSWORD=changed"))
    try:
        stack.run("up", "-d", "--no-deps", "backend")
        deadline = time.monotonic() + 60
        while "keeps the passwords of its first start" not in stack.logs("backend"):
            assert time.monotonic() < deadline, stack.logs("backend")[-3000:]
            time.sleep(1)
        assert "Access denied for user 'trove'" in stack.logs("backend")
    finally:
        env_file.write_text(original)
        stack.run("up", "-d", "--no-deps", "backend")
    stack.wait_healthy(timeout=120)


# -- 6. the published port is taken ----------------------------------------------------------


def test_a_port_in_use_gets_a_clear_message(deployment: Deployment) -> None:
    env_before = deployment.env_file.read_text()
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        done = installer(deployment, "--port", str(port))
        assert done.returncode == 1
        assert f"error: port {port} on 127.0.0.1 is already in use by another program" in (
            done.stderr
        )
        assert "--port" in done.stderr
        assert deployment.env_file.read_text() == env_before  # nothing changed
        assert deployment.stack.health("backend") == "healthy"


# -- 7. figures: image sizes and idle memory -------------------------------------------------------


def test_report_image_sizes_and_idle_memory(deployment: Deployment) -> None:
    stack = deployment.stack
    stack.wait_healthy(timeout=120)
    time.sleep(15)  # let start-up work settle
    for service in SERVICES:
        cid = stack.container(service)
        image = _inspect(cid, "{{.Image}}")
        size = int(_inspect(image, "{{.Size}}", "image"))
        base = _base_size(image)
        own = f", {(size - base) / 1e6:.0f} MB over its base image" if base else ""
        FIGURES[f"image size: {service}"] = f"{size / 1e6:.0f} MB{own}"
    stats = subprocess.run(
        ["docker", "stats", "--no-stream", "--format", "{{json .}}"]
        + [stack.container(s) for s in SERVICES],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    total = 0.0
    for row, service in zip(map(json.loads, stats), SERVICES, strict=True):
        used = row["MemUsage"].split("/")[0].strip()
        total += _mib(used)
        FIGURES[f"idle memory: {service}"] = used
    FIGURES["idle memory: whole stack"] = f"{total:.0f} MiB"


def _inspect(ref: str, template: str, kind: str = "container") -> str:
    argv = ["docker", kind, "inspect", "--format", template, ref]
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()


def _base_size(image: str) -> int:
    """Size of the image's base: the largest ancestor that carries a tag."""
    history = subprocess.run(
        ["docker", "history", "--format", "{{.ID}}", image],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for layer in history[1:]:
        if layer == "<missing>":
            continue
        tags = _inspect(layer, "{{len .RepoTags}}", "image")
        if tags != "0":
            return int(_inspect(layer, "{{.Size}}", "image"))
    return 0


def _mib(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)\s*([KMG]i?B|B)", text).groups()
    scale = {"B": 1 / 2**20, "KiB": 1 / 1024, "MiB": 1, "GiB": 1024, "kB": 1 / 1024}
    return float(number) * scale.get(unit, 1)
