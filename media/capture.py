"""Runs a source on its own thread: video keeps only the newest frame.

Consumers (the preview) read ``latest`` whenever they are ready: a busy consumer drops
frames instead of queueing them, so it can never fall behind or grow memory.

The thread also owns the source's life: a source that fails or ends is replaced by a
stand-in (the test pattern for video) and the reason is reported, and ``switch`` changes
the source while the show runs. :class:`SourceThread` holds that part for video and
audio alike (``media.audio.AudioCapture`` is the audio side).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Generator, Iterator
from typing import Generic, Protocol, TypeVar

from console.errors import SourceError
from media.source import Frame, VideoSource, default_video_spec, open_source
from media.testpattern import TestPattern

log = logging.getLogger(__name__)


class _Named(Protocol):
    name: str


S = TypeVar("S", bound=_Named)
T = TypeVar("T")

#: Pause before a stand-in takes over, so a source failing at once cannot spin the thread.
RETRY_PAUSE = 0.1


def no_report(_text: str) -> None:
    """The default for reports nobody listens to (tests, benchmarks)."""


class SourceThread(Generic[S, T]):
    """Runs a paced source of items (frames, sample blocks) on a daemon thread.

    ``on_error`` gets a sentence naming the device and the reason whenever a source
    cannot be opened, fails or ends; ``on_source`` gets the new source's name whenever
    the thread starts using another source (a switch or a stand-in). Both are called on
    the capture thread, so a window must hand them over through a Qt signal.
    """

    #: Said after the reason when the stand-in takes over.
    instead = ""

    def __init__(
        self,
        spec: str | None,
        on_error: Callable[[str], None] = no_report,
        on_source: Callable[[str], None] = no_report,
        *,
        thread_name: str,
    ) -> None:
        """Open ``spec`` at once, so a bad one is reported before the window shows."""
        self._on_error = on_error
        self._on_source = on_source
        #: The spec asked for last (a source in use may be the stand-in instead).
        self.spec = spec if spec is not None else self._default_spec()
        self.source: S
        self.source, problem = self._open_or_stand_in(self.spec)
        if problem:
            on_error(problem)
        self._lock = threading.Lock()
        self._wanted: tuple[str] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=thread_name, daemon=True)

    # What a kind of source fills in.

    def _default_spec(self) -> str:
        raise NotImplementedError

    def _open(self, spec: str) -> S:
        raise NotImplementedError

    def _stand_in(self) -> S:
        raise NotImplementedError

    def _items(self, source: S) -> Iterator[T]:
        raise NotImplementedError

    def _deliver(self, item: T) -> None:
        raise NotImplementedError

    # The thread.

    @property
    def name(self) -> str:
        return self.source.name

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def switch(self, spec: str) -> None:
        """Use the source ``spec`` names from the current source's next item on.

        It is opened on the capture thread (a camera can take a second to open), and a
        source that cannot be opened is reported and replaced by the stand-in, as at
        start. Before ``start`` it is opened at once.
        """
        self.spec = spec
        if not self._thread.is_alive():
            self._use(*self._open_or_stand_in(spec))
            return
        with self._lock:
            self._wanted = (spec,)

    def _open_or_stand_in(self, spec: str) -> tuple[S, str]:
        """The source ``spec`` names, or the stand-in and the sentence that says why."""
        try:
            return self._open(spec), ""
        except SourceError as exc:
            return self._stand_in(), f"{exc} {self.instead}"

    def _use(self, source: S, problem: str = "") -> S:
        """Make ``source`` current; listeners hear of it before the problem that caused it.

        That order lets a window show the new source's name and then the reason, without
        the name wiping the reason away.
        """
        self.source = source
        self._on_source(self.name)
        if problem:
            self._on_error(problem)
        return source

    def _run(self) -> None:
        source = self.source
        while not self._stop.is_set():
            items = self._items(source)
            problem = ""
            try:
                for item in items:
                    self._deliver(item)
                    if self._stop.is_set() or self._wanted is not None:
                        break
                else:
                    problem = f"The {self.name} stopped. {self.instead}"
            except SourceError as exc:
                problem = f"{exc} {self.instead}"
            finally:
                if isinstance(items, Generator):
                    items.close()  # a camera or file lets go of its device now
            if self._stop.is_set():
                return
            with self._lock:
                wanted, self._wanted = self._wanted, None
            if wanted is None:
                # The source ended or failed: the show goes on with the stand-in.
                time.sleep(RETRY_PAUSE)
                source = self._use(self._stand_in(), problem)
                continue
            if problem:
                self._on_error(problem)
            source = self._use(*self._open_or_stand_in(wanted[0]))


class Capture(SourceThread[VideoSource, Frame]):
    """The video capture: the preview and the encoder read its newest frame."""

    instead = "Showing the test pattern instead."

    def __init__(
        self,
        spec: str | None,
        on_error: Callable[[str], None] = no_report,
        on_source: Callable[[str], None] = no_report,
    ) -> None:
        """Open ``spec``; if it fails, report why through ``on_error`` and use the test pattern."""
        self.latest: Frame | None = None
        self.frames_captured = 0
        self._new_frame = threading.Condition()
        super().__init__(spec, on_error, on_source, thread_name="capture")

    def _default_spec(self) -> str:
        return default_video_spec()

    def _open(self, spec: str) -> VideoSource:
        return open_source(spec)

    def _stand_in(self) -> VideoSource:
        return TestPattern()

    def _items(self, source: VideoSource) -> Iterator[Frame]:
        return source.frames()

    def _deliver(self, item: Frame) -> None:
        with self._new_frame:
            self.latest = item
            self.frames_captured += 1
            self._new_frame.notify_all()

    def wait_newer(self, than: int, timeout: float) -> Frame | None:
        """Block until a frame newer than capture count ``than`` exists; None on timeout.

        Consumers that pace themselves on the source (the encoder) use this instead of a
        timer of their own: two free-running 30 fps clocks would skip and repeat frames.
        """
        with self._new_frame:
            self._new_frame.wait_for(lambda: self.frames_captured > than, timeout)
            return self.latest if self.frames_captured > than else None
