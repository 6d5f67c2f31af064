"""The desktop app as a user starts it, reporting what it is doing on stdout for
`bench.bench_desktop` (one JSON object a line). Not a test and not part of the app.

    python -m bench.desktop_probe --server URL --config-dir D --data-dir D [--browse]

It builds the application exactly as `trove-desktop` does (`desktop_app.main.create_app`),
announces when the main window first shows rows of the listing and when the listing is
complete, and with ``--browse`` scrolls the whole folder page by page in the list and then
in the grid view, the way a person dragging the scroll bar would, timing each step.
"""

from __future__ import annotations

import json
import statistics
import sys
import time

import psutil

from desktop_app.main import create_app, parse_args

STEP_PAUSE_MS = 25  # event-loop time between scroll steps (thumbnails arrive meanwhile)


def say(event: str, **fields: object) -> None:
    rss = psutil.Process().memory_info().rss
    print(json.dumps({"event": event, "rss": rss, **fields}), flush=True)


def main(argv: list[str]) -> int:
    browse = "--browse" in argv
    args = parse_args([a for a in argv if a != "--browse"])
    app, controller = create_app(args)

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    def pump(ms: int) -> None:
        end = time.monotonic() + ms / 1000
        while time.monotonic() < end:
            QApplication.processEvents()
            time.sleep(0.002)

    def scroll_through(window, page: int) -> dict[str, object]:
        browser = window.browser
        browser.set_view(page)
        view = browser.view
        bar = view.verticalScrollBar()
        thumbs = browser.thumbnails
        fetched_before = thumbs.fetched
        pump(200)
        steps: list[float] = []
        value = 0
        while True:
            began = time.perf_counter()
            bar.setValue(value)
            view.viewport().repaint()  # paints now: asks the model for the visible rows
            steps.append((time.perf_counter() - began) * 1000)
            pump(STEP_PAUSE_MS)
            if value >= bar.maximum():
                break
            value = min(bar.maximum(), value + bar.pageStep())
        queued = thumbs.queued
        deadline = time.monotonic() + 120
        while thumbs.busy and time.monotonic() < deadline:
            pump(50)
        return {
            "steps": len(steps),
            "step_ms_median": statistics.median(steps),
            "step_ms_p95": sorted(steps)[int(len(steps) * 0.95) - 1],
            "step_ms_max": max(steps),
            "thumbnails_queued_at_bottom": queued,
            "thumbnails_held": thumbs.held,
            "thumbnails_fetched": thumbs.fetched - fetched_before,
        }

    def browse_all(window) -> None:
        report = {"list": scroll_through(window, 0)}
        say("browsed_list", **report["list"])
        report["grid"] = scroll_through(window, 1)
        say("browsed_grid", **report["grid"])
        pump(2000)
        say("idle", rows=window.files.rowCount())
        window.close()

    def opened(window) -> None:
        first: list[bool] = []

        def rows_shown() -> None:
            if not first and window.files.rowCount() > 0:
                first.append(True)
                window.browser.view.viewport().repaint()
                say("first_rows", rows=window.files.rowCount())

        def complete() -> None:
            say("listing_complete", rows=window.files.rowCount())
            if browse:
                QTimer.singleShot(0, lambda: browse_all(window))
            else:
                window.close()

        window.files.modelReset.connect(rows_shown)
        window.files.rowsInserted.connect(lambda *_: rows_shown())
        window.folder_loaded.connect(complete, type=_single_shot())

    controller.window_opened.connect(opened)
    say("app_created")
    controller.start()
    try:
        return app.exec()
    finally:
        controller.shutdown()


def _single_shot():
    from PySide6.QtCore import Qt

    return Qt.ConnectionType.SingleShotConnection


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
