"""Go live / End, the LIVE timer, Record and the stream's health, in a strip of the header.

Health is sampled once a second from the shared encoder's counters: outgoing frames
per second, bitrate, the encoder's share of one core, dropped frames and the number of
WebRTC viewers; a warning shows when the machine cannot keep up. The outputs the show
also goes to (a recording, a WHIP server) show their state here too, and a failure of
one stays in the strip, in words, until it is put right: a full disk must not go
unnoticed during a show.

Go live / End show and Record are actions (``live_action``, ``record_action``) with
their shortcuts, shown by the buttons and the window's Stream menu alike. A button's
own shortcut would not do: ``setText()`` clears it, so Ctrl+L worked once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

from PySide6.QtCore import QStandardPaths, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from console import protocol
from console.errors import ShopcastError
from media.recorder import Recorder, RecordingError, recording_path
from media.webrtc import Broadcast
from media.whip import WhipOutput, WhipState
from widgets.alerts import ask

log = logging.getLogger(__name__)


def default_recordings_folder() -> Path:
    """Shopcast's folder in the user's videos folder (``~/Videos/Shopcast`` on Linux)."""
    videos = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.MoviesLocation)
    return Path(videos or Path.home()) / "Shopcast"


#: What the health line's parts mean, for its tooltip (the line itself is terse).
HEALTH_HELP = (
    "fps: frames per second the shared encoder sends out (the resolution asks for {fps}).\n"
    "Mb/s: the video bitrate going out; each viewer receives this much.\n"
    "encoder: the share of one CPU core the video encoder uses; near 100% the machine "
    "cannot keep up and frames are skipped.\n"
    "dropped: camera frames skipped since going live because the encoder was still busy "
    "with the one before. A few are harmless; a count that keeps rising means: choose a "
    "lower resolution in Stream settings.\n"
    "VP8: the show's second video stream, published by WHIP beside the H.264 one for "
    "the SFU's viewers whose browser has no H.264 (Debian's Firefox ESR), and its "
    "encoder's share of one CPU core; turn it off in Stream settings to save that.\n"
    "on video: viewers whose browsers receive the video now (WebRTC). The header's "
    '"watching" also counts pages that only chat or are still connecting. "via the SFU": '
    "they receive it from the show's video server (Janus), which this console publishes "
    "to by WHIP.\n"
    "viewers see: how long after you the viewers see and hear you, as their pages report "
    "it every 5 s (the video's jitter buffer plus half the round trip): the median viewer, "
    "and the p95 (95 of 100 viewers are at least this soon). Say a deal's last seconds "
    "that much early."
)


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600:d}:{whole // 60 % 60:02d}:{whole % 60:02d}"


class StreamControls(QWidget):
    #: A recording or WHIP problem the host must see; safe to emit from any thread.
    output_failed = Signal(str)

    def __init__(
        self,
        broadcast: Broadcast,
        set_live: Callable[[bool], Awaitable[None]],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._broadcast = broadcast
        self._set_live = set_live
        self._task: asyncio.Task[Any] | None = None
        self._last: tuple[float, int, int, float, int] | None = None
        #: Where recordings go: a file name or a folder (``--record``); None: into
        #: ``recordings_folder()``, asked each time, so a folder chosen meanwhile counts.
        self.record_target: Path | None = None
        #: The folder chosen in Stream settings (the window sets it), else the default.
        self.recordings_folder: Callable[[], Path] = default_recordings_folder
        #: Record whenever the show goes live (``--record``).
        self.record_on_live = False
        #: The WHIP endpoint and bearer token to publish to when live; an empty URL: none.
        self.whip_target: Callable[[], tuple[str, str]] = lambda: ("", "")
        #: Whether WHIP also publishes the VP8 rendition (Stream settings, --whip-vp8).
        self.whip_vp8: Callable[[], bool] = lambda: True
        #: The VP8 encoder's busy seconds at the last refresh, and when.
        self._last_vp8: tuple[float, float] | None = None
        self._recorder: Recorder | None = None
        self._saved: Path | None = None
        self._recording_problem = ""
        self._tasks: set[asyncio.Task[Any]] = set()
        #: The "End the show?" question while it is open.
        self.end_question: QMessageBox | None = None
        #: The delay viewers report seeing (the hub's ``playout``); none reported yet.
        self._playout = protocol.Playout()
        #: Pages receiving the video from the SFU (the hub's ``sfu_viewers``); None on
        #: the embedded path, where the console sends to every viewer itself.
        self._sfu_viewers: int | None = None

        self.live_action = QAction("&Go live", self)
        self.live_action.setShortcut(QKeySequence("Ctrl+L"))
        self.live_action.triggered.connect(self.toggle)
        self.record_action = QAction("&Record", self)
        self.record_action.setShortcut(QKeySequence("Ctrl+R"))
        self.record_action.setCheckable(True)
        self.record_action.setEnabled(False)
        self.record_action.triggered.connect(self.toggle_recording)
        # Also here, so the shortcuts work in a window without the Stream menu.
        self.addActions([self.live_action, self.record_action])

        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        row = QHBoxLayout()
        column.addLayout(row)
        self.badge = QLabel("OFF AIR", self)
        self.badge.setObjectName("live-badge")
        self.badge.setAccessibleName("Stream state")
        row.addWidget(self.badge)
        self.recording = QLabel("", self)
        self.recording.setObjectName("recording-state")
        self.recording.setAccessibleName("Recording")
        row.addWidget(self.recording, 1)
        self.record_button = QPushButton("● Record", self)
        self.record_button.setObjectName("record")
        self.record_button.setAccessibleName("Record the show")
        self.record_button.setCheckable(True)
        self.record_button.setEnabled(False)
        self.record_button.setToolTip("Record the show to a file while it is live (Ctrl+R)")
        self.record_button.clicked.connect(self.toggle_recording)
        row.addWidget(self.record_button)
        self.button = QPushButton("Go live", self)
        self.button.setObjectName("go-live")
        self.button.setAccessibleName("Go live")
        self.button.setToolTip("Start or end the show (Ctrl+L)")
        self.button.clicked.connect(self.toggle)
        row.addWidget(self.button)
        for fixed in (self.badge, self.button, self.record_button):
            fixed.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        # The health line has a row of its own: beside the recording's name it was cut
        # to "3(". Long text must still never widen the window: it is cut instead.
        self.health = QLabel("", self)
        self.health.setAccessibleName("Stream health")
        for label in (self.health, self.recording):
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            label.setMinimumWidth(0)
        # It wraps instead of being cut in a narrow column (a remote host's window, whose
        # docks keep their width): the SFU path's figures come at the line's end. Two
        # lines are kept, so the preview does not jump as the figures change length.
        self.health.setWordWrap(True)
        self.health.setMinimumHeight(2 * self.health.fontMetrics().lineSpacing())
        column.addWidget(self.health)
        #: Why a recording or another output failed, in words, until it is put right.
        self.problem = QLabel("", self)
        self.problem.setObjectName("stream-problem")
        self.problem.setAccessibleName("Stream problem")
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #e0457b;")
        self.problem.hide()
        column.addWidget(self.problem)

        self._timer = QTimer(self)
        self._timer.timeout.connect(self.refresh)
        self._timer.start(1000)
        self.output_failed.connect(self._show_problem)

    @property
    def live(self) -> bool:
        return self._broadcast.live

    def toggle(self) -> None:
        """Go live at once; ending a live show asks first (a stray Ctrl+L ended it)."""
        if self._task is not None and not self._task.done():
            return
        if not self._broadcast.live:
            self._switch(True)
        elif self.end_question is None:
            self.end_question = ask(
                self.window(),
                "End the show?",
                "Viewers' video stops now; the chat stays open.",
                "End show",
                "Keep streaming",
                lambda: self._switch(False),
            )
            self.end_question.finished.connect(self._question_closed)

    def _question_closed(self) -> None:
        self.end_question = None

    def _switch(self, live: bool) -> None:
        if (self._task is not None and not self._task.done()) or live == self._broadcast.live:
            return
        if live:
            self._show_problem("")
        self.button.setEnabled(False)
        self.live_action.setEnabled(False)
        self._task = asyncio.get_event_loop().create_task(self._set_live(live))
        self._task.add_done_callback(lambda _task: self._done())

    def _done(self) -> None:
        self.button.setEnabled(True)
        self.live_action.setEnabled(True)
        self.refresh()

    def start_outputs(self) -> None:
        """Start what goes with going live: the recording (``--record``) and WHIP, if set.

        The console calls it each time the show goes live.
        """
        if self.record_on_live:
            self.start_recording()
        url, token = self.whip_target()
        if url:
            self.start_whip(url, token)

    def toggle_recording(self) -> None:
        if self._recorder is not None:
            recorder, self._recorder = self._recorder, None
            self._saved = recorder.path
            self._spawn(self._broadcast.remove_output(recorder))
        else:
            self.start_recording()
        self._refresh_recording()

    def start_recording(self) -> None:
        if not self._broadcast.live or self._recorder is not None:
            return
        try:
            recorder = Recorder(
                recording_path(self.record_target or self.recordings_folder()),
                on_error=lambda error: self.output_failed.emit(str(error)),
            )
            recorder.start()
        except RecordingError as exc:
            self._recording_problem = str(exc)
            self.output_failed.emit(str(exc))
            self._refresh_recording()
            return
        self._recording_problem = ""
        self._show_problem("")
        self._broadcast.add_output(recorder)
        self._recorder = recorder
        self._refresh_recording()

    def start_whip(self, url: str, token: str) -> None:
        try:
            whip = WhipOutput(
                url,
                token,
                request_keyframe=self._broadcast.request_keyframe,
                on_state=self._whip,
                vp8=self.whip_vp8(),
                request_vp8_keyframe=self._broadcast.request_vp8_keyframe,
                on_vp8=self._broadcast.vp8_changed,
            )
        except ShopcastError as exc:
            self.output_failed.emit(f"WHIP: {exc}")
            return
        self._broadcast.add_output(whip)
        self._spawn(whip.start())

    def _whip(self, state: WhipState, text: str) -> None:
        if state in ("failed", "retrying"):
            self.output_failed.emit(f"WHIP: {text}")
        elif state == "publishing" and self.problem.text().startswith("⚠ WHIP:"):
            self._show_problem("")  # published again: the problem is put right

    def _show_problem(self, text: str) -> None:
        """Say ``text`` in the strip until it is put right (empty: it was) and for a while
        in the status bar."""
        self.problem.setText(f"⚠ {text}" if text else "")
        self.problem.setVisible(bool(text))
        window = self.window()
        if text and isinstance(window, QMainWindow):
            window.statusBar().showMessage(text, 15000)
        self._refresh_recording()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_event_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        # Outputs report their own failures (``output_failed``); anything else is a bug.
        if error is not None and not isinstance(error, ShopcastError):
            log.error("stream output task failed", exc_info=error)

    def _refresh_recording(self) -> None:
        """Update Record's part at once; health waits for the timer (it samples per second)."""
        broadcast = self._broadcast
        recorder = self._recorder
        if recorder is not None and (
            recorder.error is not None or recorder not in broadcast.outputs
        ):
            # It failed, or the show ended (which closed it).
            self._recorder = None
            if recorder.error is not None:
                self._recording_problem = str(recorder.error)
                self._spawn(broadcast.remove_output(recorder))
            else:
                self._saved = recorder.path
        recording = self._recorder is not None
        self.record_button.setEnabled(broadcast.live)
        self.record_button.setChecked(recording)
        self.record_button.setText("■ Stop recording" if recording else "● Record")
        self.record_button.setAccessibleName("Stop recording" if recording else "Record the show")
        self.record_action.setEnabled(broadcast.live)
        self.record_action.setChecked(recording)
        self.record_action.setText("Stop &recording" if recording else "&Record")
        if self._recorder is not None and self._recorder.started_at is not None:
            elapsed = time.monotonic() - self._recorder.started_at
            self.recording.setText(f"REC {_clock(elapsed)} · {self._recorder.path.name}")
            self.recording.setToolTip(f"Recording to {self._recorder.path}")
        elif self._recording_problem:
            self.recording.setText("⚠ Not recording")
            self.recording.setToolTip(self._recording_problem)
        elif self._saved is not None:
            self.recording.setText(f"Saved {self._saved.name}")
            self.recording.setToolTip(f"The last recording is {self._saved}")
        else:
            self.recording.setText("")
            self.recording.setToolTip("")

    def set_playout(self, playout: protocol.Playout) -> None:
        """The hub's latest figure of the delay viewers see; shown at the next refresh."""
        self._playout = playout

    def set_sfu_viewers(self, count: int) -> None:
        """The hub brokers viewers to an SFU: ``count`` of them receive the video from it."""
        self._sfu_viewers = count

    def _on_video(self) -> str:
        if self._sfu_viewers is None:
            return f"{self._broadcast.viewer_count} on video"
        return f"{self._sfu_viewers} on video via the SFU"

    def _playout_health(self) -> str:
        playout = self._playout
        if not playout.viewers or playout.median_ms is None or playout.p95_ms is None:
            return ""
        return f" · viewers see ≈ {playout.median_ms} ms (p95 {playout.p95_ms} ms)"

    def _outputs_health(self) -> str:
        parts = []
        for output in self._broadcast.outputs:
            if isinstance(output, WhipOutput):
                if output.state in ("failed", "retrying"):
                    parts.append(f"⚠ WHIP: {output.status}")
                else:
                    parts.append(f"WHIP {output.status}{self._vp8_health(output)}")
        return " · ".join(parts)

    def _vp8_health(self, whip: WhipOutput) -> str:
        """ " + VP8 n%" while WHIP publishes the VP8 stream (its encoder's share of a core),
        " (H.264 only)" when the server refused it."""
        encoder = self._broadcast.vp8_encoder
        if not whip.sends_vp8 or encoder is None:
            self._last_vp8 = None
            return " (H.264 only)" if whip.vp8_refused else ""
        now, busy = time.monotonic(), encoder.stats.busy
        last, self._last_vp8 = self._last_vp8, (now, busy)
        if last is None or now <= last[0]:
            return " + VP8"
        return f" + VP8 {(busy - last[1]) / (now - last[0]) * 100:.0f}%"

    def refresh(self) -> None:
        self._refresh_recording()
        broadcast = self._broadcast
        live = broadcast.live
        self.button.setText("End show" if live else "Go live")
        self.button.setAccessibleName("End the show" if live else "Go live")
        self.live_action.setText("&End show…" if live else "&Go live")
        self.badge.setProperty("live", live)
        self.badge.setStyleSheet("background: #d62d5b; color: white;" if live else "")
        encoder = broadcast.video_encoder
        if not live or encoder is None or broadcast.started_at is None:
            self.badge.setText("OFF AIR")
            self.health.setText("")
            self._last = None
            return
        self.badge.setText(f"● LIVE {_clock(time.time() - broadcast.started_at)}")
        stats = encoder.stats
        now = time.monotonic()
        sample = (now, stats.frames, stats.bytes, stats.busy, stats.dropped)
        if self._last is None:
            self._last = sample
            return
        seconds = max(1e-6, now - self._last[0])
        fps = (stats.frames - self._last[1]) / seconds
        kbps = (stats.bytes - self._last[2]) * 8 / seconds / 1000
        load = (stats.busy - self._last[3]) / seconds * 100
        dropped = stats.dropped - self._last[4]
        self._last = sample
        text = (
            f"{fps:.0f} fps · {kbps / 1000:.1f} Mb/s · encoder {load:.0f}% · "
            f"{stats.dropped} dropped · {self._on_video()}"
            f"{self._playout_health()}"
        )
        target = encoder.preset.fps
        if fps < 0.85 * target or load > 85 or dropped > target // 10:
            text = "⚠ Cannot keep up: choose a lower resolution · " + text
        outputs = self._outputs_health()
        if outputs:
            # A failed output leads, as the warning above does: the line's end gets cut.
            text = f"{outputs} · {text}" if "⚠" in outputs else f"{text} · {outputs}"
        self.health.setText(text)
        self.health.setToolTip(HEALTH_HELP.format(fps=target))
