"""The Qt user interface (offscreen) against the real backend."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from desktop_app.api import ApiClient
from desktop_app.settings import Settings
from desktop_app.transfers import TransferState
from desktop_app.ui.controller import AppController
from desktop_app.ui.main_window import MainWindow
from desktop_app.ui.signin import SignInDialog
from desktop_app.ui.transfer_model import TransferTableModel

from .conftest import write_random

WAIT_MS = 60_000


def _file_urls(*paths) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    return mime


def drop_on(widget, *paths) -> QDropEvent:
    """Drag local files over ``widget`` and drop them, as the window system would."""
    mime = _file_urls(*paths)
    point = QPoint(widget.width() // 2, widget.height() // 2)
    action, buttons, keys = (
        Qt.DropAction.CopyAction,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    # Qt takes whole-pixel positions for drag enter and move, fractional ones for the drop.
    enter = QDragEnterEvent(point, action, mime, buttons, keys)
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(point), action, mime, buttons, keys)
    QApplication.sendEvent(widget, drop)
    assert drop.isAccepted()
    return drop


def names_in(window: MainWindow) -> list[str]:
    return [item.name for item in window.files.items()]


def test_sign_in_dialog_signs_in(qtbot, stack):
    dialog = SignInDialog(stack.base_url, stack.username, stack.password)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.signed_in, timeout=WAIT_MS) as signed:
        dialog.submit()
    session = signed.args[0]
    assert (session.server_url, session.username) == (stack.base_url, stack.username)
    assert ApiClient(session.server_url, session.token).me()["username"] == stack.username


def _sign_in_message(qtbot, server, username, password) -> str:
    dialog = SignInDialog(server, username, password)
    qtbot.addWidget(dialog)
    dialog.submit()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=WAIT_MS)
    return dialog.message()


def test_sign_in_explains_what_went_wrong(qtbot, stack):
    assert (
        _sign_in_message(qtbot, stack.base_url, stack.username, "wrong password")
        == "Wrong user name or password."
    )
    assert "is not a Trove server" in _sign_in_message(
        qtbot, stack.compressor_url, stack.username, stack.password
    )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert _sign_in_message(qtbot, f"127.0.0.1:{port}", "alice", "pw").startswith(
        f"Cannot reach the Trove server at http://127.0.0.1:{port}."
    )
    assert _sign_in_message(qtbot, "", "alice", "pw") == "Enter the address of your Trove server."


def test_dropped_file_appears_in_the_file_list(qtbot, window, tmp_path):
    photo = write_random(tmp_path / "drop" / "holiday photo.jpg", 150_000)
    drop_on(window, photo)
    qtbot.waitUntil(lambda: "holiday photo.jpg" in names_in(window), timeout=WAIT_MS)
    row = names_in(window).index("holiday photo.jpg")
    item = window.files.item_at(row)
    assert item.size == 150_000
    assert window.files.index(row, window.files.SIZE).data() == "150.0 KB"
    qtbot.waitUntil(lambda: window.usage_label.text().startswith("1 file"), timeout=WAIT_MS)


def test_transfer_list_shows_progress(qtbot, window, tmp_path):
    big = write_random(tmp_path / "drop" / "video.bin", 4 * 1024 * 1024)
    model = window.transfers
    seen: list[float] = []

    def record(top_left, _bottom_right, _roles=()):
        seen.append(model.index(top_left.row(), 0).data(TransferTableModel.ProgressRole))
        window.transfer_view.viewport().repaint()  # the progress delegate paints every step

    model.dataChanged.connect(record)
    drop_on(window, big)
    qtbot.waitUntil(lambda: model.rowCount() == 1, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: model.transfer_at(0).state is TransferState.DONE, timeout=WAIT_MS)
    assert any(0 < fraction < 1 for fraction in seen), seen
    assert model.index(0, TransferTableModel.PROGRESS).data() == "100%"
    assert model.index(0, TransferTableModel.STATE).data() == "Done"
    assert model.index(0, TransferTableModel.SPEED).data() == "4.2 MB"
    qtbot.waitUntil(lambda: "video.bin" in names_in(window), timeout=WAIT_MS)


def test_dropped_folder_is_mirrored_and_browsable(qtbot, window, tmp_path):
    album = tmp_path / "drop" / "Album"
    write_random(album / "inner" / "deep.bin", 1000)
    write_random(album / "top.bin", 1000)
    drop_on(window, album)
    qtbot.waitUntil(lambda: "Album" in names_in(window), timeout=WAIT_MS)
    qtbot.waitUntil(
        lambda: window.engine.is_idle() and len(window.engine.transfers()) == 2,
        timeout=WAIT_MS,
    )
    row = names_in(window).index("Album")
    with qtbot.waitSignal(window.folder_loaded, timeout=WAIT_MS):
        window.file_view.doubleClicked.emit(window.files.index(row, 0))
    assert names_in(window) == ["inner", "top.bin"]
    assert window.browser.breadcrumbs.text() == "/Album"
    with qtbot.waitSignal(window.folder_loaded, timeout=WAIT_MS):
        window.go_up()
    assert "Album" in names_in(window)


def test_app_signs_in_with_a_credentials_file_and_signs_out(qtbot, stack, tmp_path):
    settings = Settings(tmp_path / "config")
    controller = AppController(
        settings,
        tmp_path / "data",
        server_url=stack.base_url,
        credentials=(stack.username, stack.password),
    )
    with qtbot.waitSignal(controller.window_opened, timeout=WAIT_MS) as opened:
        controller.start()
    main = opened.args[0]
    assert settings.session_for(stack.base_url).username == stack.username
    qtbot.waitUntil(lambda: main.usage_label.text() != "", timeout=WAIT_MS)

    controller.sign_out()
    assert Settings(tmp_path / "config").session is None
    assert controller.dialog is not None and controller.dialog.isVisible()
    assert controller.dialog.message() == "You are signed out."
    controller.dialog.close()
    controller.shutdown()


def test_entry_point_opens_signed_in_with_a_credentials_file(stack, tmp_path):
    credentials = tmp_path / "credentials.json"
    credentials.write_text(json.dumps({"username": stack.username, "password": stack.password}))
    config = tmp_path / "config"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    argv = [sys.executable, "-m", "desktop_app", "--server", stack.base_url]
    argv += ["--credentials-file", str(credentials), "--config-dir", str(config)]
    argv += ["--data-dir", str(tmp_path / "data")]
    process = subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while Settings(config).session_for(stack.base_url) is None:
            assert process.poll() is None, process.stderr.read()
            assert time.monotonic() < deadline, "the app did not sign in"
            time.sleep(0.2)
        assert (tmp_path / "data" / "queue.sqlite3").exists()
    finally:
        process.terminate()
        process.wait(10)
