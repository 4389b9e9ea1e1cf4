"""Audio sources behind one small interface, picked by a spec string, and their capture.

Every source yields blocks of s16 mono samples at 48 kHz (what the Opus encoder takes)
and paces itself: a microphone blocks on the device, a file and the tone sleep to real
time. :class:`AudioCapture` runs the chosen source on a thread of its own and keeps a
short buffer the encoder reads from, so a microphone that stalls costs the show its
sound, never its video or its encoder's clock.

Specs: ``tone`` (the test tone), ``none`` (silence), ``mic`` (the system's default
microphone), ``mic:DEVICE`` (``plughw:1`` for ALSA on Linux, a device index or name
for avfoundation on macOS, a device name for dshow on Windows) and ``file:PATH`` (an
audio file played in a loop).
"""

from __future__ import annotations

import collections
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

import av
import numpy as np

from console.errors import SourceError
from media.capture import SourceThread, no_report
from media.source import SourceChoice, decoded_frames, open_stream

AUDIO_RATE = 48_000
AUDIO_LAYOUT = "mono"
#: 20 ms, one Opus packet.
BLOCK = 960
#: The most the capture holds for the encoder: more would put the sound behind the
#: picture for good, since a device and the encoder then run at the same rate.
MAX_BUFFERED = 5 * BLOCK

#: Where Linux lists its sound cards; tests point it at a fake tree.
ASOUND = Path("/proc/asound")
#: The system's ALSA configuration (see :func:`_use_system_alsa_config`).
SYSTEM_ALSA_DIR = Path("/usr/share/alsa")


class AudioSource(Protocol):
    name: str

    def blocks(self) -> Iterator[np.ndarray]:
        """Paced blocks of s16 mono samples at 48 kHz (1-D arrays of any length)."""
        ...


def _paced(samples: Callable[[int], np.ndarray]) -> Iterator[np.ndarray]:
    """Blocks of ``samples`` at real-time speed, for sources that have no clock."""
    interval = BLOCK / AUDIO_RATE
    next_due = time.monotonic()
    while True:
        delay = next_due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        elif delay < -interval:
            next_due = time.monotonic()  # fell behind: skip, don't burst
        yield samples(BLOCK)
        next_due += interval


class Tone:
    """The test tone: a steady sine, the sound of the test pattern."""

    def __init__(self, frequency: float = 440.0, level: float = 0.15) -> None:
        self.name = "Test tone"
        self._frequency, self._level = frequency, level
        self._phase = 0

    def samples(self, n: int) -> np.ndarray:
        """The next ``n`` samples, at once (the encoder's default source needs no thread)."""
        t = (np.arange(n) + self._phase) / AUDIO_RATE
        self._phase += n
        return (np.sin(2 * np.pi * self._frequency * t) * self._level * 32767).astype(np.int16)

    def blocks(self) -> Iterator[np.ndarray]:
        return _paced(self.samples)


class Silence:
    """No sound: for a show without audio, and in place of a microphone that failed.

    A failed microphone falls back to silence rather than to the tone: a beep sprung on
    viewers in the middle of a show is worse than a quiet moment, and the window says
    what happened either way.
    """

    def __init__(self) -> None:
        self.name = "No audio"

    def blocks(self) -> Iterator[np.ndarray]:
        return _paced(lambda n: np.zeros(n, dtype=np.int16))


class AVAudioSource:
    """A microphone or an audio file read through PyAV, resampled to 48 kHz s16 mono."""

    def __init__(
        self, url: str, *, av_format: str | None, loop: bool, name: str, reason: str = ""
    ) -> None:
        """``reason`` replaces FFmpeg's when the device cannot be opened and we know better."""
        self.name = name
        self._loop = loop
        try:
            self._container, self._stream = open_stream(
                url, "audio", av_format=av_format, name=name
            )
        except SourceError as exc:
            if reason:
                raise SourceError(f"Cannot open {name}: {reason}.") from exc
            raise

    def blocks(self) -> Iterator[np.ndarray]:
        decoded = decoded_frames(self._container, self._stream, loop=self._loop, name=self.name)
        resampler = av.AudioResampler(format="s16", layout=AUDIO_LAYOUT, rate=AUDIO_RATE)
        for frame in decoded:
            # A looped file starts its timestamps again; the resampler only needs the order.
            frame.pts = None
            for out in resampler.resample(frame):
                yield out.to_ndarray().reshape(-1)


