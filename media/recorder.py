"""Records the live stream to a file from the shared encoders' packets: no second encode.

Matroska (``.mkv``) is the default and the safest: it holds H.264 and Opus natively, and
a file cut short by a crash or a full disk still plays up to that point. MP4 (``.mp4``)
is written fragmented for the same reason; browsers, VLC and mpv play Opus in MP4, but
Apple's QuickTime does not (record ``.mkv`` and remux it if QuickTime must open it).
Both are written in pieces of at most half a second (Matroska clusters, MP4 fragments),
each handed to the system as soon as it is complete, so a crash (``kill -9``, a power
cut aside) loses at most about that: with a cluster per keyframe and FFmpeg's buffer,
one lost its last 4 s, and an MP4 ended in a corrupt fragment.

Muxing runs on a thread of its own behind a bounded queue, so a slow disk never holds
up the encoders or the event loop: when the queue is full the recording skips to the
next keyframe and counts what it lost. Problems come back as ``RecordingError`` through
``on_error`` (from that thread) and ``error``, with the path and what to do.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import errno
import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import datetime
from fractions import Fraction
from pathlib import Path

import av

from console.errors import ShopcastError
from media.encoder import AUDIO_LAYOUT, AUDIO_RATE
from media.outputs import MediaKind

log = logging.getLogger(__name__)

#: Container format and muxer options by file suffix. ``flush_packets`` hands FFmpeg's
#: buffer to the system after each write; the limits close a piece every half second
#: (``cluster_time_limit`` in ms, ``frag_duration`` in µs) instead of once per keyframe.
FORMATS: dict[str, tuple[str, dict[str, str]]] = {
    ".mkv": ("matroska", {"cluster_time_limit": "500", "flush_packets": "1"}),
    ".mp4": (
        "mp4",
        {
            "movflags": "+frag_keyframe+empty_moov+default_base_moof",
            "frag_duration": "500000",
            "flush_packets": "1",
        },
    ),
}
#: Packets waiting for the disk: about 4 s of video and audio.
MAX_QUEUED = 300
VIDEO_TIME_BASE = Fraction(1, 90_000)
#: Seconds a recording gets to finish its file when Python exits without stopping it.
EXIT_TIMEOUT = 5.0


class RecordingError(ShopcastError):
    """The stream cannot be recorded to a file; the message names the path and the fix."""

    def __init__(self, message: str, path: Path) -> None:
        super().__init__(message)
        self.path = path


def recording_path(target: Path, now: datetime | None = None) -> Path:
    """Where the next recording goes; an existing file is never overwritten.

    ``target`` is a file name (``show.mkv``: then ``show-2.mkv`` if it exists) or a
    folder, which then gets a file named after the date and time.
    """
    if not target.suffix:
        stamp = (now or datetime.now()).strftime("%Y-%m-%d %H-%M-%S")
        target = target / f"Shopcast {stamp}.mkv"
    candidate, number = target, 1
    while candidate.exists():
        number += 1
        candidate = target.with_name(f"{target.stem}-{number}{target.suffix}")
    return candidate


class Recorder:
    """One recording: ``start``, feed it with ``push`` (an ``Output``), then ``close``."""

    name = "recording"

    def __init__(
        self, path: Path, on_error: Callable[[RecordingError], None] = lambda error: None
    ) -> None:
        self.path = path
        self._on_error = on_error
        self.error: RecordingError | None = None
        #: Packets lost because the disk fell behind.
        self.dropped = 0
        #: ``time.monotonic()`` when recording began, for the elapsed time shown.
        self.started_at: float | None = None
        self._queue: queue.Queue[tuple[MediaKind, av.Packet]] = queue.Queue(MAX_QUEUED)
        self._need_keyframe = True
        self._begun = False
        self._closing = threading.Event()
        self._container: av.container.OutputContainer | None = None
        self._thread = threading.Thread(target=self._run, name="recorder", daemon=True)

    @property
    def recording(self) -> bool:
        return self.started_at is not None and not self._closing.is_set() and self.error is None

    def start(self) -> None:
        """Create the file (raising ``RecordingError`` if it cannot be) and begin.

        A missing folder is created: the default one (``~/Videos/Shopcast``) does not
        exist on a fresh machine, and a host who names a new folder means it.
        """
        fmt = FORMATS.get(self.path.suffix.lower())
        if fmt is None:
            raise RecordingError(
                f"Cannot record to {self.path}: Shopcast records H.264 video with Opus "
                f"audio, which a {self.path.suffix or 'suffix-less'} file cannot hold. Choose "
                "a name ending in .mkv (best) or .mp4.",
                self.path,
            )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Creating the file now makes a bad path an error at once, not later.
            with self.path.open("wb"):
                pass
            self._container = av.open(str(self.path), "w", format=fmt[0], options=fmt[1])
        except OSError as exc:
            raise _explain(self.path, exc) from exc
        self.started_at = time.monotonic()
        _unfinished.add(self)
        self._thread.start()

    def push(self, kind: MediaKind, packet: av.Packet) -> None:
        if self._closing.is_set() or self.error is not None or self.started_at is None:
            return
        if self._need_keyframe:
            # The file starts with a keyframe (its SPS/PPS become the file's header),
            # and audio waits for it, so both begin together.
            if kind != "video" or not packet.is_keyframe:
                if self._begun:
                    self.dropped += 1
                return
            self._need_keyframe = False
            self._begun = True
        try:
            self._queue.put_nowait((kind, packet))
        except queue.Full:
            self.dropped += 1
            self._need_keyframe = True

    def stop(self, timeout: float | None = None) -> None:
        """Write what is queued and finish the file (blocks: call it off the event loop)."""
        self._closing.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    async def close(self) -> None:
        await asyncio.to_thread(self.stop)

    def _run(self) -> None:
        container = self._container
        assert container is not None
        muxer = _Muxer(container)
        try:
            while True:
                try:
                    kind, packet = self._queue.get(timeout=0.2)
                except queue.Empty:
                    if self._closing.is_set():
                        break
                    continue
                muxer.write(kind, packet)
            container.close()
        except (OSError, av.FFmpegError) as exc:
            self._fail(exc if isinstance(exc, OSError) else OSError(str(exc)))
            with contextlib.suppress(OSError, av.FFmpegError):
                container.close()
        else:
            if not muxer.wrote:
                # Stopped before the first keyframe: an empty file helps nobody.
                self.path.unlink(missing_ok=True)
        finally:
            _unfinished.discard(self)
        log.info("recording %s ended; %d packets dropped", self.path, self.dropped)

    def _fail(self, exc: OSError) -> None:
        self.error = _explain(self.path, exc)
        log.error("%s", self.error)
        self._on_error(self.error)


#: Recordings still writing. A daemon thread would die mid-file at exit and a plain one
#: would hang the exit if nobody stopped it, so exit finishes them, briefly.
_unfinished: set[Recorder] = set()


@atexit.register
def _finish_recordings() -> None:
    for recorder in list(_unfinished):
        recorder.stop(EXIT_TIMEOUT)


class _Muxer:
    """Turns shared packets into the file's: copied, then rebased so the file starts at 0.

    Both encoders count time from the moment the stream started, so one offset (the
    first keyframe's time) keeps sound and picture in sync.
    """

    def __init__(self, container: av.container.OutputContainer) -> None:
        self._container = container
        self._origin: Fraction | None = None
        self._video: av.stream.Stream | None = None
        self._audio: av.stream.Stream | None = None
        self.wrote = False

    def write(self, kind: MediaKind, packet: av.Packet) -> None:
        if self._origin is None:
            self._begin(packet)
        assert self._origin is not None
        time_base = packet.time_base
        offset = round(self._origin / time_base)
        pts = packet.pts - offset
        if pts < 0:
            return  # audio from just before the first keyframe
        dts = packet.dts - offset if packet.dts is not None else None
        # The packet is shared with the viewers' senders: write a copy, never it.
        copy = av.Packet(bytes(packet))
        copy.stream = self._video if kind == "video" else self._audio
        copy.time_base = time_base
        copy.pts, copy.dts = pts, dts
        copy.duration = packet.duration
        copy.is_keyframe = packet.is_keyframe
        self._container.mux(copy)
        self.wrote = True

    def _begin(self, keyframe: av.Packet) -> None:
        """Add the streams, sized from the first keyframe (the stream's own SPS)."""
        decoder = av.CodecContext.create("h264", "r")
        frames = decoder.decode(av.Packet(bytes(keyframe)))
        width, height = (frames[0].width, frames[0].height) if frames else (0, 0)
        self._video = self._container.add_mux_stream(
            "h264", width=width, height=height, time_base=VIDEO_TIME_BASE
        )
        self._audio = self._container.add_stream("libopus", rate=AUDIO_RATE, layout=AUDIO_LAYOUT)
        start = keyframe.dts if keyframe.dts is not None else keyframe.pts
        self._origin = start * keyframe.time_base


def _explain(path: Path, exc: OSError) -> RecordingError:
    """A message that says what went wrong with ``path`` and what the host can do."""
    fix = "Choose another file with --record PATH."
    match exc.errno:
        case errno.ENOSPC | errno.EDQUOT:
            text = (
                f"The disk is full: recording to {path} stopped. Free some space, or "
                "record to another disk with --record PATH."
            )
        case errno.EACCES | errno.EPERM | errno.EROFS:
            text = f"Cannot write {path}: no permission to write there. {fix}"
        case errno.ENOENT:
            text = f"Cannot write {path}: the folder {path.parent} does not exist. {fix}"
        case errno.ENOTDIR | errno.EEXIST:
            text = f"Cannot write {path}: part of that path is a file, not a folder. {fix}"
        case errno.EISDIR:
            text = f"Cannot write {path}: it is a folder. {fix}"
        case _:
            text = f"Cannot write {path}: {exc.strerror or exc}. {fix}"
    return RecordingError(text, path)
