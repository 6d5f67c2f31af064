"""Upload benchmark: the desktop app's engine through the whole stack on loopback.

For each data set it prints the throughput until the last chunk is acknowledged (the
file exists on the server) and until the compressor has stored it, each as a ratio to
`cp` of the same data on the same disk measured in the same run, and the peak resident
memory of the backend, the compressor and the client (this process, which runs the
engine). Nothing is asserted: the figures are for people.

The `cp` baseline is the median of several runs, alternating two sync policies: `cp`
that syncs each file as it is copied (the backend syncs every chunk before it
acknowledges it, so this is the same durability, and the ratio the targets refer to) and
`cp -r` followed by one `sync` (shown alongside). Every cp run and every upload starts
after a `sync`, with the source already in the page cache, so none inherits dirty pages
from the step before.

    make bench-upload          # 100 MiB, 1 GiB, JPEG folders
    python -m bench.bench_upload --sizes 100 --no-jpeg --workdir /some/disk
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from desktop_app.api import ApiClient
from desktop_app.engine import UploadEngine
from desktop_app.store import QueueStore
from desktop_app.transfers import TransferState
from desktop_app.tus import DEFAULT_CHUNK_SIZE
from tests.support import corpus
from tests.support.services import REPO_ROOT, Stack, start_stack

MIB = 1024 * 1024


class PeakRss:
    """Samples the resident set size of some processes (each on its own: the client's
    children, the services started by this benchmark, are counted separately)."""

    def __init__(self, processes: dict[str, int], interval: float = 0.05) -> None:
        self._procs = {name: psutil.Process(pid) for name, pid in processes.items()}
        self.peaks = dict.fromkeys(processes, 0)
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self, proc: psutil.Process) -> int:
        with contextlib.suppress(psutil.Error):
            return int(proc.memory_info().rss)
        return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            for name, proc in self._procs.items():
                self.peaks[name] = max(self.peaks[name], self._rss(proc))
            self._stop.wait(self._interval)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class Result:
    name: str
    size: int
    files: int
    baseline: Baseline
    ack_seconds: float
    upload_seconds: float
    stored_seconds: float
    peaks: dict[str, int]

    def line(self) -> str:
        mb = self.size / 1e6
        cp = mb / self.baseline.seconds
        cp_one_sync = mb / statistics.median(self.baseline.cp_sync)
        spread = sorted(mb / s for s in self.baseline.cp_fsync_each)
        ack = mb / self.ack_seconds
        up = mb / self.upload_seconds
        stored = mb / self.stored_seconds
        rss = "  ".join(f"{name} {peak / MIB:6.1f}" for name, peak in self.peaks.items())
        return (
            f"{self.name:<22} {mb:8.1f} MB {self.files:5d} files | cp {cp:7.1f} MB/s "
            f"(median; runs {spread[0]:.0f}-{spread[-1]:.0f}; cp -r + one sync "
            f"{cp_one_sync:.0f}) | acknowledged {ack:7.1f} MB/s ({ack / cp:4.0%} of cp, "
            f"{ack / cp_one_sync:4.0%} of cp + one sync; upload phase {up:7.1f} MB/s, "
            f"{up / cp:4.0%}) | stored {stored:7.1f} MB/s ({stored / cp:4.0%}) | "
            f"peak RSS MiB: {rss}"
        )


def write_random(path: Path, size: int) -> None:
    with open(path, "wb") as out:
        left = size
        while left:
            block = os.urandom(min(8 * MIB, left))
            out.write(block)
            left -= len(block)


def jpeg_folder(root: Path, target_bytes: int, unique: bool) -> Path:
    """Corpus JPEGs copied until the folder holds `target_bytes`. With `unique`, each
    copy gets a different trailing comment-free byte after the image (so no two files
    share content and deduplication cannot help)."""
    files = [f for f in corpus.read_manifest(corpus.ensure()) if f.media_type == "image/jpeg"]
    folder = root / ("jpegs-unique" if unique else "jpegs-repeated")
    total, copy = 0, 0
    while total < target_bytes:
        for source in files:
            dest = folder / f"copy{copy:03d}" / source.path.name
            dest.parent.mkdir(parents=True, exist_ok=True)
            data = source.path.read_bytes()
            if unique:
                data += copy.to_bytes(4, "big")
            dest.write_bytes(data)
            total += len(data)
        copy += 1
    return folder


def tree_size(path: Path) -> tuple[int, int]:
    if path.is_file():
        return path.stat().st_size, 1
    sizes = [p.stat().st_size for p in path.rglob("*") if p.is_file()]
    return sum(sizes), len(sizes)


def _copy_fsync_each(source: Path, dest: Path) -> None:
    """Copy like `cp -r`, making each file and folder durable before the next one (what
    the backend does before it acknowledges a file)."""
    if source.is_file():
        shutil.copyfile(source, dest)
        _fsync(dest)
        return
    for folder, _dirs, names in os.walk(source):
        target = dest / Path(folder).relative_to(source)
        target.mkdir(parents=True, exist_ok=True)
        for name in names:
            shutil.copyfile(Path(folder) / name, target / name)
            _fsync(target / name)
        _fsync(target)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class Baseline:
    """Median seconds of `cp` runs (with the spread), under two sync policies."""

    cp_sync: list[float]  # cp -r, then one sync of the copy
    cp_fsync_each: list[float]  # every file synced as it is copied

    @property
    def seconds(self) -> float:
        """The baseline the upload is held to: the backend syncs every file (every
        chunk) before it acknowledges it, so `cp` does the same."""
        return statistics.median(self.cp_fsync_each)


def time_cp(source: Path, workdir: Path, repeat: int) -> Baseline:
    """`cp` of the data to the same disk, `repeat` times per policy, alternating. Each
    run starts with the page cache in the same state as the upload's: the source read
    (cached), nothing dirty (a `sync` first), the copy's own bytes synced to disk."""
    dest = workdir / "cp-copy"
    runs: dict[str, list[float]] = {"sync": [], "each": []}
    for _ in range(repeat):
        for policy in runs:
            subprocess.run(["sync"], check=True)
            began = time.monotonic()
            if policy == "sync":
                subprocess.run(["cp", "-r", str(source), str(dest)], check=True)
                subprocess.run(["sync", "-f", str(dest)], check=True)
            else:
                _copy_fsync_each(source, dest)
            runs[policy].append(time.monotonic() - began)
            shutil.rmtree(dest) if dest.is_dir() else dest.unlink()
    return Baseline(runs["sync"], runs["each"])


