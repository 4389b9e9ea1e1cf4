"""WebRTC fan-out: one peer connection per viewer, all fed the same encoded packets.

Each viewer's tracks hold a short queue of shared ``av.Packet``s; aiortc's sender only
packs them into RTP. A viewer that falls behind loses its queue and waits for the next
keyframe (which it asks the shared encoder for), so a slow viewer never slows the others
or grows memory. Keyframe requests from viewers (PLI/FIR) are routed to the shared
encoder, since aiortc only honours them when it encodes itself. A stopped track (a viewer
gone, a WHIP session ended) takes no more packets, so it never asks for keyframes either:
a dead one once did, every half second, for the rest of the show.

A browser that cannot play H.264 (Debian's Firefox ESR offers VP8, VP9 and AV1 only)
gets VP8 from a second shared encoder: it starts with the first such viewer, stops when
the last one leaves, and takes those viewers' keyframe requests. H.264 viewers and
recordings never see its packets. An output that sends VP8 too (``Vp8Output``: WHIP to
Janus, whose viewers without H.264 subscribe to that stream) keeps it running while it
does: the console cannot tell when such a viewer watches through the SFU.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeGuard

import av
from aiortc import RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.exceptions import OperationError
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcpeerconnection import is_codec_compatible
from aiortc.sdp import SessionDescription

from console.errors import ShopcastError
from media.audio import AudioCapture
from media.capture import Capture
from media.encoder import PRESETS, AudioEncoder, Preset, VideoCodec, VideoEncoder
from media.ice import rtc_configuration
from media.outputs import MediaKind, Output, Vp8Output

log = logging.getLogger(__name__)

#: Packets a viewer may have waiting; about half a second of video.
MAX_QUEUED = 15
H264_PROFILE = "42e01f"
#: The codecs' rtpmap names, in the order a viewer's offer is matched against them.
RTPMAP: dict[VideoCodec, str] = {"h264": "H264/90000", "vp8": "VP8/90000"}


class SignallingError(ShopcastError):
    """A viewer's offer cannot be answered; the message says why."""


class PacketTrack(MediaStreamTrack):
    """A track whose ``recv`` hands out shared, already-encoded packets."""

    def __init__(self, kind: str, on_behind: Callable[[], None]) -> None:
        super().__init__()
        self.kind = kind
        self._queue: asyncio.Queue[av.Packet | None] = asyncio.Queue()
        self._needs_keyframe = kind == "video"
        self._on_behind = on_behind
        self._sending = False

    def push(self, packet: av.Packet) -> None:
        if not self._sending or self.readyState != "live":
            return
        if self._needs_keyframe and not packet.is_keyframe:
            return
        if self._queue.qsize() >= MAX_QUEUED:
            while not self._queue.empty():
                self._queue.get_nowait()
            if self.kind == "video":
                self._needs_keyframe = True
                self._on_behind()
            return
        self._needs_keyframe = False
        self._queue.put_nowait(packet)

    async def recv(self) -> av.Packet:  # type: ignore[override]
        if not self._sending:
            # The connection is up only now: what was queued before it is stale, and
            # a keyframe made now lets the viewer start at once.
            self._sending = True
            while not self._queue.empty():
                self._queue.get_nowait()
            if self.kind == "video":
                self._needs_keyframe = True
                self._on_behind()
        packet = await self._queue.get()
        if packet is None or self.readyState != "live":
            raise MediaStreamError
        return packet

    def stop(self) -> None:
        super().stop()
        self._queue.put_nowait(None)


@dataclass(eq=False)
class Viewer:
    pc: RTCPeerConnection
    video: PacketTrack
    audio: PacketTrack
    codec: VideoCodec


