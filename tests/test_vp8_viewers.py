"""Viewers whose browser cannot play H.264 (Debian's Firefox ESR) get VP8 on the embedded path.

aiortc plays the browser: its offer holds VP8 only, or H.264 only, and it decodes what it
receives. Everything stays on 127.0.0.1 and contacts no STUN server.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import pytest
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from media.capture import Capture
from media.encoder import PRESETS
from media.ice import configure_ice_hosts, rtc_configuration
from media.webrtc import Broadcast, SignallingError

#: Decoded frames a viewer must see: one second of 30 fps video.
FRAMES = 30


@dataclass(eq=False)
class Browser:
    """An aiortc peer that offers only ``mime_types`` for video and counts decoded frames."""

    mime_types: tuple[str, ...]
    pc: RTCPeerConnection = field(default_factory=lambda: RTCPeerConnection(rtc_configuration()))
    decoded: int = 0
    sizes: set[tuple[int, int]] = field(default_factory=set)
    _reader: asyncio.Task[None] | None = None

    async def offer(self) -> str:
        video = self.pc.addTransceiver("video", direction="recvonly")
        codecs = RTCRtpReceiver.getCapabilities("video").codecs
        video.setCodecPreferences([c for c in codecs if c.mimeType in self.mime_types])
        self.pc.addTransceiver("audio", direction="recvonly")

        @self.pc.on("track")
        def _track(track: MediaStreamTrack) -> None:
            if track.kind == "video":
                self._reader = asyncio.ensure_future(self._read(track))

        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    async def accept(self, answer: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))

    async def _read(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                self.decoded += 1
                self.sizes.add((frame.width, frame.height))
        except MediaStreamError:
            return

    async def wait_for_frames(self, at_least: int = FRAMES, timeout: float = 30.0) -> None:
        async with asyncio.timeout(timeout):
            while self.decoded < at_least:
                await asyncio.sleep(0.05)

    async def close(self) -> None:
        await self.pc.close()
        if self._reader is not None:
            self._reader.cancel()

    def negotiated_video(self) -> str:
        video = next(t for t in self.pc.getTransceivers() if t.kind == "video")
        return video._codecs[0].mimeType  # type: ignore[attr-defined]


@pytest.fixture
def loopback_ice() -> Iterator[None]:
    configure_ice_hosts(["127.0.0.1"])
    yield
    configure_ice_hosts([])


@pytest.fixture
async def live(loopback_ice: None) -> AsyncIterator[Broadcast]:
    capture = Capture("test")
    capture.start()
    broadcast = Broadcast(capture, PRESETS["360p"])
    broadcast.start()
    yield broadcast
    await broadcast.stop()
    capture.stop()


async def watch(live: Broadcast, key: str, *mime_types: str) -> Browser:
    browser = Browser(mime_types)
    await browser.accept(await live.answer(key, await browser.offer()))
    return browser


async def test_a_browser_that_offers_only_vp8_sees_the_show(live: Broadcast) -> None:
    assert live.vp8_encoder is None, "no VP8 is encoded while nobody needs it"
    firefox = await watch(live, "firefox-esr", "video/VP8")
    try:
        await firefox.wait_for_frames()
        assert firefox.negotiated_video() == "video/VP8"
        assert firefox.sizes == {(640, 360)}, "the show's preset, as H.264 viewers get it"
    finally:
        await firefox.close()


async def test_a_vp8_viewer_gets_the_shows_preset_after_the_host_chose_the_next(
    live: Broadcast,
) -> None:
    live.preset = PRESETS["720p"]  # Stream settings while live: it applies at the next go-live
    firefox = await watch(live, "firefox-esr", "video/VP8")
    try:
        await firefox.wait_for_frames()
        assert firefox.sizes == {(640, 360)}
    finally:
        await firefox.close()


async def test_the_vp8_encoder_stops_when_the_last_vp8_viewer_leaves(live: Broadcast) -> None:
    first = await watch(live, "firefox-1", "video/VP8")
    second = await watch(live, "firefox-2", "video/VP8")
    try:
        await first.wait_for_frames()
        await second.wait_for_frames()
        encoder = live.vp8_encoder
        assert encoder is not None
        await live.close_viewer("firefox-1")
        assert live.vp8_encoder is encoder, "one VP8 encode serves every VP8 viewer"
        await live.close_viewer("firefox-2")
        assert live.vp8_encoder is None
        assert not encoder._thread.is_alive(), "its thread ended: no CPU spent on VP8"
        assert live.live and live.video_encoder is not None, "the show goes on in H.264"
    finally:
        await first.close()
        await second.close()


async def test_h264_and_vp8_viewers_watch_at_the_same_time(live: Broadcast) -> None:
    chromium = await watch(live, "chromium", "video/H264")
    firefox = await watch(live, "firefox-esr", "video/VP8")
    try:
        await chromium.wait_for_frames()
        await firefox.wait_for_frames()
        assert chromium.negotiated_video() == "video/H264"
        assert firefox.negotiated_video() == "video/VP8"
        before = chromium.decoded
        await live.close_viewer("firefox-esr")
        await chromium.wait_for_frames(before + FRAMES)
    finally:
        await chromium.close()
        await firefox.close()


async def test_a_browser_that_offers_both_codecs_gets_h264(live: Broadcast) -> None:
    """Chromium offers VP8 first; it still gets the shared H.264 and no VP8 encoder runs."""
    chromium = await watch(live, "chromium", "video/VP8", "video/H264")
    try:
        await chromium.wait_for_frames()
        assert chromium.negotiated_video() == "video/H264"
        assert live.vp8_encoder is None
    finally:
        await chromium.close()


async def test_a_browser_with_neither_h264_nor_vp8_is_told_what_to_use(live: Broadcast) -> None:
    # aiortc cannot offer VP9 or AV1 alone: its VP8 offer renamed VP9 stands for one.
    offer = (await Browser(("video/VP8",)).offer()).replace("VP8/90000", "VP9/90000")
    with pytest.raises(SignallingError, match=r"cannot play H\.264 .* or VP8 video; use"):
        await live.answer("old-browser", offer)
    assert live.viewer_count == 0
    assert live.vp8_encoder is None


async def test_a_vp8_viewers_picture_loss_asks_the_vp8_encoder_for_a_keyframe(
    live: Broadcast,
) -> None:
    firefox = await watch(live, "firefox-esr", "video/VP8")
    try:
        await firefox.wait_for_frames()
        vp8, h264 = live.vp8_encoder, live.video_encoder
        assert vp8 is not None and h264 is not None
        asked: list[str] = []
        vp8.request_keyframe = lambda *_: asked.append("vp8")  # type: ignore[method-assign]
        h264.request_keyframe = lambda *_: asked.append("h264")  # type: ignore[method-assign]
        receiver = next(t.receiver for t in firefox.pc.getTransceivers() if t.kind == "video")
        viewer = live._viewers["firefox-esr"]
        sender = next(t.sender for t in viewer.pc.getTransceivers() if t.kind == "video")
        await receiver._send_rtcp_pli(sender._ssrc)  # what a browser sends on picture loss
        async with asyncio.timeout(10):
            while not asked:
                await asyncio.sleep(0.02)
        assert asked == ["vp8"]
    finally:
        await firefox.close()