def _sound_cards() -> list[tuple[int, str]]:
    """ALSA's sound cards that can record, as (number, name), from /proc/asound."""
    try:
        text = (ASOUND / "cards").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    cards = []
    for match in re.finditer(r"^\s*(\d+)\s+\[[^\]]*\]:\s*\S+\s+-\s+(.+)$", text, re.MULTILINE):
        number = int(match.group(1))
        if any((ASOUND / f"card{number}").glob("pcm*c")):
            cards.append((number, match.group(2).strip()))
    return cards


def _sound_server_running() -> bool:
    """Whether PulseAudio or PipeWire listens for this user (ALSA's default may go there)."""
    runtime = Path(os.environ.get("XDG_RUNTIME_DIR", f"/run/user/{os.getuid()}"))
    return bool(os.environ.get("PULSE_SERVER")) or any(
        (runtime / name).exists() for name in ("pulse/native", "pipewire-0")
    )


def find_microphones() -> list[SourceChoice]:
    """Microphones on this machine, the system's default first; empty when there is none.

    On Linux every ALSA card that can record is offered as ``plughw:N`` (ALSA converts
    to the rate and channels FFmpeg asks for; ``hw:N`` refuses a mono-only USB mic).
    Elsewhere only the default device is offered: avfoundation and dshow list their
    devices only into FFmpeg's log.
    """
    if sys.platform.startswith("linux"):
        cards = _sound_cards()
        mics = [SourceChoice(f"mic:plughw:{n}", f"{name} (plughw:{n})") for n, name in cards]
        if cards or _sound_server_running():
            mics.insert(0, SourceChoice("mic", "Default microphone"))
        return mics
    if sys.platform == "darwin":
        return [SourceChoice("mic", "Default microphone")]
    return []


def audio_sources() -> list[SourceChoice]:
    """What the host can pick from: microphones, the test tone and no audio."""
    return [
        *find_microphones(),
        SourceChoice("tone", "Test tone"),
        SourceChoice("none", "No audio"),
    ]


def default_audio_spec() -> str:
    """The audio when none is asked for: the default microphone if there is one, else the tone."""
    return "mic" if find_microphones() else "tone"


def _use_system_alsa_config() -> None:
    """Point PyAV's ALSA at the system's configuration, where it has one.

    PyAV's wheels bundle an alsa-lib that looks for its configuration where it was built
    (``/tmp/vendor/share/alsa``); without the system's, no device name resolves, not
    even ``hw:0``. An ALSA_CONFIG_DIR the user set is left alone.
    """
    if (SYSTEM_ALSA_DIR / "alsa.conf").is_file():
        os.environ.setdefault("ALSA_CONFIG_DIR", str(SYSTEM_ALSA_DIR))


def _alsa_reason(device: str) -> str:
    """Why an ALSA device would not open, when /proc/asound can tell; else empty."""
    cards = _sound_cards()
    if not (ASOUND / "cards").is_file() or not cards:
        return "this machine has no sound card that can record"
    card = re.fullmatch(r"(?:plug)?hw:(?:CARD=)?(\d+).*", device)
    if card and int(card.group(1)) not in {n for n, _ in cards}:
        return f"there is no sound card {card.group(1)} that can record"
    return ""


