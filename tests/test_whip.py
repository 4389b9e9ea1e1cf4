"""WHIP publishing against a WHIP endpoint made here: plain HTTP plus a real aiortc peer.

The endpoint answers the POST with an aiortc peer connection that receives and decodes
the stream over 127.0.0.1, gives a relative ``Location`` and records every request, so
the tests see what a server would: the offer, the token, the DELETE.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import av
import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QLineEdit, QMainWindow

from media.capture import Capture
from media.encoder import PRESETS
from media.ice import configure_ice_hosts
from media.webrtc import Broadcast
from media.whip import WhipError, WhipOutput
from tests.support.stream import controls_on_air, end_show, until
from tests.test_process import start, stop
from widgets.stream_settings import StreamSettingsDialog, whip_target

TOKEN = "s3cret-token"
T = TypeVar("T")


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


Handler = Callable[[Request], Awaitable[Reply]]


class HttpServer:
    """Just enough HTTP/1.1 on 127.0.0.1 to be a WHIP server; keeps every request."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[Request] = []
        self.url = ""
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> HttpServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        method, path, _ = (await reader.readline()).decode().split(" ", 2)
        headers: dict[str, str] = {}
        while (line := (await reader.readline()).decode().rstrip("\r\n")) != "":
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        request = Request(method, path, headers, body)
        self.requests.append(request)
        reply = await self.handler(request)
        head = [f"HTTP/1.1 {reply.status} Whatever", f"Content-Length: {len(reply.body)}"]
        head += [f"{name}: {value}" for name, value in reply.headers.items()]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + reply.body)
        await writer.drain()
        writer.close()


