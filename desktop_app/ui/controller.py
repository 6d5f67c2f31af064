"""Moves the application between signing in and the main window."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from desktop_app.api import ApiClient
from desktop_app.engine import UploadEngine
from desktop_app.errors import TroveError
from desktop_app.settings import Session, Settings
from desktop_app.store import QueueStore
from desktop_app.ui.main_window import MainWindow
from desktop_app.ui.signin import SignInDialog

log = logging.getLogger(__name__)

QUEUE_FILE = "queue.sqlite3"


class AppController(QObject):
    """Owns the sign-in dialog, the main window and the upload engine of a session."""

    window_opened = Signal(object)  # MainWindow

    def __init__(
        self,
        settings: Settings,
        data_dir: Path,
        *,
        server_url: str | None = None,
        credentials: tuple[str, str] | None = None,
        workers: int = 3,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.data_dir = Path(data_dir)
        self.server_url = server_url
        self.credentials = credentials
        self.workers = workers
        self.dialog: SignInDialog | None = None
        self.window: MainWindow | None = None
        self.engine: UploadEngine | None = None
        self.api: ApiClient | None = None
        self._store: QueueStore | None = None

    def start(self) -> None:
        session = (
            self.settings.session_for(self.server_url) if self.server_url else self.settings.session
        )
        if session is not None:
            self.open_session(session)
        else:
            self.show_sign_in(auto=self.credentials is not None)

    def show_sign_in(self, message: str = "", auto: bool = False) -> None:
        username, password = self.credentials if auto and self.credentials else ("", "")
        self.dialog = SignInDialog(
            self.server_url or self.settings.server_url or "",
            username or self.settings.username or "",
            password,
            message,
        )
        self.dialog.signed_in.connect(self._signed_in)
        self.dialog.show()
        if auto:
            self.dialog.submit()

    def _signed_in(self, session: Session) -> None:
        self.settings.save_session(session)
        self.open_session(session)

    def open_session(self, session: Session) -> None:
        self.api = ApiClient(session.server_url, session.token)
        if self._store is None:
            self._store = QueueStore(self.data_dir / QUEUE_FILE)
        self.engine = UploadEngine(
            self.api, self._store, account=session.account, workers=self.workers
        ).start()
        self.window = MainWindow(self.api, self.engine, session)
        self.window.sign_out_requested.connect(self.sign_out)
        self.window.session_expired.connect(self._session_expired)
        self.window.show()
        self.window_opened.emit(self.window)

    def _close_session(self) -> None:
        if self.window is not None:
            self.window.close()
            self.window.deleteLater()
            self.window = None
        if self.engine is not None:
            self.engine.shutdown()
            self.engine = None

    def sign_out(self) -> None:
        api = self.api
        self.settings.clear_session()
        # The dialog opens before the window closes, so the application never looks
        # window-less (and quits) in between.
        self.show_sign_in("You are signed out.")
        self._close_session()
        if api is not None:
            threading.Thread(target=_logout_quietly, args=(api,), daemon=True).start()
        self.api = None

    def _session_expired(self) -> None:
        self.settings.clear_session()
        self.show_sign_in("Your session has ended. Sign in again.")
        self._close_session()

    def shutdown(self) -> None:
        """Stop uploads (they resume on the next start) and release the queue."""
        self._close_session()
        if self._store is not None:
            self._store.close()
            self._store = None


def _logout_quietly(api: ApiClient) -> None:
    try:
        api.logout()
    except TroveError as exc:
        log.info("Sign-out on the server failed: %s", exc)
