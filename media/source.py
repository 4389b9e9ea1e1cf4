"""Video sources behind one small interface, picked by a spec string.

A source is an iterator of RGB frames that paces itself (a camera blocks on the device,
a file and the test pattern sleep to their frame rate). Whoever consumes it (the preview
now, the encoder next) runs it on a thread of its own.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import av
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


@dataclass(frozen=True, slots=True)
class SourceChoice:
    """One entry of a source picker: the spec that opens it and the name a host reads."""

    spec: str
    label: str


#: Where Linux shows its cameras; tests point these at a fake tree.
DEV_DIR = Path("/dev")
V4L_SYSFS = Path("/sys/class/video4linux")
#: X11 servers listen on a socket here, one per display number.
X11_SOCKETS = Path("/tmp/.X11-unix")


def find_cameras() -> list[str]:
    """Camera devices that exist on this machine (by device node on Linux).

    A UVC camera makes two nodes, one for frames and one for metadata; only the first
    (v4l2 index 0) delivers video, so the others are left out of the picker.
    """
    if not sys.platform.startswith("linux"):
        return []
    cameras = []
    for node in sorted(DEV_DIR.glob("video*"), key=lambda p: (len(p.name), p.name)):
        index = _read_text(V4L_SYSFS / node.name / "index")
        if index in ("", "0"):
            cameras.append(str(node))
    return cameras


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return ""


def camera_label(device: str) -> str:
    """The camera's card name as v4l2 reports it, with its device node, for the picker."""
    card = _read_text(V4L_SYSFS / Path(device).name / "name")
    return f"{card} ({device})" if card else f"Camera {device}"


def video_sources() -> list[SourceChoice]:
    """What the host can pick from: cameras, the screen (under X11) and the test pattern."""
    choices = [SourceChoice(f"camera:{device}", camera_label(device)) for device in find_cameras()]
    display = os.environ.get("DISPLAY", "")
    if display and sys.platform.startswith("linux"):
        choices.append(SourceChoice("screen", f"Screen {display}"))
    choices.append(SourceChoice("test", "Test pattern"))
    return choices


def default_video_spec() -> str:
    """The source when none is asked for: the first camera, else the test pattern."""
    cameras = find_cameras()
    return f"camera:{cameras[0]}" if cameras else "test"


def _camera_format() -> str:
    if sys.platform == "darwin":
        return "avfoundation"
    if sys.platform == "win32":
        return "dshow"
    return "v4l2"


def open_stream(
    url: str,
    kind: Literal["video", "audio"],
    *,
    av_format: str | None,
    name: str,
    options: dict[str, str] | None = None,
) -> tuple[av.container.InputContainer, av.stream.Stream]:
    """Open a device or file through PyAV and pick its first ``kind`` stream.

    Raises :class:`SourceError` naming the source and FFmpeg's reason.
    """
    try:
        container = av.open(url, format=av_format, options=options)
    except (av.FFmpegError, OSError) as exc:
        raise SourceError(f"Cannot open {name}: {exc}.") from exc
    streams = container.streams.video if kind == "video" else container.streams.audio
    if not streams:
        container.close()
        raise SourceError(f"Cannot open {name}: it has no {kind} track.")
    return container, streams[0]


def decoded_frames(
    container: av.container.InputContainer, stream: av.stream.Stream, *, loop: bool, name: str
) -> Iterator[av.VideoFrame | av.AudioFrame]:
    """Decode ``stream`` until it ends, or forever from the start again when ``loop``.

    A looped file decodes faster than real time, so each frame waits for its moment; a
    device paces itself. The container is closed when the caller stops iterating.
    """
    started = time.monotonic()
    try:
        while True:
            for decoded in container.decode(stream):
                if loop and decoded.time is not None:
                    delay = started + decoded.time - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                yield decoded
            if not loop:
                return
            container.seek(0)
            started = time.monotonic()
    except av.FFmpegError as exc:
        raise SourceError(f"The {name} stopped: {exc}.") from exc
    finally:
        container.close()


class AVSource:
    """A camera, a screen or a video file read through PyAV/FFmpeg; a file plays in a loop."""

    def __init__(
        self,
        url: str,
        *,
        av_format: str | None,
        loop: bool,
        name: str,
        options: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self._loop = loop
        self._container, self._stream = open_stream(
            url, "video", av_format=av_format, name=name, options=options
        )

    def frames(self) -> Iterator[Frame]:
        decoded = decoded_frames(self._container, self._stream, loop=self._loop, name=self.name)
        for number, frame in enumerate(decoded):
            yield Frame(frame.to_ndarray(format="rgb24"), time.time(), number)


def open_source(spec: str | None) -> VideoSource:
    """Open the source a spec names; raise :class:`SourceError` saying what went wrong.

    ``None`` picks the first camera if one exists, else the test pattern.
    """
    from media.testpattern import TestPattern

    kind, _, arg = (spec or default_video_spec()).partition(":")
    if kind == "test":
        return TestPattern()
    if kind == "camera":
        device = arg or (find_cameras() or [""])[0]
        if not device:
            raise SourceError("No camera was found on this machine; use --source test.")
        return AVSource(device, av_format=_camera_format(), loop=False, name=f"camera {device}")
    if kind == "screen":
        return open_screen(arg)
    if kind == "file":
        path = Path(arg)
        if not path.is_file():
            raise SourceError(f"Cannot open video file {path}: there is no such file.")
        return AVSource(str(path), av_format=None, loop=True, name=f"video file {path.name}")
    raise SourceError(
        f"Unknown source {spec!r}; use test, camera, camera:DEVICE, screen, screen:DISPLAY "
        "or file:PATH."
    )


def open_screen(display: str = "") -> AVSource:
    """Capture an X11 screen through FFmpeg's x11grab at 30 fps.

    ``display`` is an X display name (``:0``, ``host:1``; a bare ``1`` means ``:1``);
    empty means ``$DISPLAY``. A missing local display is named before FFmpeg is asked,
    since FFmpeg's own answer ("Input/output error") tells the host nothing.
    """
    if not sys.platform.startswith("linux"):
        raise SourceError(
            "Cannot capture the screen: screen capture works only under X11 on Linux so far."
        )
    display = display or os.environ.get("DISPLAY", "")
    if not display:
        raise SourceError(
            "Cannot capture the screen: DISPLAY is not set, so there is no X11 display "
            "to capture (a Wayland-only session or a server without a desktop)."
        )
    if ":" not in display:
        display = f":{display}"
    host, _, number = display.partition(":")
    socket = X11_SOCKETS / f"X{number.split('.')[0]}"
    if not host and not socket.exists():
        raise SourceError(f"Cannot capture screen {display}: there is no X display {display}.")
    return AVSource(
        display,
        av_format="x11grab",
        loop=False,
        name=f"screen {display}",
        options={"framerate": "30", "draw_mouse": "1"},
    )