class Broadcast:
    """The live stream: shared encoders, the viewers' peer connections and other outputs."""

    def __init__(
        self,
        capture: Capture,
        preset: Preset | None = None,
        ice_servers: tuple[str, ...] = (),
        audio: AudioCapture | None = None,
    ) -> None:
        """``audio`` is the sound's capture; without one the stream carries the test tone.

        ``preset`` may be changed while off air; it applies the next time the show starts.
        """
        self._capture = capture
        self._audio_capture = audio
        self.preset = preset or PRESETS["720p"]
        self._ice_servers = ice_servers
        self._viewers: dict[str, Viewer] = {}
        self._outputs: list[Output] = []
        self._video: VideoEncoder | None = None
        self._vp8: VideoEncoder | None = None
        self._audio: AudioEncoder | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: set[asyncio.Task[None]] = set()
        self.started_at: float | None = None

    @property
    def live(self) -> bool:
        return self._video is not None

    @property
    def viewer_count(self) -> int:
        return len(self._viewers)

    @property
    def video_encoder(self) -> VideoEncoder | None:
        return self._video

    @property
    def vp8_encoder(self) -> VideoEncoder | None:
        """The VP8 encoder, running only while a viewer without H.264 watches or an
        output sends VP8."""
        return self._vp8

    @property
    def outputs(self) -> tuple[Output, ...]:
        return tuple(self._outputs)

    def add_output(self, output: Output) -> None:
        """Send the stream to ``output`` too, from the next keyframe on.

        Outputs start at a keyframe, so one is asked for now instead of waiting up to
        the 2 s interval.
        """
        self._outputs.append(output)
        self.request_keyframe()
        self.vp8_changed()

    async def remove_output(self, output: Output) -> None:
        """Stop sending to ``output`` and close it."""
        if output in self._outputs:
            self._outputs.remove(output)
            await output.close()
            await self._stop_vp8_if_unwatched()

    def vp8_changed(self) -> None:
        """An output began or stopped sending VP8 (``Vp8Output.sends_vp8``): run the VP8
        encoder to match. Call on the event loop."""
        if any(self._sends_vp8(output) for output in self._outputs):
            self._start_vp8("an output sends VP8")
            self.request_vp8_keyframe()
        elif self._vp8 is not None:
            task = asyncio.get_running_loop().create_task(self._stop_vp8_if_unwatched())
            self._stopping.add(task)
            task.add_done_callback(self._stopping.discard)

    @staticmethod
    def _sends_vp8(output: Output) -> TypeGuard[Vp8Output]:
        return isinstance(output, Vp8Output) and output.sends_vp8

    def start(self) -> None:
        """Start encoding (call on the event loop's thread)."""
        if self.live:
            return
        self._loop = asyncio.get_running_loop()
        loop = self._loop
        self._video = VideoEncoder(
            self._capture,
            self.preset,
            lambda packet: loop.call_soon_threadsafe(self._fan_out, "video", packet),
        )
        self._audio = AudioEncoder(
            lambda packet: loop.call_soon_threadsafe(self._fan_out, "audio", packet),
            self._audio_capture.read if self._audio_capture is not None else None,
        )
        self._video.start()
        self._audio.start()
        self.started_at = time.time()

    async def stop(self) -> None:
        """End the stream: close every viewer's connection, stop the encoders, close outputs.

        Outputs close last, so a recording keeps the final packets the encoders made.
        """
        await asyncio.gather(*(self.close_viewer(key) for key in list(self._viewers)))
        for encoder in (self._video, self._vp8, self._audio):
            if encoder is not None:
                await asyncio.to_thread(encoder.stop)
        self._video = self._vp8 = self._audio = None
        self.started_at = None
        outputs, self._outputs = self._outputs, []
        results = await asyncio.gather(*(o.close() for o in outputs), return_exceptions=True)
        for output, result in zip(outputs, results, strict=True):
            if isinstance(result, Exception):
                log.error("closing the %s output failed", output.name, exc_info=result)

    def _fan_out(self, kind: MediaKind, packet: av.Packet) -> None:
        for viewer in self._viewers.values():
            if kind == "audio":
                viewer.audio.push(packet)
            elif viewer.codec == "h264":
                viewer.video.push(packet)
        for output in self._outputs:
            output.push(kind, packet)

    def _fan_out_vp8(self, packet: av.Packet) -> None:
        for viewer in self._viewers.values():
            if viewer.codec == "vp8":
                viewer.video.push(packet)
        for output in self._outputs:
            if self._sends_vp8(output):
                output.push_vp8(packet)

    def request_keyframe(self) -> None:
        """Ask the shared encoder for a keyframe (a viewer joined, lost packets, or an output)."""
        if self._video is not None:
            self._video.request_keyframe()

    def request_vp8_keyframe(self) -> None:
        """Ask the VP8 encoder for a keyframe (a VP8 viewer joined or lost packets)."""
        if self._vp8 is not None:
            self._vp8.request_keyframe()

    def _start_vp8(self, why: str) -> None:
        """Start the VP8 encoder at the show's preset (``preset`` may already be the next's)."""
        if self._vp8 is not None or self._video is None:
            return
        loop = asyncio.get_running_loop()
        self._vp8 = VideoEncoder(
            self._capture,
            self._video.preset,
            lambda packet: loop.call_soon_threadsafe(self._fan_out_vp8, packet),
            codec="vp8",
        )
        self._vp8.start()
        log.info("%s: VP8 encoder started", why)

    async def _stop_vp8_if_unwatched(self) -> None:
        """Stop the VP8 encoder once no viewer plays VP8 and no output sends it: a tenth
        of a core spent on nobody."""
        encoder = self._vp8
        if encoder is None or any(v.codec == "vp8" for v in self._viewers.values()):
            return
        if any(self._sends_vp8(output) for output in self._outputs):
            return
        self._vp8 = None
        await asyncio.to_thread(encoder.stop)
        log.info("no viewer or output takes VP8 now: VP8 encoder stopped")

    async def answer(self, key: str, offer_sdp: str) -> str:
        """Answer a viewer's offer; the viewer then receives the shared stream."""
        if not self.live:
            raise SignallingError("The show is not live yet; the video starts when it is.")
        await self.close_viewer(key)
        try:
            codec = offered_video_codec(offer_sdp)
        except (ValueError, AssertionError, IndexError) as exc:
            raise SignallingError(f"The browser's offer could not be used: {exc}.") from exc
        if codec is None:
            raise SignallingError(_cannot_play("video"))
        keyframe = self.request_keyframe if codec == "h264" else self.request_vp8_keyframe
        pc = RTCPeerConnection(rtc_configuration(self._ice_servers))
        video = PacketTrack("video", keyframe)
        audio = PacketTrack("audio", keyframe)
        video_sender = pc.addTrack(video)
        pc.addTrack(audio)
        # A viewer's PLI/FIR must reach its shared encoder, not aiortc's unused flag.
        video_sender._send_keyframe = keyframe  # type: ignore[method-assign]
        for transceiver in pc.getTransceivers():
            transceiver.setCodecPreferences(preferred_codecs(transceiver.kind, codec))
        try:
            await pc.setRemoteDescription(
                RTCSessionDescription(without_mdns_candidates(offer_sdp), "offer")
            )
            await pc.setLocalDescription(await pc.createAnswer())
        except OperationError:
            # No codec in common: aiortc says only "Failed to set remote ... parameters".
            await pc.close()
            raise SignallingError(_cannot_play(lacking_codec(offer_sdp))) from None
        except (ValueError, AssertionError) as exc:
            await pc.close()
            raise SignallingError(f"The browser's offer could not be used: {exc}.") from exc
        answer = pc.localDescription.sdp
        if RTPMAP[codec] not in first_codec_line(answer, "video"):
            await pc.close()
            raise SignallingError(_cannot_play("video"))
        if not self.live:
            await pc.close()
            raise SignallingError("The show has ended.")
        viewer = Viewer(pc, video, audio, codec)
        self._viewers[key] = viewer
        if codec == "vp8":
            self._start_vp8("a viewer without H.264 watches")

        @pc.on("connectionstatechange")
        async def _state() -> None:
            if pc.connectionState in ("failed", "closed") and self._viewers.get(key) is viewer:
                await self.close_viewer(key)

        return answer

    async def close_viewer(self, key: str) -> None:
        viewer = self._viewers.pop(key, None)
        if viewer is None:
            return
        viewer.video.stop()
        viewer.audio.stop()
        await viewer.pc.close()
        if viewer.codec == "vp8":
            await self._stop_vp8_if_unwatched()


