"""The transfer panel driving the real upload engine against the real backend."""

from __future__ import annotations

import os

import pytest
from PySide6.QtCore import Qt

from desktop_app.store import TransferRecord
from desktop_app.transfers import Transfer, TransferState
from desktop_app.ui.transfer_model import TransferTableModel, format_duration
from desktop_app.ui.transfer_panel import TransferPanel

from .conftest import sha256_of, write_random
from .test_ui_stack import WAIT_MS, drop_on, names_in


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, ""),
        (0.4, "0 s"),
        (59, "59 s"),
        (60, "1 min"),
        (75, "1 min 15 s"),
        (7300, "2 h 1 min"),
    ],
)
def test_durations_read_naturally(seconds, text):
    assert format_duration(seconds) == text


@pytest.fixture
def panel(qtbot, make_engine):
    engine = make_engine(chunk_size=64 * 1024, bandwidth_limit=512 * 1024).start()
    widget = TransferPanel(engine)
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    widget.detach()


def state_text(panel: TransferPanel, row: int) -> str:
    return panel.transfers.index(row, TransferTableModel.STATE).data()


def test_pause_resume_with_speed_and_time_left(qtbot, panel, tmp_path):
    big = write_random(tmp_path / "up" / "video.bin", 3 * 1024 * 1024)
    panel.engine.add_file(big)
    model = panel.transfers
    qtbot.waitUntil(lambda: model.rowCount() == 1, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: model.transfer_at(0).speed > 0, timeout=WAIT_MS)
    assert model.index(0, TransferTableModel.SPEED).data().endswith("/s")
    assert model.index(0, TransferTableModel.ETA).data().endswith(("s", "min"))
    assert "to go" in panel.summary.text() and "left" in panel.summary.text()

    panel.view.selectRow(0)
    assert panel.pause_button.isEnabled() and not panel.resume_button.isEnabled()
    qtbot.mouseClick(panel.pause_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: model.transfer_at(0).state is TransferState.PAUSED, timeout=WAIT_MS)
    assert state_text(panel, 0) == "Paused"
    assert model.index(0, TransferTableModel.ETA).data() == ""
    assert panel.resume_button.isEnabled() and not panel.pause_button.isEnabled()

    with qtbot.waitSignal(panel.batch_finished, timeout=WAIT_MS) as batch:
        qtbot.mouseClick(panel.resume_button, Qt.MouseButton.LeftButton)
    assert batch.args == [1, 0]
    assert state_text(panel, 0) == "Done"


def test_failed_items_show_their_reason_and_cancel(qtbot, panel, tmp_path):
    missing = tmp_path / "up" / "gone.bin"
    big = write_random(tmp_path / "up" / "large.bin", 3 * 1024 * 1024)
    model = panel.transfers
    # The large upload is under way before the other item fails, so both make one batch
    # (a failure with nothing else pending would close a batch of its own).
    panel.engine.add_file(big)
    qtbot.waitUntil(lambda: model.rowCount() == 1, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: model.transfer_at(0).state is TransferState.UPLOADING, timeout=WAIT_MS)
    panel.engine.add_file(missing)
    qtbot.waitUntil(lambda: model.rowCount() == 2, timeout=WAIT_MS)
    failed_row = next(r for r in range(2) if model.transfer_at(r).name == "gone.bin")
    qtbot.waitUntil(
        lambda: model.transfer_at(failed_row).state is TransferState.FAILED, timeout=WAIT_MS
    )
    text = state_text(panel, failed_row)
    assert text.startswith("Failed: ") and len(text) > len("Failed: ") + 10
    brush = model.index(failed_row, 0).data(Qt.ItemDataRole.ForegroundRole)
    assert brush.color().red() > brush.color().green()

    with qtbot.waitSignal(panel.batch_finished, timeout=WAIT_MS) as batch:
        panel.view.selectRow(1 - failed_row)
        qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    assert batch.args == [0, 1]
    assert state_text(panel, 1 - failed_row) == "Cancelled"
    assert "1 failed" in panel.summary.text()


def test_window_announces_finished_batches(qtbot, window, tmp_path):
    files = [write_random(tmp_path / "drop" / f"part {n}.bin", 20_000) for n in range(3)]
    notes: list[str] = []
    window.notified.connect(notes.append)
    drop_on(window, *files)

    def uploaded() -> int:
        # A file may finish before the next one is queued: that makes two batches.
        return sum(int(text.split()[0]) for text in notes)

    qtbot.waitUntil(lambda: uploaded() == 3, timeout=WAIT_MS)
    assert all(text.endswith(("1 file uploaded", "files uploaded")) for text in notes), notes
    assert window.statusBar().currentMessage() == notes[-1]
    qtbot.waitUntil(lambda: len(names_in(window)) == 3, timeout=WAIT_MS)


def test_the_queue_comes_back_after_a_restart(qtbot, make_engine, api, tmp_path):
    big = write_random(tmp_path / "up" / "film.bin", 3 * 1024 * 1024)
    later = write_random(tmp_path / "up" / "later.bin", 200 * 1024)
    engine = make_engine(chunk_size=64 * 1024, bandwidth_limit=256 * 1024).start()
    first = TransferPanel(engine)
    qtbot.addWidget(first)
    big_id = engine.add_file(big)
    later_id = engine.add_file(later)
    engine.pause(later_id)
    qtbot.waitUntil(lambda: engine.get(big_id).bytes_done > 256 * 1024, timeout=WAIT_MS)
    first.detach()
    engine.shutdown()  # the app quits mid-upload

    restarted = make_engine(chunk_size=64 * 1024)
    panel = TransferPanel(restarted)  # shows the queue before any upload resumes
    qtbot.addWidget(panel)
    rows = {t.name: t for t in panel.transfers.transfers()}
    assert set(rows) == {"film.bin", "later.bin"}
    assert rows["film.bin"].bytes_done > 0
    assert rows["later.bin"].state is TransferState.PAUSED

    with qtbot.waitSignal(panel.batch_finished, timeout=WAIT_MS) as batch:
        restarted.start()
    assert batch.args == [1, 0]
    assert restarted.get(later_id).state is TransferState.PAUSED  # still the user's choice
    done = api.get_item(restarted.get(big_id).file_id)
    assert done.sha256 == sha256_of(big)
    panel.detach()


def test_a_name_that_is_not_utf8_is_shown_readably(qtbot):
    reason = "The name bad\ufffdname.txt is not valid UTF-8."
    record = TransferRecord(
        "acct", os.fsdecode(b"/up/bad\xffname.txt"), None, state="failed", error=reason, id=1
    )
    model = TransferTableModel()
    model.update_transfer(Transfer(record).info())
    # Qt would silently drop the undecodable byte: "badname.txt" names another file.
    assert model.index(0, TransferTableModel.NAME).data() == "bad\ufffdname.txt"
    assert model.index(0, TransferTableModel.STATE).data() == f"Failed: {reason}"
    assert model.index(0, 0).data(Qt.ItemDataRole.ToolTipRole) == reason
