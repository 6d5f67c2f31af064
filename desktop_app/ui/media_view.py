"""Audio and video in the preview window, streamed from the server with seeking."""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QSlider,
    QStackedWidget,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

log = logging.getLogger(__name__)

try:  # needs the platform's audio libraries (libpulse); without them media opens externally
    from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer
    from PySide6.QtMultimediaWidgets import QVideoWidget
except ImportError as exc:  # pragma: no cover - depends on the installation
    log.info("in-app audio and video are off: %s", exc)
    QMediaPlayer = None  # type: ignore[assignment,misc]


def multimedia_available() -> bool:
    """Whether Qt can play media here (its libraries load and a backend is present)."""
    if QMediaPlayer is None:
        return False
    probe = QMediaPlayer()
    try:
        return bool(probe.isAvailable())
    finally:
        probe.deleteLater()


def format_clock(ms: int) -> str:
    seconds = max(0, ms) // 1000
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class MediaView(QWidget):
    """A player with play/pause, a position slider and the elapsed and total time."""

    loaded = Signal(int)  # duration in milliseconds, once the media is known
    failed = Signal(str)  # a sentence for the user

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        assert QMediaPlayer is not None
        self.player = QMediaPlayer(self)
        self.audio = QAudioOutput(self)
        self.player.setAudioOutput(self.audio)
        self.video = QVideoWidget(self)
        self.player.setVideoOutput(self.video)
        self.audio_label = QLabel("\u266b", alignment=Qt.AlignmentFlag.AlignCenter)
        self.audio_label.setStyleSheet("font-size: 96px; color: palette(mid);")
        self.screen = QStackedWidget(self)
        self.screen.addWidget(self.video)
        self.screen.addWidget(self.audio_label)

        self.play_button = QToolButton(self)
        self.play_button.clicked.connect(self.toggle)
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setRange(0, 0)
        self.slider.sliderMoved.connect(self.seek)
        self.slider.actionTriggered.connect(self._slider_action)
        self.clock = QLabel(format_clock(0) + " / " + format_clock(0))
        controls = QHBoxLayout()
        controls.addWidget(self.play_button)
        controls.addWidget(self.slider, 1)
        controls.addWidget(self.clock)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.screen, 1)
        layout.addLayout(controls)

        self.player.durationChanged.connect(self._duration_changed)
        self.player.positionChanged.connect(self._position_changed)
        self.player.playbackStateChanged.connect(lambda _state: self._update_button())
        self.player.mediaStatusChanged.connect(self._status_changed)
        self.player.errorOccurred.connect(self._error)
        self._settled = False  # loaded or failed was announced for the current source
        self._failed_once = False
        self._update_button()

    @property
    def duration(self) -> int:
        return int(self.player.duration())

    @property
    def position(self) -> int:
        return int(self.player.position())

    def open(self, url: str) -> None:
        """Start streaming ``url``; :attr:`loaded` or :attr:`failed` follows."""
        self.slider.setRange(0, 0)
        self._settled = self._failed_once = False
        self.player.setSource(QUrl(url))
        self.player.play()

    def stop(self) -> None:
        self._settled = self._failed_once = True  # the old source has nothing more to say
        self.player.stop()
        self.player.setSource(QUrl())

    def toggle(self) -> None:
        if self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState:
            self.player.pause()
        else:
            self.player.play()

    def seek(self, ms: int) -> None:
        self.player.setPosition(max(0, min(ms, self.duration)))

    def _slider_action(self, _action: int) -> None:
        # Clicks on the groove and keyboard steps (not drags, handled by sliderMoved).
        if not self.slider.isSliderDown():
            self.seek(self.slider.sliderPosition())

    def _duration_changed(self, ms: int) -> None:
        self.slider.setRange(0, max(0, ms))
        self._position_changed(self.position)

    def _position_changed(self, ms: int) -> None:
        if not self.slider.isSliderDown():
            self.slider.setValue(ms)
        self.clock.setText(f"{format_clock(ms)} / {format_clock(self.duration)}")

    def _status_changed(self, status) -> None:
        if self._settled:
            return
        if status == QMediaPlayer.MediaStatus.LoadedMedia:
            has_video = self.player.hasVideo()
            if not (has_video or self.player.hasAudio()):
                self._error(None, "it holds no sound or picture the player knows")
                self.player.stop()
                return
            self._settled = True
            self.screen.setCurrentWidget(self.video if has_video else self.audio_label)
            self.loaded.emit(self.duration)
        elif status == QMediaPlayer.MediaStatus.InvalidMedia:
            self._error(None, self.player.errorString())

    def _error(self, _error, text: str) -> None:
        if self._failed_once or not self.player.source().isValid():
            return
        self._failed_once = self._settled = True
        reason = text.strip().rstrip(".") or "the player cannot read it"
        log.info("media playback failed: %s", reason)
        self.failed.emit(f"This file cannot be played here ({reason}).")

    def _update_button(self) -> None:
        playing = self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState
        icon = (
            QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
        )
        self.play_button.setIcon(self.style().standardIcon(icon))
        self.play_button.setToolTip("Pause" if playing else "Play")