def _cannot_play(kind: MediaKind) -> str:
    codec = "H.264 (constrained baseline) or VP8 video" if kind == "video" else "Opus audio"
    return f"The browser cannot play {codec}; use an up-to-date Chrome, Edge, Firefox or Safari."


def preferred_codecs(kind: str, video: VideoCodec = "h264") -> list:
    """Only what one shared encoder makes: sending packets of another codec plays nothing."""
    codecs = RTCRtpSender.getCapabilities(kind).codecs
    if kind == "video" and video == "vp8":
        return [c for c in codecs if c.mimeType in ("video/VP8", "video/rtx")]
    if kind == "video":
        return [
            c
            for c in codecs
            if c.mimeType == "video/H264"
            and c.parameters.get("profile-level-id") == H264_PROFILE
            and str(c.parameters.get("packetization-mode")) == "1"
        ] + [c for c in codecs if c.mimeType == "video/rtx"]
    return [c for c in codecs if c.mimeType == "audio/opus"]


def offered_video_codec(sdp: str) -> VideoCodec | None:
    """The shared encoder whose video a viewer's offer takes: H.264 whenever it can, else VP8.

    Matched as aiortc matches when it answers (H.264 by profile and packetization mode),
    so the codec chosen here is the one negotiated. An offer without video gets "h264"
    (the answer's check then refuses it); None when it takes neither codec.
    """
    media = next((m for m in SessionDescription.parse(sdp).media if m.kind == "video"), None)
    if media is None:
        return "h264"
    for codec in RTPMAP:
        ours = [c for c in preferred_codecs("video", codec) if c.mimeType != "video/rtx"]
        if any(is_codec_compatible(a, b) for a in ours for b in media.rtp.codecs):
            return codec
    return None


