"""WHIP with the VP8 rendition as a second video stream, for an SFU's viewers without H.264.

The server is aiortc behind the plain HTTP of tests/test_whip.py: it decodes what each of
the offer's streams carries. A server that takes one video stream (RFC 9725's 406, or a
refused second section) gets H.264 and Opus alone, and the VP8 encoder stops. The stream
controls say which in the health line; the Stream settings remember the choice.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import av
import pytest
from aiortc import RTCPeerConnection, RTCRtpTransceiver, RTCSessionDescription
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from media.capture import Capture
from media.encoder import PRESETS
from media.ice import configure_ice_hosts
from media.webrtc import Broadcast
from media.whip import WhipOutput
from tests.support.stream import controls_on_air, end_show, until
from tests.test_whip import TOKEN, HttpServer, Reply, Request, first_frame
from widgets.stream_settings import StreamSettingsDialog, whip_vp8


class TwoVideoEndpoint:
    """One aiortc peer per POST that takes every stream offered (``406``: refuses an
    offer with two video streams, as a server of one video track must)."""

    def __init__(self, one_video_only: bool = False) -> None:
        self.one_video_only = one_video_only
        self.peers: list[RTCPeerConnection] = []
        self.offers: list[str] = []

    async def handle(self, request: Request) -> Reply:
        if request.method == "DELETE":
            return Reply(200)
        offer = request.body.decode()
        self.offers.append(offer)
        if self.one_video_only and offer.count("m=video ") > 1:
            return Reply(406, {"Content-Type": "text/plain"}, b"one video track only")
        pc = RTCPeerConnection()
        self.peers.append(pc)
        await pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        headers = {"Content-Type": "application/sdp", "Location": f"/r/{len(self.peers)}"}
        return Reply(201, headers, pc.localDescription.sdp.encode())

    def videos(self) -> list[RTCRtpTransceiver]:
        """The latest session's video streams, in the offer's order."""
        return [t for t in self.peers[-1].getTransceivers() if t.kind == "video"]

    async def close(self) -> None:
        for pc in self.peers:
            await pc.close()


@pytest.fixture
async def broadcast() -> AsyncIterator[Broadcast]:
    configure_ice_hosts(["127.0.0.1"])
    capture = Capture("test")
    capture.start()
    live = Broadcast(capture, PRESETS["360p"])
    live.start()
    try:
        yield live
    finally:
        await live.stop()
        capture.stop()
        configure_ice_hosts([])


def vp8_whip(broadcast: Broadcast, url: str) -> WhipOutput:
    return WhipOutput(
        url,
        TOKEN,
        request_keyframe=broadcast.request_keyframe,
        vp8=True,
        request_vp8_keyframe=broadcast.request_vp8_keyframe,
        on_vp8=broadcast.vp8_changed,
    )


async def test_the_server_receives_h264_and_a_second_video_stream_in_vp8(
    broadcast: Broadcast,
) -> None:
    endpoint = TwoVideoEndpoint()
    async with HttpServer(endpoint.handle) as server:
        whip = vp8_whip(broadcast, f"{server.url}/whip")
        assert broadcast.vp8_encoder is None
        broadcast.add_output(whip)
        try:
            await whip.start()
            assert broadcast.vp8_encoder is not None, "the VP8 stream needs its encoder"
            h264, vp8 = endpoint.videos()
            assert h264._codecs[0].mimeType == "video/H264"  # type: ignore[attr-defined]
            assert vp8._codecs[0].mimeType == "video/VP8"  # type: ignore[attr-defined]
            for transceiver in (h264, vp8):
                frame = await first_frame(transceiver.receiver.track, av.VideoFrame, 20)
                assert isinstance(frame, av.VideoFrame)
                assert (frame.width, frame.height) == (640, 360)
            assert whip.sends_vp8 and whip.vp8_refused == ""
        finally:
            await broadcast.remove_output(whip)
            await endpoint.close()
    assert broadcast.vp8_encoder is None, "no output sends VP8: its encoder stopped"


async def test_a_server_that_takes_one_video_stream_gets_h264_at_once_and_vp8_stops(
    broadcast: Broadcast,
) -> None:
    endpoint = TwoVideoEndpoint(one_video_only=True)
    async with HttpServer(endpoint.handle) as server:
        whip = vp8_whip(broadcast, f"{server.url}/whip")
        broadcast.add_output(whip)
        try:
            await whip.start()
            assert [offer.count("m=video ") for offer in endpoint.offers] == [2, 1]
            assert not whip.sends_vp8
            assert "406" in whip.vp8_refused
            (h264,) = endpoint.videos()
            frame = await first_frame(h264.receiver.track, av.VideoFrame, 20)
            assert isinstance(frame, av.VideoFrame)
            async with asyncio.timeout(10):
                while broadcast.vp8_encoder is not None:
                    await asyncio.sleep(0.05)
        finally:
            await broadcast.remove_output(whip)
            await endpoint.close()


@pytest.mark.qasync
@pytest.mark.parametrize(
    ("one_video_only", "says"), [(False, "WHIP publishing + VP8"), (True, "(H.264 only)")]
)
async def test_the_health_line_says_whether_the_vp8_stream_is_published(
    one_video_only: bool, says: str
) -> None:
    configure_ice_hosts(["127.0.0.1"])
    endpoint = TwoVideoEndpoint(one_video_only)
    try:
        async with HttpServer(endpoint.handle) as server, controls_on_air() as (controls, live):
            controls.whip_target = lambda: (f"{server.url}/whip", TOKEN)
            controls.button.click()
            await until(lambda: says in controls.health.text(), timeout=10)
            if not one_video_only:
                await until(lambda: re.search(r"\+ VP8 \d+%", controls.health.text()), 5)
            await end_show(controls)
            await until(lambda: not live.live and controls.button.isEnabled())
            await endpoint.close()
    finally:
        configure_ice_hosts([])


@pytest.mark.qasync
async def test_with_vp8_turned_off_the_server_gets_one_video_stream_and_no_vp8_is_encoded() -> None:
    configure_ice_hosts(["127.0.0.1"])
    endpoint = TwoVideoEndpoint()
    try:
        async with HttpServer(endpoint.handle) as server, controls_on_air() as (controls, live):
            controls.whip_target = lambda: (f"{server.url}/whip", TOKEN)
            controls.whip_vp8 = lambda: False
            controls.button.click()
            await until(lambda: "WHIP publishing" in controls.health.text(), timeout=10)
            assert [offer.count("m=video ") for offer in endpoint.offers] == [1]
            assert "VP8" not in controls.health.text()
            assert live.vp8_encoder is None
            await end_show(controls)
            await until(lambda: not live.live and controls.button.isEnabled())
            await endpoint.close()
    finally:
        configure_ice_hosts([])


def test_stream_settings_remember_vp8_on_by_default_and_off_when_unticked(
    tmp_path: Path, qtbot: QtBot
) -> None:
    file = str(tmp_path / "console.ini")
    settings = QSettings(file, QSettings.Format.IniFormat)
    assert whip_vp8(settings), "on by default"
    dialog = StreamSettingsDialog(settings)
    qtbot.addWidget(dialog)
    assert dialog.vp8.isChecked()
    dialog.vp8.setChecked(False)
    dialog.accept()
    assert not whip_vp8(QSettings(file, QSettings.Format.IniFormat))