class WhipEndpoint:
    """A WHIP server's media side: one aiortc peer per POST, receiving the tracks."""

    def __init__(self, location: str = "/whip/resource/abc") -> None:
        self.location = location
        self.peers: list[RTCPeerConnection] = []
        self.tracks: dict[str, MediaStreamTrack] = {}
        self.got_tracks = asyncio.Event()

    async def handle(self, request: Request) -> Reply:
        if request.method == "DELETE":
            return Reply(200)
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return Reply(401, body=b"bad token")
        pc = RTCPeerConnection()
        self.peers.append(pc)

        @pc.on("track")
        def _track(track: MediaStreamTrack) -> None:
            self.tracks[track.kind] = track
            if len(self.tracks) == 2:
                self.got_tracks.set()

        await pc.setRemoteDescription(RTCSessionDescription(request.body.decode(), "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        return Reply(
            201,
            {"Content-Type": "application/sdp", "Location": self.location},
            pc.localDescription.sdp.encode(),
        )

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


async def first_frame(track: MediaStreamTrack, kind: type, timeout: float = 10) -> object:
    """The first decoded frame of ``kind`` (aiortc's receiver decodes H.264 and Opus)."""
    async with asyncio.timeout(timeout):
        while True:
            frame = await track.recv()
            if isinstance(frame, kind):
                return frame


async def test_the_endpoint_receives_video_and_audio_and_the_location_gets_the_delete(
    broadcast: Broadcast,
) -> None:
    endpoint = WhipEndpoint("/whip/resource/abc")
    states: list[str] = []
    async with HttpServer(endpoint.handle) as server:
        whip = WhipOutput(
            f"{server.url}/whip/endpoint/live",
            TOKEN,
            request_keyframe=broadcast.request_keyframe,
            on_state=lambda state, text: states.append(state),
        )
        broadcast.add_output(whip)
        try:
            await whip.start()
            post = server.requests[0]
            assert (post.method, post.path) == ("POST", "/whip/endpoint/live")
            assert post.headers["content-type"] == "application/sdp"
            assert post.headers["authorization"] == f"Bearer {TOKEN}"
            offer = post.body.decode()
            assert "a=sendonly" in offer and "H264/90000" in offer and "opus/48000" in offer
            assert "a=candidate:" in offer, "candidates were gathered before the POST"
            assert whip.resource_url == f"{server.url}/whip/resource/abc"

            async with asyncio.timeout(10):
                await endpoint.got_tracks.wait()
            video = await first_frame(endpoint.tracks["video"], av.VideoFrame)
            audio = await first_frame(endpoint.tracks["audio"], av.AudioFrame)
            assert isinstance(video, av.VideoFrame) and (video.width, video.height) == (640, 360)
            assert isinstance(audio, av.AudioFrame) and audio.sample_rate == 48_000
            for _ in range(10):
                frame = await first_frame(endpoint.tracks["video"], av.VideoFrame)
            assert isinstance(frame, av.VideoFrame), "frames keep coming"
            assert whip.state == "publishing"
        finally:
            await broadcast.remove_output(whip)
            await endpoint.close()
    assert [(r.method, r.path) for r in server.requests] == [
        ("POST", "/whip/endpoint/live"),
        ("DELETE", "/whip/resource/abc"),
    ]
    assert server.requests[1].headers["authorization"] == f"Bearer {TOKEN}"
    assert states[:2] == ["connecting", "publishing"] and states[-1] == "closed"


async def test_a_relative_location_resolves_against_the_endpoint(broadcast: Broadcast) -> None:
    endpoint = WhipEndpoint("../resource/xyz")
    async with HttpServer(endpoint.handle) as server:
        whip = WhipOutput(f"{server.url}/whip/endpoint/live", TOKEN)
        try:
            await whip.start()
            assert whip.resource_url == f"{server.url}/whip/resource/xyz"
        finally:
            await whip.close()
            await endpoint.close()
    assert (server.requests[-1].method, server.requests[-1].path) == (
        "DELETE",
        "/whip/resource/xyz",
    )


def refuse(status: int, body: bytes, content_type: str = "text/plain") -> Handler:
    async def handle(request: Request) -> Reply:
        return Reply(status, {"Content-Type": content_type}, body)

    return handle


async def test_a_refused_token_names_the_status_and_the_flag() -> None:
    endpoint = WhipEndpoint()
    async with HttpServer(endpoint.handle) as server:
        whip = WhipOutput(f"{server.url}/whip/endpoint/live", "wrong-token")
        with pytest.raises(WhipError, match=r"refused the token \(401: bad token\)") as raised:
            await whip.start()
    assert raised.value.status == 401
    assert "--whip-token" in str(raised.value)
    assert whip.state == "failed" and "401" in whip.status
    assert [r.method for r in server.requests] == ["POST"], "no Location, so no DELETE"


async def test_a_failing_server_gives_the_status_and_its_message() -> None:
    page = b"<html><head><title>Error</title></head><body><h1>Janus is down</h1></body></html>"
    async with HttpServer(refuse(503, page, "text/html")) as server:
        whip = WhipOutput(f"{server.url}/whip/endpoint/live", TOKEN)
        with pytest.raises(WhipError) as raised:
            await whip.start()
    assert raised.value.status == 503
    message = str(raised.value)
    assert "503" in message and "Janus is down" in message and "<h1>" not in message
    assert "try again or check the server" in message


async def test_a_missing_endpoint_says_404_and_the_url() -> None:
    async with HttpServer(refuse(404, b"no such stream")) as server:
        url = f"{server.url}/whip/endpoint/typo"
        with pytest.raises(WhipError, match="404") as raised:
            await WhipOutput(url, TOKEN).start()
    assert url in str(raised.value)


async def test_a_server_that_is_not_running_names_host_and_port() -> None:
    async with HttpServer(refuse(500, b"")) as server:
        url = server.url
    port = url.rsplit(":", 1)[1]
    with pytest.raises(WhipError, match=rf"127\.0\.0\.1:{port}: connection refused"):
        await WhipOutput(f"{url}/whip", TOKEN).start()


@pytest.mark.qasync
async def test_going_live_publishes_to_the_whip_server_and_ending_the_show_deletes() -> None:
    configure_ice_hosts(["127.0.0.1"])
    endpoint = WhipEndpoint()
    try:
        async with HttpServer(endpoint.handle) as server, controls_on_air() as (controls, live):
            controls.whip_target = lambda: (f"{server.url}/whip/endpoint/live", TOKEN)
            controls.button.click()
            async with asyncio.timeout(10):
                await endpoint.got_tracks.wait()
            frame = await first_frame(endpoint.tracks["video"], av.VideoFrame)
            assert isinstance(frame, av.VideoFrame)
            await until(lambda: "WHIP publishing" in controls.health.text(), timeout=5)
            await end_show(controls)
            await until(lambda: not live.live and controls.button.isEnabled())
            await endpoint.close()
        assert [(r.method, r.path) for r in server.requests] == [
            ("POST", "/whip/endpoint/live"),
            ("DELETE", "/whip/resource/abc"),
        ]
    finally:
        configure_ice_hosts([])


@pytest.mark.qasync
async def test_a_whip_failure_shows_in_the_health_line_and_the_status_bar() -> None:
    async with (
        HttpServer(refuse(503, b"Service Unavailable: no room")) as server,
        controls_on_air() as (controls, live),
    ):
        controls.whip_target = lambda: (f"{server.url}/whip/endpoint/live", TOKEN)
        controls.button.click()
        window = controls.window()
        assert isinstance(window, QMainWindow)
        await until(lambda: "503" in window.statusBar().currentMessage())
        message = window.statusBar().currentMessage()
        assert message.startswith("WHIP: The WHIP server failed (503: Service Unavailable")
        await until(lambda: "⚠ WHIP: The WHIP server failed (503" in controls.health.text(), 5)
        assert live.live, "the show goes on for the viewer page"


def test_whip_on_the_command_line_publishes_and_deletes_at_exit(tmp_path: Path) -> None:
    """The console as a user starts it, publishing to an endpoint on a loop of its own."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def call(coro: Coroutine[Any, Any, T], timeout: float = 15) -> T:
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout)

    async def open_endpoint() -> tuple[WhipEndpoint, HttpServer]:
        configure_ice_hosts(["127.0.0.1"])
        endpoint = WhipEndpoint()
        return endpoint, await HttpServer(endpoint.handle).__aenter__()

    endpoint, server = call(open_endpoint())
    try:
        args = ["--live", "--source", "test", "--preset", "360p"]
        args += ["--whip", f"{server.url}/whip/endpoint/live", "--whip-token", TOKEN]
        process, _url = start(args, tmp_path / "data")
        try:
            call(asyncio.wait_for(endpoint.got_tracks.wait(), 15), 20)
            frame = call(first_frame(endpoint.tracks["video"], av.VideoFrame))
            assert isinstance(frame, av.VideoFrame) and frame.width == 640
        finally:
            code, took = stop(process, signal.SIGTERM)
        assert code == 0, process.stderr.read() if process.stderr else ""
        assert took < 5.0
        assert [(r.method, r.path) for r in server.requests] == [
            ("POST", "/whip/endpoint/live"),
            ("DELETE", "/whip/resource/abc"),
        ]
    finally:
        call(endpoint.close())
        call(server.__aexit__(None, None, None))
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
        configure_ice_hosts([])


def test_stream_settings_remember_the_whip_endpoint_with_the_token_masked(
    tmp_path: Path, qtbot
) -> None:
    file = str(tmp_path / "console.ini")
    settings = QSettings(file, QSettings.Format.IniFormat)
    dialog = StreamSettingsDialog(settings)
    qtbot.addWidget(dialog)
    assert dialog.token.echoMode() == QLineEdit.EchoMode.Password
    dialog.url.setText("ftp://sfu.example/whip")
    dialog.accept()
    assert "https://" in dialog.problem.text()
    assert whip_target(settings) == ("", "")
    dialog.url.setText(" https://sfu.example/whip/live ")
    dialog.token.setText(TOKEN)
    dialog.accept()
    reopened = QSettings(file, QSettings.Format.IniFormat)
    assert whip_target(reopened) == ("https://sfu.example/whip/live", TOKEN)
