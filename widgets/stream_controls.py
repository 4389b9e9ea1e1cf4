"""Go live / End, the LIVE timer and the stream's health, in one strip of the header.

Health is sampled once a second from the shared encoder's counters: outgoing frames
per second, bitrate, the encoder's share of one core, dropped frames and the number of
WebRTC viewers; a warning shows when the machine cannot keep up.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QWidget

from media.webrtc import Broadcast


class StreamControls(QWidget):
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

        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.badge = QLabel("OFF AIR", self)
        self.badge.setObjectName("live-badge")
        self.badge.setAccessibleName("Stream state")
        row.addWidget(self.badge)
        self.health = QLabel("", self)
        self.health.setAccessibleName("Stream health")
        # Long health text must never widen the window: it is cut instead.
        self.health.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.health.setMinimumWidth(0)
        row.addWidget(self.health, 1)
        self.button = QPushButton("Go live", self)
        self.button.setObjectName("go-live")
        self.button.setAccessibleName("Go live")
        self.button.setShortcut(QKeySequence("Ctrl+L"))
        self.button.setToolTip("Start or end the show (Ctrl+L)")
        self.button.clicked.connect(self.toggle)
        row.addWidget(self.button)
        for fixed in (self.badge, self.button):
            fixed.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)

        self._timer = QTimer(self)
        self._timer.timeout.connect(self.refresh)
        self._timer.start(1000)

    def toggle(self) -> None:
        if self._task is not None and not self._task.done():
            return
        self.button.setEnabled(False)
        self._task = asyncio.get_event_loop().create_task(self._set_live(not self._broadcast.live))
        self._task.add_done_callback(lambda _task: self._done())

    def _done(self) -> None:
        self.button.setEnabled(True)
        self.refresh()

    def refresh(self) -> None:
        broadcast = self._broadcast
        live = broadcast.live
        self.button.setText("End show" if live else "Go live")
        self.button.setAccessibleName("End the show" if live else "Go live")
        self.badge.setProperty("live", live)
        self.badge.setStyleSheet("background: #d62d5b; color: white;" if live else "")
        encoder = broadcast.video_encoder
        if not live or encoder is None or broadcast.started_at is None:
            self.badge.setText("OFF AIR")
            self.health.setText("")
            self._last = None
            return
        elapsed = int(time.time() - broadcast.started_at)
        clock = f"{elapsed // 3600:d}:{elapsed // 60 % 60:02d}:{elapsed % 60:02d}"
        self.badge.setText(f"● LIVE {clock}")
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
            f"{stats.dropped} dropped · {broadcast.viewer_count} on video"
        )
        target = encoder.preset.fps
        if fps < 0.85 * target or load > 85 or dropped > target // 10:
            text = "⚠ Cannot keep up: choose a lower resolution · " + text
        self.health.setText(text)
        self.health.setToolTip(text)