def without_mdns_candidates(sdp: str) -> str:
    """Drop the browser's ``*.local`` host candidates from its offer.

    Browsers hide their addresses behind mDNS names; resolving one costs aioice up to a
    second per name before the answer can go out. The browser's connectivity checks
    reach our own candidates anyway, and ICE learns its address from them (a
    peer-reflexive candidate), so the names are not needed.
    """
    kept = [
        line
        for line in sdp.split("\r\n")
        if not (line.startswith("a=candidate:") and ".local " in line)
    ]
    return "\r\n".join(kept)


def lacking_codec(sdp: str) -> MediaKind:
    """Which shared encoder's codec a peer's ``sdp`` cannot take when no codec matched.

    "audio" when it has an audio section that names no Opus; otherwise "video" (no
    H.264, or not the constrained baseline profile in packetization mode 1 that the
    encoder makes).
    """
    audio = _section(sdp, "audio")
    has_opus = any(" opus/48000" in line.lower() for line in audio)
    return "audio" if audio and not has_opus else "video"


def _sections(sdp: str, kind: str) -> list[list[str]]:
    """The lines of each ``kind`` media section, its ``m=`` line first, in order."""
    found: list[list[str]] = []
    current: list[str] | None = None
    for line in sdp.splitlines():
        if line.startswith("m="):
            current = [line] if line.startswith(f"m={kind} ") else None
            if current is not None:
                found.append(current)
        elif current is not None:
            current.append(line)
    return found


def _section(sdp: str, kind: str) -> list[str]:
    """The lines of the first ``kind`` media section, its ``m=`` line first; [] if none."""
    sections = _sections(sdp, kind)
    return sections[0] if sections else []


def _codec_line(section: list[str]) -> str:
    """The rtpmap line of the first payload type of ``section``."""
    parts = section[0].split() if section else []
    if len(parts) < 4:
        return ""
    return next((line for line in section if line.startswith(f"a=rtpmap:{parts[3]} ")), "")


def first_codec_line(sdp: str, kind: str) -> str:
    """The rtpmap line of the first payload type of the first ``kind`` section."""
    return _codec_line(_section(sdp, kind))


def takes_second_video(answer: str, rtpmap: str) -> bool:
    """Whether ``answer`` accepts its second video section (a port, not 0) with the codec
    ``rtpmap`` ("VP8/90000") first: a server that takes one video stream refuses it."""
    sections = _sections(answer, "video")
    if len(sections) < 2:
        return False
    second = sections[1]
    return second[0].split()[1:2] != ["0"] and rtpmap in _codec_line(second)
