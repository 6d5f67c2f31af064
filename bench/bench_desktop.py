"""Desktop benchmark: start-up time and memory of the app on a folder of 10,000 files.

Starts the real compressor and backend, fills one account's home folder with small files
(three in four small JPEG pictures, each different, the rest text) through tus
creation-with-upload, waits until the compressor holds them all, then starts
`trove-desktop` (offscreen) as a user would and prints

- start to usable window: from starting the process until the main window shows rows of
  the listing (and until the listing is complete), for a first sign-in and for starts
  with the saved session;
- resident memory (RSS) of the app: peak, and steady after scrolling the whole folder page
  by page in the list and in the thumbnail grid, plus how long each scroll step took;

against the targets (under 1.5 s, under 300 MB). Nothing is asserted.

    make bench-desktop
    python -m bench.bench_desktop --files 2000 --starts 3 --keep build/bench/desktop-2000
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from bench.bench_upload import PeakRss
from tests.support.services import REPO_ROOT, Stack, make_backend, make_compressor, start_stack

MB = 1_000_000
START_TARGET_S = 1.5
MEMORY_TARGET_MB = 300
BENCH_USER = ("bench", "bench password 1")


def small_jpeg(index: int) -> bytes:
    """A 320x240 picture of its own colour with a bar at its own height: every one differs,
    and each makes a full-size (256 pixel) thumbnail as a photo would."""
    from PIL import Image, ImageDraw

    colour = ((index * 37) % 256, (index * 91) % 256, (index * 53) % 256)
    image = Image.new("RGB", (320, 240), colour)
    bar = index % 236
    ImageDraw.Draw(image).rectangle((0, bar, 319, bar + 3), fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def sample_file(index: int) -> tuple[str, bytes]:
    if index % 4 == 3:
        return f"note {index:05d}.txt", f"Note number {index}.\n".encode() * (1 + index % 20)
    return f"photo {index:05d}.jpg", small_jpeg(index)


def _metadata(**fields: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in fields.items())


def fill(stack: Stack, count: int, threads: int = 8) -> float:
    """Upload ``count`` files into the home folder with one request each; seconds taken."""
    local = threading.local()

    def one(index: int) -> None:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
            session.headers.update(stack.auth() | {"Tus-Resumable": "1.0.0"})
        name, data = sample_file(index)
        response = session.post(
            f"{stack.base_url}/api/v1/uploads/",
            data=data,
            headers={
                "Upload-Length": str(len(data)),
                "Upload-Metadata": _metadata(filename=name),
                "Content-Type": "application/offset+octet-stream",
            },
            timeout=60,
        )
        if response.status_code != 201 or "Trove-File-Id" not in response.headers:
            raise RuntimeError(f"upload of {name}: {response.status_code} {response.text}")

    began = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        for done, _ in enumerate(pool.map(one, range(count)), 1):
            if done % 1000 == 0:
                print(f"  {done} files uploaded", flush=True)
    return time.monotonic() - began


def wait_stored(stack: Stack, timeout: float = 1800) -> float:
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        usage = requests.get(f"{stack.base_url}/api/v1/usage", headers=stack.auth(), timeout=30)
        if usage.json().get("processing", 0) == 0:
            return time.monotonic() - began
        time.sleep(0.5)
    raise TimeoutError("the compressor did not store every file in time")


def run_app(stack: Stack, home: Path, browse: bool, sign_in: bool) -> dict[str, object]:
    """Start the app once; the events it reported (with seconds since process start)."""
    argv = [
        sys.executable,
        "-m",
        "bench.desktop_probe",
        "--server",
        stack.base_url,
        "--config-dir",
        str(home / "config"),
        "--data-dir",
        str(home / "data"),
    ]
    if sign_in:
        creds = home / "credentials.json"
        creds.write_text(json.dumps({"username": stack.username, "password": stack.password}))
        argv += ["--credentials-file", str(creds)]
    if browse:
        argv.append("--browse")
    # The session goes to the settings file of this run, not to the keyring of whoever runs it.
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        PYTHONUNBUFFERED="1",
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
    )
    events: dict[str, object] = {}
    log_path = home / "app.log"
    with log_path.open("w") as log:
        began = time.monotonic()
        child = subprocess.Popen(
            argv, env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=log, text=True
        )
        with PeakRss({"app": child.pid}, interval=0.02) as rss:
            assert child.stdout is not None
            for line in child.stdout:
                if not line.startswith("{"):
                    continue
                event = json.loads(line)
                event["at"] = time.monotonic() - began
                events[event.pop("event")] = event
            child.wait(600)
    events["peak_rss"] = rss.peaks["app"]
    wanted = ["first_rows", "listing_complete"] + (["idle"] if browse else [])
    if any(name not in events for name in wanted):
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-30:])
        raise RuntimeError(f"the app stopped early (exit code {child.returncode}):\n{tail}")
    return events


def print_start(what: str, events: dict) -> None:
    print(
        f"  {what}: rows shown {events['first_rows']['at']:.2f} s, listing complete "
        f"{events['listing_complete']['at']:.2f} s, peak RSS {events['peak_rss'] / MB:.0f} MB",
        flush=True,
    )


def verdict(ok: bool) -> str:
    return "within target" if ok else "OVER TARGET"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--starts", type=int, default=5, help="starts with the saved session")
    parser.add_argument("--workdir", type=Path, default=REPO_ROOT / "build" / "bench")
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="keep the filled server in DIR and reuse it on the next run with as many files",
    )
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        work = Path(tmp)
        stack = open_stack(args.keep.resolve() if args.keep else work / "stack", args.files)
        try:
            home = work / "home"
            home.mkdir()
            first = run_app(stack, home, browse=False, sign_in=True)
            print_start("first start, signing in", first)
            starts = []
            for _ in range(args.starts):
                starts.append(run_app(stack, home, browse=False, sign_in=False))
                print_start("start with the saved session", starts[-1])
            browsed = run_app(stack, home, browse=True, sign_in=False)
            print_start("start, then browsing", browsed)
        finally:
            stack.stop()
    report(args.files, first, [*starts, browsed], browsed)
    return 0


def open_stack(root: Path, files: int) -> Stack:
    """A running stack whose user ``bench`` has ``files`` files in the home folder."""
    marker = root / "filled.json"
    if marker.exists() and json.loads(marker.read_text()) == {"files": files}:
        compressor = make_compressor(root / "data" / "compressor")
        stack = Stack(compressor, make_backend(root / "data", compressor), *BENCH_USER)
        stack.start()
        stack.token = stack.login(*BENCH_USER)
        print(f"stack on {stack.base_url}, reusing {files} files in {root}", flush=True)
        return stack
    if root.exists():
        shutil.rmtree(root)
    stack = start_stack(root, username=BENCH_USER[0], password=BENCH_USER[1])
    try:
        print(f"stack on {stack.base_url}; uploading {files} files", flush=True)
        upload_s = fill(stack, files)
        stored_s = wait_stored(stack)
        print(
            f"uploaded {files} files in {upload_s:.1f} s ({files / upload_s:.0f}/s), "
            f"all stored {stored_s:.1f} s later",
            flush=True,
        )
    except BaseException:
        stack.stop()
        raise
    marker.write_text(json.dumps({"files": files}))
    return stack


def report(files: int, first: dict, starts: list[dict], browsed: dict) -> None:
    shown = [s["first_rows"]["at"] for s in starts]
    complete = [s["listing_complete"]["at"] for s in starts]
    median = statistics.median(shown)
    print(f"\nDesktop app on a folder of {files} files (offscreen, {len(starts)} starts)")
    print(
        f"  start to usable window (rows shown), saved session: median {median:.2f} s, "
        f"max {max(shown):.2f} s — target < {START_TARGET_S} s: {verdict(median < START_TARGET_S)}"
    )
    print(
        f"  start to complete listing ({starts[0]['listing_complete']['rows']} rows): "
        f"median {statistics.median(complete):.2f} s, max {max(complete):.2f} s"
    )
    print(
        f"  first start with sign-in: rows shown {first['first_rows']['at']:.2f} s, "
        f"listing complete {first['listing_complete']['at']:.2f} s"
    )
    peak = browsed["peak_rss"] / MB
    idle = browsed["idle"]["rss"] / MB
    print(
        f"  memory (RSS): {browsed['listing_complete']['rss'] / MB:.0f} MB with the listing, "
        f"{idle:.0f} MB steady after browsing, peak {peak:.0f} MB — "
        f"target < {MEMORY_TARGET_MB} MB: {verdict(peak < MEMORY_TARGET_MB)}"
    )
    for view in ("list", "grid"):
        b = browsed[f"browsed_{view}"]
        print(
            f"  scrolling the {view}: {b['steps']} page steps, paint per step median "
            f"{b['step_ms_median']:.1f} ms, p95 {b['step_ms_p95']:.1f} ms, max "
            f"{b['step_ms_max']:.1f} ms; thumbnails still queued at the bottom "
            f"{b['thumbnails_queued_at_bottom']}, held after {b['thumbnails_held']}, "
            f"asked of the server in this view {b['thumbnails_fetched']}"
        )


if __name__ == "__main__":
    sys.exit(main())
