"""The sign-in dialog: server address, user name and password."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from desktop_app.api import ApiClient, normalize_server_url
from desktop_app.errors import ApiError, TroveError
from desktop_app.settings import Session
from desktop_app.ui.tasks import TaskRunner


def sign_in(server_url: str, username: str, password: str) -> Session:
    """Blocking: log in and return the new session (runs off the UI thread)."""
    api = ApiClient(server_url)
    try:
        token = api.login(username, password)
    finally:
        api.close()
    return Session(api.base_url, username, token)


def describe_sign_in_error(error: Exception) -> str:
    if isinstance(error, ApiError) and error.code == "invalid_credentials":
        return "Wrong user name or password."
    if isinstance(error, TroveError):
        return error.detail
    return f"Sign-in failed: {error}"


class SignInDialog(QDialog):
    """Emits :attr:`signed_in` with the new session and closes itself on success."""

    signed_in = Signal(object)  # Session

    def __init__(
        self,
        server_url: str = "",
        username: str = "",
        password: str = "",
        message: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sign in to Trove")
        self.setMinimumWidth(420)
        # Parentless: a sign-in still in flight must not outlive its runner.
        self._tasks = TaskRunner(max_threads=1)
        self._attempt = 0

        self.server_edit = QLineEdit(server_url)
        self.server_edit.setPlaceholderText("https://trove.example.org")
        self.username_edit = QLineEdit(username)
        self.password_edit = QLineEdit(password)
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.message_label = QLabel(message)
        self.message_label.setWordWrap(True)
        self.message_label.setStyleSheet("color: #b00020;")

        form = QFormLayout()
        form.addRow("Server", self.server_edit)
        form.addRow("User name", self.username_edit)
        form.addRow("Password", self.password_edit)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Sign in")
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.message_label)
        layout.addWidget(self.buttons)
        for edit in (self.server_edit, self.username_edit, self.password_edit):
            if not edit.text():
                edit.setFocus()
                break

    @property
    def busy(self) -> bool:
        return self._tasks.busy

    def message(self) -> str:
        return self.message_label.text()

    def submit(self) -> None:
        if self._tasks.busy:
            return
        username = self.username_edit.text().strip()
        password = self.password_edit.text()
        try:
            server_url = normalize_server_url(self.server_edit.text())
        except ValueError as exc:
            self._show_error(str(exc))
            return
        if not username or not password:
            self._show_error("Enter your user name and password.")
            return
        self._set_busy(True)
        self.message_label.setStyleSheet("")
        self.message_label.setText(f"Signing in to {server_url}…")
        self._attempt += 1
        attempt = self._attempt
        self._tasks.run(
            lambda: sign_in(server_url, username, password),
            lambda session: self._succeeded(attempt, session),
            lambda error: self._failed(attempt, error),
        )

    def _succeeded(self, attempt: int, session: Session) -> None:
        if attempt != self._attempt:
            return  # the dialog was closed meanwhile
        self._set_busy(False)
        self.password_edit.clear()
        self.signed_in.emit(session)
        self.accept()

    def _failed(self, attempt: int, error: Exception) -> None:
        if attempt != self._attempt:
            return
        self._set_busy(False)
        self._show_error(describe_sign_in_error(error))
        if isinstance(error, ApiError) and error.code == "invalid_credentials":
            self.password_edit.selectAll()
            self.password_edit.setFocus()

    def _show_error(self, text: str) -> None:
        self.message_label.setStyleSheet("color: #b00020;")
        self.message_label.setText(text)

    def _set_busy(self, busy: bool) -> None:
        for widget in (self.server_edit, self.username_edit, self.password_edit, self.buttons):
            widget.setEnabled(not busy)

    def reject(self) -> None:
        self._attempt += 1  # ignore an answer still on its way
        self._set_busy(False)
        super().reject()
