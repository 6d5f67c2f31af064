"""The shared real-world corpus: locate it, build it once, and read its manifest."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
MAKE_CORPUS = REPO_ROOT.parent / "shared" / "corpus" / "make_corpus.sh"
CORPUS_BUILD_TOOLS = ("setuptools>=77", "wheel", "pybind11")
DEFAULT_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "trove" / "corpus"


@dataclass(frozen=True)
class CorpusFile:
    path: Path
    relpath: str
    size: int
    sha256: str
    media_type: str
    notes: str


def corpus_dir() -> Path:
    return Path(os.environ.get("TROVE_CORPUS", DEFAULT_DIR))


def read_manifest(root: Path) -> list[CorpusFile]:
    with (root / "MANIFEST.tsv").open(newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    return [
        CorpusFile(
            root / r["relpath"],
            r["relpath"],
            int(r["bytes"]),
            r["sha256"],
            r["media_type"],
            r.get("notes") or "",
        )
        for r in rows
    ]


def is_complete(root: Path) -> bool:
    """True when every manifest entry is present with its recorded size."""
    if not (root / "MANIFEST.tsv").exists():
        return False
    expected = _script_manifest_lines()
    if expected is not None and len(read_manifest(root)) != expected:
        return False
    return all(f.path.is_file() and f.path.stat().st_size == f.size for f in read_manifest(root))


def _script_manifest_lines() -> int | None:
    if not MAKE_CORPUS.exists():
        return None
    text = MAKE_CORPUS.read_text(errors="replace")
    start = text.find("<<'__MANIFEST_END__'\n")
    end = text.find("\n__MANIFEST_END__", start)
    if start < 0 or end < 0:
        return None
    return len(text[start:end].splitlines()) - 2  # the heredoc line and the header


def ensure(root: Path | None = None) -> Path:
    """Return the corpus directory, building it with the shared script when incomplete."""
    root = root or corpus_dir()
    if is_complete(root):
        return root
    if not MAKE_CORPUS.exists():
        raise RuntimeError(f"corpus script not found at {MAKE_CORPUS}")
    subprocess.run(["bash", str(MAKE_CORPUS), str(root)], check=True, env=_build_env())
    if not is_complete(root):
        raise RuntimeError(f"corpus at {root} is incomplete after building it")
    return root


def _build_env() -> dict[str, str]:
    """Environment for the corpus script with pip's build tools installed beforehand.

    The script fetches source distributions with `--no-binary :all:`; in an isolated build
    environment pip would then compile their build tools (cmake among them) from source just
    to read metadata, which takes most of an hour on two cores. A small tools virtualenv with
    those build requirements, used without build isolation, does the same in seconds.
    """
    tools = DEFAULT_DIR.parent / "corpus-tools"
    python = tools / "bin" / "python3"
    if not python.exists():
        venv.create(tools, with_pip=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *CORPUS_BUILD_TOOLS], check=True)
    return os.environ | {
        "PATH": f"{tools / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "PIP_NO_BUILD_ISOLATION": "false",  # pip's spelling for "do not isolate builds"
    }


if __name__ == "__main__":
    path = ensure(Path(sys.argv[1]) if len(sys.argv) > 1 else None)
    print(path)
