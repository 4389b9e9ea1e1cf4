"""Video sources behind one small interface, picked by a spec string.

A source is an iterator of RGB frames that paces itself (a camera blocks on the device,
a file and the test pattern sleep to their frame rate). Whoever consumes it (the preview
now, the encoder next) runs it on a thread of its own.
"""

from __future__ import annotations

import glob
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from console.errors import SourceError


@dataclass(frozen=True, slots=True)
class Frame:
    #: height x width x 3, RGB, uint8
    image: np.ndarray
    #: wall-clock time of capture (seconds since the epoch)
    capture_time: float
    number: int


class VideoSource(Protocol):
    name: str

    def frames(self) -> Iterator[Frame]: ...


def find_cameras() -> list[str]:
    """Camera devices that exist on this machine (by device node on Linux)."""
    if sys.platform.startswith("linux"):
        return sorted(glob.glob("/dev/video*"))
    return []


def _camera_format() -> str:
    if sys.platform == "darwin":
        return "avfoundation"
    if sys.platform == "win32":
        return "dshow"
    return "v4l2"


class AVSource:
    """A camera or a video file read through PyAV/FFmpeg; a file plays in a loop."""

    def __init__(self, url: str, *, av_format: str | None, loop: bool, name: str) -> None:
        import av

        self.name = name
        self._url, self._format, self._loop = url, av_format, loop
        try:
            self._container = av.open(url, format=av_format)
            self._stream = self._container.streams.video[0]
        except (av.FFmpegError, OSError, IndexError) as exc:
            reason = "it has no video track" if isinstance(exc, IndexError) else str(exc)
            raise SourceError(f"Cannot open {name}: {reason}.") from exc

    def frames(self) -> Iterator[Frame]:
        import av

        number = 0
        started = time.monotonic()
        try:
            while True:
                for decoded in self._container.decode(self._stream):
                    if self._loop and decoded.time is not None:
                        # Files decode faster than real time: wait for the frame's moment.
                        delay = started + decoded.time - time.monotonic()
                        if delay > 0:
                            time.sleep(delay)
                    yield Frame(decoded.to_ndarray(format="rgb24"), time.time(), number)
                    number += 1
                if not self._loop:
                    return
                self._container.seek(0)
                started = time.monotonic()
        except av.FFmpegError as exc:
            raise SourceError(f"{self.name} stopped: {exc}.") from exc
        finally:
            self._container.close()


def open_source(spec: str | None) -> VideoSource:
    """Open the source a spec names; raise :class:`SourceError` saying what went wrong.

    ``None`` picks the first camera if one exists, else the test pattern.
    """
    from media.testpattern import TestPattern

    if spec is None:
        cameras = find_cameras()
        spec = f"camera:{cameras[0]}" if cameras else "test"
    kind, _, arg = spec.partition(":")
    if kind == "test":
        return TestPattern()
    if kind == "camera":
        device = arg or (find_cameras() or [""])[0]
        if not device:
            raise SourceError("No camera was found on this machine; use --source test.")
        return AVSource(device, av_format=_camera_format(), loop=False, name=f"camera {device}")
    if kind == "file":
        path = Path(arg)
        if not path.is_file():
            raise SourceError(f"Cannot open video file {path}: there is no such file.")
        return AVSource(str(path), av_format=None, loop=True, name=f"video file {path.name}")
    raise SourceError(f"Unknown source {spec!r}; use test, camera, camera:DEVICE or file:PATH.")
