"""Viewers whose browser has no H.264 watch a show that goes through a real Janus.

The console publishes H.264, Opus and its VP8 rendition by WHIP to Janus (through
simple-whip-server), the headless hub brokers viewers to Janus, and two viewers watch
at once: one that decodes VP8 only (Debian's Firefox ESR) and one that decodes H.264.
aiortc plays each browser, as tests/test_vp8_viewers.py does on the embedded path: it
says what it decodes in ``watch``, answers Janus's offer with only that codec and
decodes what arrives. With the VP8 stream turned off (``--no-whip-vp8``) the VP8-only
viewer is told why there is no video. Everything runs in the network namespace of
tests/test_sfu_janus.py.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from console.hub.sfu import CANNOT_PLAY
from media.ice import configure_ice_hosts, rtc_configuration
from tests.support.clients import RawClient
from tests.test_sfu_janus import (
    PATIENCE,
    Show,
    show_in_namespace,  # noqa: F401 (the fixture)
)

#: Decoded frames each viewer must see: one second of the show's 30 frames/s.
FRAMES = 30
#: Frugal on a two-core machine: the console encodes twice, each viewer decodes.
PRESET = ("--preset", "360p")


@dataclass(eq=False)
class Viewer:
    """A page and its browser: a hub session, and an aiortc peer that decodes
    ``mime_types`` only ("video/VP8"), counting frames and their sizes."""

    client: RawClient
    mime_types: tuple[str, ...]
    pc: RTCPeerConnection = field(default_factory=lambda: RTCPeerConnection(rtc_configuration()))
    offer: str = ""
    decoded: int = 0
    sizes: set[tuple[int, int]] = field(default_factory=set)
    _reader: asyncio.Task[None] | None = None

    def codecs(self) -> list[str]:
        """What its page says it decodes: the rtpmap names of its own offer."""
        return [mime.split("/")[1] for mime in self.mime_types] + ["rtx"]

    async def watch(self) -> dict[str, Any]:
        """``watch``: Janus's offer (``watch_offer``) or the hub's refusal (``error``)."""
        await self.client.send({"t": "watch", "codecs": self.codecs(), "ref": "stream"})
        async with asyncio.timeout(PATIENCE):
            while True:
                for reply in self.client.messages:
                    if reply.get("ref") == "stream" and reply["t"] in ("watch_offer", "error"):
                        return reply
                await asyncio.sleep(0.05)

    async def answer(self, offer: str) -> None:
        self.offer = offer

        @self.pc.on("track")
        def _track(track: MediaStreamTrack) -> None:
            if track.kind == "video":
                self._reader = asyncio.ensure_future(self._read(track))

        await self.pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
        codecs = RTCRtpReceiver.getCapabilities("video").codecs
        for transceiver in self.pc.getTransceivers():
            if transceiver.kind == "video":
                transceiver.setCodecPreferences(
                    [c for c in codecs if c.mimeType in self.mime_types]
                )
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        answer = self.pc.localDescription.sdp
        await self.client.send({"t": "watch_answer", "sdp": answer, "ref": "stream"})
        await self.client.wait_for("ack", ref="stream", timeout=PATIENCE)

    async def _read(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                self.decoded += 1
                self.sizes.add((frame.width, frame.height))
        except MediaStreamError:
            return

    async def frames(self, at_least: int) -> None:
        async with asyncio.timeout(PATIENCE):
            while self.decoded < at_least:
                await asyncio.sleep(0.05)

    def negotiated_video(self) -> list[str]:
        return [
            t._codecs[0].mimeType  # type: ignore[attr-defined]
            for t in self.pc.getTransceivers()
            if t.kind == "video"
        ]

    async def close(self) -> None:
        await self.pc.close()
        if self._reader is not None:
            self._reader.cancel()
        await self.client.close()


def start_show(running: Show, *console_flags: str) -> str:
    """Janus, the hub brokering it and the console live; the hub's WebSocket address once
    the console's publisher is in Janus's room."""
    said = running.start_sfu()
    viewer_page = running.start_hub(said["Janus API"].split()[0])
    running.start_console(said["WHIP endpoint"], said["WHIP token"], *PRESET, *console_flags)
    running.wait_for(
        "the hub mark the show live (Janus has the console's publisher)",
        lambda: (
            True
            if "the show's publisher is in the room" in (running.folder / "hub.log").read_text()
            else None
        ),
    )
    return viewer_page.replace("http://", "ws://") + "ws"


async def viewer(hub_ws: str, name: str, *mime_types: str) -> Viewer:
    client = await RawClient.viewer(hub_ws, name)
    await client.wait_for("stream", live=True, timeout=PATIENCE)
    return Viewer(client, mime_types)


def test_a_vp8_only_viewer_decodes_the_vp8_stream_while_an_h264_viewer_gets_h264(
    show_in_namespace: Show,  # noqa: F811
) -> None:
    running = show_in_namespace
    hub_ws = start_show(running)

    async def watch_both() -> tuple[Viewer, Viewer]:
        configure_ice_hosts([running.namespace.client])
        firefox = await viewer(hub_ws, "Fay", "video/VP8")
        chromium = await viewer(hub_ws, "Cy", "video/H264")
        try:
            for one in (firefox, chromium):
                offered = await one.watch()
                assert offered["t"] == "watch_offer", offered
                await one.answer(offered["sdp"])
            await firefox.frames(FRAMES)
            await chromium.frames(FRAMES)
            before = firefox.decoded
            await firefox.frames(before + FRAMES)
            return firefox, chromium
        finally:
            await firefox.close()
            await chromium.close()
            configure_ice_hosts([])

    firefox, chromium = running.ask(watch_both)
    assert firefox.negotiated_video() == ["video/VP8"]
    assert "H264/90000" not in firefox.offer, "Janus offered it the VP8 stream alone"
    assert firefox.sizes == {(640, 360)}, "the show's size, as the H.264 viewer gets it"
    assert chromium.negotiated_video() == ["video/H264"]
    assert "VP8/90000" not in chromium.offer
    assert chromium.sizes == {(640, 360)}


def test_with_the_vp8_stream_off_a_vp8_only_viewer_is_told_why_there_is_no_video(
    show_in_namespace: Show,  # noqa: F811
) -> None:
    running = show_in_namespace
    hub_ws = start_show(running, "--no-whip-vp8")

    async def watch() -> dict[str, Any]:
        firefox = await viewer(hub_ws, "Fay", "video/VP8")
        try:
            return await firefox.watch()
        finally:
            await firefox.close()

    refused = running.ask(watch)
    assert refused["t"] == "error"
    assert (refused["code"], refused["message"]) == (
        "invalid",
        CANNOT_PLAY.format(what="H.264 video"),
    )
    assert "OpenH264" in refused["message"]
