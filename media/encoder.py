"""The shared encoders: each frame is encoded once, whatever the number of viewers.

Video is H.264 constrained baseline (profile 42e01f, packetization-mode 1): every major
browser decodes it, phones in hardware, and libx264 (ultrafast, zerolatency) encodes
720p30 in a fraction of one core. Its bitrate is the preset's, or the one the host chose
in Stream settings (``Preset.at_bitrate``). Audio is Opus at 48 kHz, 20 ms per packet. Both run on
threads of their own and hand finished ``av.Packet``s to a callback; the WebRTC senders
only cut them into RTP packets.

Video frames are stamped on the stream's frame clock (one tick per 1/fps s), not with
the moment the encoder got them: those moments wobbled by 19-74 ms, two frames could get
the same millisecond in a recording, and ffmpeg found non-monotonic DTS in every file.

A browser without H.264 (Debian's Firefox ESR ships OpenH264 disabled) gets VP8 from a
second encoder of the same kind (libvpx realtime, same frames and preset), run only
while such a viewer watches: a 720p frame costs it about 5 ms of CPU, libx264 3 ms.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

import av
import numpy as np

from console.errors import ShopcastError
from media.audio import AUDIO_LAYOUT, AUDIO_RATE, BLOCK, Tone
from media.capture import Capture

log = logging.getLogger(__name__)

#: RTP video clock; packet timestamps use it so every receiver sees real time.
VIDEO_TIME_BASE = Fraction(1, 90_000)

PacketSink = Callable[[av.Packet], None]

#: The video codecs the shared encoders make: H.264 for every browser that plays it, VP8
#: for those that do not.
VideoCodec = Literal["h264", "vp8"]

#: The video bitrates a host may choose, in bits per second. Below 0.3 Mb/s even 360p
#: smears into blocks whenever the host moves; above 12 Mb/s is more than 1080p30 H.264
#: needs, and more than most home uplinks (and viewers' phones) carry.
MIN_BITRATE = 300_000
MAX_BITRATE = 12_000_000


class BitrateError(ShopcastError):
    """A video bitrate out of the range a show can use; the message gives the range."""


@dataclass(frozen=True, slots=True)
class Preset:
    name: str
    width: int
    height: int
    fps: int
    #: Bits per second the encoder aims at (libx264's average bitrate).
    bitrate: int

    def __post_init__(self) -> None:
        if not MIN_BITRATE <= self.bitrate <= MAX_BITRATE:
            raise BitrateError(
                f"A video bitrate is from {MIN_BITRATE / 1e6:.1f} to {MAX_BITRATE / 1e6:.0f} "
                f"Mb/s; {self.bitrate / 1e6:.2f} Mb/s is out of that range."
            )

    def at_bitrate(self, bitrate: int | None) -> Preset:
        """This resolution at ``bitrate`` bits/s; None keeps the preset's own."""
        if bitrate is None or bitrate == self.bitrate:
            return self
        return dataclasses.replace(self, bitrate=bitrate)


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset("360p", 640, 360, 30, 800_000),
        Preset("540p", 960, 540, 30, 1_500_000),
        Preset("720p", 1280, 720, 30, 2_500_000),
        Preset("1080p", 1920, 1080, 30, 4_500_000),
    )
}


@dataclass(slots=True)
class EncoderStats:
    frames: int = 0
    keyframes: int = 0
    dropped: int = 0
    bytes: int = 0
    #: Seconds spent encoding, to report the encoder's share of one core.
    busy: float = 0.0


class _EncoderThread:
    """Runs ``_run`` on a daemon thread until ``stop``; ``_stop`` tells it to end."""

    def __init__(self, name: str) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2)

    def _run(self) -> None:
        raise NotImplementedError


def frame_tick(previous: int, due: int) -> int | None:
    """The frame clock tick for a frame that the wall clock puts at tick ``due``.

    The next tick after ``previous`` when the frame is within a tick of it (a source's
    jitter stays on the clock); ``due`` itself when frames were skipped, so sound and
    picture stay together; None when it comes more than a tick early (a source
    faster than the stream's rate), so it is left out.
    """
    following = previous + 1
    if due < following - 1:
        return None
    return following if due <= following + 1 else due


