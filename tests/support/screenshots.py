"""`make screenshots`: start a throwaway stack, upload corpus files, render the app to PNG."""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from tests.support import corpus
from tests.support.services import start_stack

WALL = "A/plasma-workspace-wallpapers/"

# A small, varied selection from the real corpus, under the names a person would give them.
PICKS = {
    "Cold ripple.jpg": WALL + "ColdRipple__contents__images__2560x1600.jpg",
    "Fallen leaf.jpg": WALL + "FallenLeaf__contents__images__2560x1600.jpg",
    "Colourful cups.jpg": (WALL + "ColorfulCups__contents__images__2560x1600.jpg"),
    "By the water.jpg": WALL + "BytheWater__contents__images__2560x1600.jpg",
    "Evening glow.jpg": WALL + "EveningGlow__contents__images__2560x1600.jpg",
    "Darkest hour.jpg": WALL + "DarkestHour__contents__images__2560x1600.jpg",
    "Elarun.png": WALL + "Elarun__contents__images__2560x1600.png",
    "Flower.jpg": "A/pillow/Tests__images__flower.jpg",
    "Grace Hopper.jpg": "A/matplotlib/matplotlib__mpl-data__sample_data__grace_hopper.jpg",
    "An introduction to R.pdf": "A/r-doc-pdf/R__doc__manual__R-intro.pdf",
    "Letter.odt": "A/odfpy/tests__examples__headerfooter.odt",
    "Card shuffle.wav": "A/gnome-audio/sounds__card_shuffle.wav",
    "Comments.ogg": "A/mutagen/tests__data__multipagecomment.ogg",
    "Big Buck Bunny trailer.mp4": (
        "A/moviepy/medias__getting_started__moviepy_10_minutes__trailer_bbb.mp4"
    ),
}
BIG = {
    "Big Buck Bunny.mp4": (
        "A/moviepy/moviepy_10_minutes.zip__moviepy_10_minutes__resources__bbb.mp4"
    ),
    "Altai 5K.png": WALL + "Altai__contents__images__5120x2880.png",
}


def named_copies(by_path: dict[str, Path], picks: dict[str, str], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [
        Path(shutil.copyfile(by_path[relpath], folder / name)) for name, relpath in picks.items()
    ]


def main(argv: list[str]) -> int:
    from PySide6.QtWidgets import QApplication

    from desktop_app.api import ApiClient
    from desktop_app.ui.screenshots import capture

    outdir = Path(argv[0] if argv else "docs/screenshots").resolve()
    root = corpus.ensure()
    by_path = {f.relpath: f.path for f in corpus.read_manifest(root)}
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setStyle("Fusion")
    with tempfile.TemporaryDirectory(prefix="trove-screenshots-stack-") as tmp:
        stack = start_stack(Path(tmp))
        try:
            api = ApiClient(stack.base_url, stack.token)
            files = named_copies(by_path, PICKS, Path(tmp) / "files")
            big = named_copies(by_path, BIG, Path(tmp) / "big")
            capture(api, outdir, files, big)
        finally:
            stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