def open_microphone(device: str = "") -> AVAudioSource:
    """Open a microphone; ``device`` empty means the system's default one."""
    name = f"microphone {device or 'default'}"
    if sys.platform == "darwin":
        return AVAudioSource(
            f":{device or 'default'}", av_format="avfoundation", loop=False, name=name
        )
    if sys.platform == "win32":
        if not device:
            raise SourceError(
                "Name the microphone on Windows: --audio mic:NAME, with NAME as "
                "'ffmpeg -list_devices true -f dshow -i dummy' shows it."
            )
        return AVAudioSource(f"audio={device}", av_format="dshow", loop=False, name=name)
    _use_system_alsa_config()
    device = device or "default"
    return AVAudioSource(
        device, av_format="alsa", loop=False, name=name, reason=_alsa_reason(device)
    )


def open_audio_source(spec: str | None) -> AudioSource:
    """Open the audio source a spec names; raise :class:`SourceError` saying what went wrong.

    ``None`` picks the default microphone if there is one, else the test tone.
    """
    kind, _, arg = (spec or default_audio_spec()).partition(":")
    if kind == "tone":
        return Tone()
    if kind == "none":
        return Silence()
    if kind == "mic":
        return open_microphone(arg)
    if kind == "file":
        path = Path(arg)
        if not path.is_file():
            raise SourceError(f"Cannot open audio file {path}: there is no such file.")
        return AVAudioSource(str(path), av_format=None, loop=True, name=f"audio file {path.name}")
    raise SourceError(
        f"Unknown audio source {spec!r}; use tone, none, mic, mic:DEVICE or file:PATH."
    )


class AudioCapture(SourceThread[AudioSource, np.ndarray]):
    """Runs the audio source on its own thread; the encoder takes samples with ``read``.

    At most :data:`MAX_BUFFERED` samples wait (the oldest go first), so a device
    running a little fast cannot delay the sound more and more.
    """

    instead = "Sending silence instead."

    def __init__(
        self,
        spec: str | None,
        on_error: Callable[[str], None] = no_report,
        on_source: Callable[[str], None] = no_report,
    ) -> None:
        """Open ``spec``; if it fails, report why through ``on_error`` and send silence."""
        self._blocks: collections.deque[np.ndarray] = collections.deque()
        self._buffered = 0
        self._ready = threading.Condition()
        super().__init__(spec, on_error, on_source, thread_name="audio-capture")

    def _default_spec(self) -> str:
        return default_audio_spec()

    def _open(self, spec: str) -> AudioSource:
        return open_audio_source(spec)

    def _stand_in(self) -> AudioSource:
        return Silence()

    def _items(self, source: AudioSource) -> Iterator[np.ndarray]:
        return source.blocks()

    def _deliver(self, item: np.ndarray) -> None:
        with self._ready:
            self._blocks.append(item)
            self._buffered += len(item)
            while self._buffered > MAX_BUFFERED and len(self._blocks) > 1:
                self._buffered -= len(self._blocks.popleft())
            self._ready.notify_all()

    def read(self, n: int) -> np.ndarray:
        """The next ``n`` samples, padded with silence if they are not there in time.

        It waits at most as long as ``n`` samples last, so the encoder keeps its 20 ms
        rhythm whatever the source does.
        """
        out = np.zeros(n, dtype=np.int16)
        filled = 0
        with self._ready:
            self._ready.wait_for(lambda: self._buffered >= n, timeout=n / AUDIO_RATE)
            # Source and encoder run at the same rate, so whatever piled up before the
            # encoder started (the capture runs from the console's start, the encoder
            # from go-live) would delay the sound, and the picture with it (browsers
            # hold video back to keep lips in sync), for the whole show. Keep one
            # block of slack for jitter; drop the older ones.
            while self._buffered - n > BLOCK and len(self._blocks) > 1:
                self._buffered -= len(self._blocks.popleft())
            while filled < n and self._blocks:
                block = self._blocks.popleft()
                take = min(n - filled, len(block))
                out[filled : filled + take] = block[:take]
                if take < len(block):
                    self._blocks.appendleft(block[take:])
                filled += take
                self._buffered -= take
        return out