def upload(
    stack: Stack, source: Path, workdir: Path, name: str, baseline: Baseline, chunk_size: int
) -> Result:
    size, files = tree_size(source)
    api = ApiClient(stack.base_url, stack.token, timeout=(10, 300))
    folder = api.create_folder(name)
    store = QueueStore(workdir / f"queue-{name}.sqlite3")
    engine = UploadEngine(api, store, progress_interval=0.5, chunk_size=chunk_size)
    uploading_began: list[float] = []

    class FirstUpload:
        def transfer_changed(self, info) -> None:
            if info.state is TransferState.UPLOADING and not uploading_began:
                uploading_began.append(time.monotonic())

        def transfers_removed(self, ids) -> None:
            pass

    engine.add_listener(FirstUpload())
    processes = {
        "backend": stack.backend.process.pid,  # type: ignore[union-attr]
        "compressor": stack.compressor.process.pid,  # type: ignore[union-attr]
        "client": os.getpid(),
    }
    subprocess.run(["sync"], check=True)  # start as clean as the cp runs did
    with PeakRss(processes) as rss:
        began = time.monotonic()
        engine.start()
        engine.add_paths([source], folder.id)
        engine.wait_idle()
        acked = time.monotonic()
        transfers = engine.transfers()
        failed = [t for t in transfers if t.state is not TransferState.DONE]
        if failed:
            raise SystemExit(f"{name}: {len(failed)} transfers failed: {failed[0].error}")
        pending = {t.file_id for t in transfers}
        while pending:
            pending = {i for i in pending if api.get_item(i).state != "stored"}  # type: ignore[arg-type]
            if pending:
                time.sleep(0.1)
        stored = time.monotonic()
    engine.shutdown()
    store.close()
    return Result(
        name,
        size,
        files,
        baseline,
        acked - began,
        acked - (uploading_began[0] if uploading_began else began),
        stored - began,
        rss.peaks,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1024", help="random file sizes in MiB")
    parser.add_argument("--jpeg-mib", type=int, default=256, help="JPEG folder size in MiB")
    parser.add_argument("--no-jpeg", action="store_true")
    parser.add_argument(
        "--chunk-mib", type=int, default=DEFAULT_CHUNK_SIZE // MIB, help="PATCH size in MiB"
    )
    parser.add_argument("--workdir", type=Path, default=REPO_ROOT / "build" / "bench")
    parser.add_argument("--cp-runs", type=int, default=5, help="cp runs per policy (median)")
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        work = Path(tmp)
        data = work / "input"
        data.mkdir()
        sets: list[tuple[str, Path]] = []
        for mib in (int(x) for x in args.sizes.split(",") if x):
            path = data / f"random-{mib}MiB.bin"
            write_random(path, mib * MIB)
            sets.append((f"random {mib} MiB", path))
        if not args.no_jpeg:
            target = args.jpeg_mib * MIB
            sets.append(("JPEG folder (unique)", jpeg_folder(data, target, unique=True)))
            sets.append(("JPEG folder (repeated)", jpeg_folder(data, target, unique=False)))
        stack = start_stack(work / "stack")
        print(f"stack on {stack.base_url}; data in {work}", flush=True)
        try:
            for name, path in sets:
                baseline = time_cp(path, work, args.cp_runs)
                folder = hashlib.sha1(name.encode()).hexdigest()[:8]
                result = upload(stack, path, work, folder, baseline, args.chunk_mib * MIB)
                result.name = name
                print(result.line(), flush=True)
        finally:
            stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
