"""Runs a video source on its own thread and keeps only the newest frame.

Consumers (the preview) read ``latest`` whenever they are ready: a busy consumer drops
frames instead of queueing them, so it can never fall behind or grow memory.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from console.errors import SourceError
from media.source import Frame, VideoSource, open_source
from media.testpattern import TestPattern

log = logging.getLogger(__name__)


class Capture:
    def __init__(
        self, spec: str | None, on_error: Callable[[str], None] = lambda message: None
    ) -> None:
        """Open ``spec``; if it fails, report why through ``on_error`` and use the test pattern."""
        self._on_error = on_error
        try:
            self.source: VideoSource = open_source(spec)
        except SourceError as exc:
            on_error(f"{exc} Showing the test pattern instead.")
            self.source = TestPattern()
        self.latest: Frame | None = None
        self.frames_captured = 0
        self._new_frame = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="capture", daemon=True)

    @property
    def name(self) -> str:
        return self.source.name

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def wait_newer(self, than: int, timeout: float) -> Frame | None:
        """Block until a frame newer than capture count ``than`` exists; None on timeout.

        Consumers that pace themselves on the source (the encoder) use this instead of a
        timer of their own: two free-running 30 fps clocks would skip and repeat frames.
        """
        with self._new_frame:
            self._new_frame.wait_for(lambda: self.frames_captured > than, timeout)
            return self.latest if self.frames_captured > than else None

    def _run(self) -> None:
        source = self.source
        while not self._stop.is_set():
            try:
                for frame in source.frames():
                    with self._new_frame:
                        self.latest = frame
                        self.frames_captured += 1
                        self._new_frame.notify_all()
                    if self._stop.is_set():
                        return
            except SourceError as exc:
                self._on_error(f"{exc} Showing the test pattern instead.")
            if self._stop.is_set():
                return
            # The source ended or failed: the show goes on with the test pattern.
            source = self.source = TestPattern()
            time.sleep(0.1)