class VideoEncoder(_EncoderThread):
    """Encodes each new captured frame on its own thread, paced by the source.

    It always takes the newest frame (never a queue), so a slow encoder skips frames
    instead of falling behind; each skip is counted in ``stats.dropped``.
    """

    def __init__(
        self, capture: Capture, preset: Preset, sink: PacketSink, codec: VideoCodec = "h264"
    ) -> None:
        super().__init__(f"video-encoder-{codec}")
        self._capture = capture
        self.preset = preset
        self.codec: VideoCodec = codec
        self._sink = sink
        self.stats = EncoderStats()
        #: Keyframes at most every 2 s unless a viewer asks (a join or a PLI).
        self.keyframe_interval = 2 * preset.fps
        self._keyframe_wanted = threading.Event()
        self._last_request = 0.0

    def request_keyframe(self, min_interval: float = 0.5) -> None:
        """Ask for a keyframe soon; requests closer together than ``min_interval`` merge."""
        now = time.monotonic()
        if now - self._last_request >= min_interval:
            self._last_request = now
            self._keyframe_wanted.set()

    def _context(self) -> av.VideoCodecContext:
        keyint = self.keyframe_interval
        context = av.CodecContext.create("libx264" if self.codec == "h264" else "libvpx", "w")
        assert isinstance(context, av.VideoCodecContext)
        context.width, context.height = self.preset.width, self.preset.height
        context.pix_fmt = "yuv420p"
        context.time_base = VIDEO_TIME_BASE
        context.framerate = Fraction(self.preset.fps, 1)
        context.bit_rate = self.preset.bitrate
        context.gop_size = self.keyframe_interval
        if self.codec == "vp8":
            # One thread: libvpx's own threads cost two to seven times the CPU per frame on
            # a busy two-core machine (they wait on each other), one does 720p at ~7 ms.
            context.thread_count = 1
            context.options = _vp8_options(self.preset.bitrate)
            return context
        context.options = {
            "preset": "ultrafast",
            "tune": "zerolatency",
            "profile": "baseline",
            "level": "3.1",
            # No B-frames, repeat SPS/PPS on every keyframe so late joiners can start.
            "x264-params": f"keyint={keyint}:min-keyint={keyint}:scenecut=0:repeat-headers=1",
        }
        return context

    def _run(self) -> None:
        context = self._context()
        started = time.monotonic()
        seen = self._capture.frames_captured
        since_key = self.keyframe_interval
        fps = self.preset.fps
        tick = -1
        while not self._stop.is_set():
            frame = self._capture.wait_newer(seen, timeout=0.5)
            if frame is None:
                continue
            count = self._capture.frames_captured
            # Frames captured while the last one was being encoded are skipped, not queued.
            self.stats.dropped += max(0, count - seen - 1)
            seen = count
            on_clock = frame_tick(tick, round((time.monotonic() - started) * fps))
            if on_clock is None:
                continue
            tick = on_clock
            video = av.VideoFrame.from_ndarray(frame.image, format="rgb24").reformat(
                self.preset.width, self.preset.height, format="yuv420p"
            )
            video.pts = round(tick * 90_000 / fps)
            video.time_base = VIDEO_TIME_BASE
            if self._keyframe_wanted.is_set() or since_key >= self.keyframe_interval:
                self._keyframe_wanted.clear()
                video.pict_type = av.video.frame.PictureType.I
            began = time.perf_counter()
            packets = context.encode(video)
            self.stats.busy += time.perf_counter() - began
            for packet in packets:
                packet.time_base = VIDEO_TIME_BASE
                # One tick: players and muxers need no guess for the last frame's length.
                packet.duration = round(90_000 / fps)
                self.stats.frames += 1
                self.stats.bytes += packet.size
                if packet.is_keyframe:
                    self.stats.keyframes += 1
                    since_key = 0
                else:
                    since_key += 1
                self._sink(packet)


def _vp8_options(bitrate: int) -> dict[str, str]:
    """libvpx realtime with no look-ahead, held near ``bitrate`` (aiortc's VP8 settings).

    No frame waits for a later one (lag-in-frames 0), and the rate stays near the preset's
    so a VP8 viewer's link carries what an H.264 viewer's does. No denoiser (aiortc's
    noise-sensitivity 4): it doubled the time per frame, and the H.264 encode has none.
    """
    return {
        "deadline": "realtime",
        "cpu-used": "-6",
        "lag-in-frames": "0",
        "bufsize": str(bitrate),
        "minrate": str(bitrate),
        "maxrate": str(bitrate),
        "overshoot-pct": "15",
        "undershoot-pct": "100",
        "static-thresh": "1",
        "partitions": "0",
    }


class AudioEncoder(_EncoderThread):
    """Encodes 20 ms of audio at a time into Opus on its own thread.

    ``source`` hands over the next n s16 mono samples (``AudioCapture.read``); it may
    wait for them, but not much longer than they last. Without one, the test tone.
    """

    def __init__(self, sink: PacketSink, source: Callable[[int], np.ndarray] | None = None) -> None:
        super().__init__("audio-encoder")
        self._sink = sink
        self._source = source or Tone().samples

    def _run(self) -> None:
        context = av.CodecContext.create("libopus", "w")
        assert isinstance(context, av.AudioCodecContext)
        context.sample_rate = AUDIO_RATE
        context.layout = AUDIO_LAYOUT
        context.format = "s16"
        context.bit_rate = 64_000
        context.time_base = Fraction(1, AUDIO_RATE)
        interval = BLOCK / AUDIO_RATE
        next_due = time.monotonic()
        pts = 0
        while not self._stop.is_set():
            delay = next_due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            elif delay < -interval:
                next_due = time.monotonic()  # the source kept us waiting: don't burst
            next_due += interval
            samples = self._source(BLOCK).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(samples, format="s16", layout=AUDIO_LAYOUT)
            frame.sample_rate = AUDIO_RATE
            frame.pts = pts
            frame.time_base = Fraction(1, AUDIO_RATE)
            pts += BLOCK
            for packet in context.encode(frame):
                packet.time_base = Fraction(1, AUDIO_RATE)
                self._sink(packet)
