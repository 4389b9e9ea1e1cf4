"""WHIP publishing against a WHIP endpoint made here: plain HTTP plus a real aiortc peer.

The endpoint answers the POST with an aiortc peer connection that receives and decodes
the stream over 127.0.0.1, gives a relative ``Location`` and records every request, so
the tests see what a server would: the offer, the token, the DELETE.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import signal
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

import av
import pytest
from aioice import stun
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QLineEdit, QMainWindow

from media.capture import Capture
from media.encoder import PRESETS
from media.httpclient import Response
from media.ice import configure_ice_hosts, ice_servers_from_links
from media.webrtc import MAX_QUEUED, Broadcast
from media.whip import Backoff, WhipError, WhipOutput
from tests.support.stream import controls_on_air, end_show, until
from tests.test_process import start, stop
from tests.test_recorder import encoded_stream
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
    #: ``Link`` header values, one header each (a dict cannot repeat a name).
    links: tuple[str, ...] = ()


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
        head += [f"Link: {link}" for link in reply.links]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + reply.body)
        await writer.drain()
        writer.close()


class WhipEndpoint:
    """A WHIP server's media side: one aiortc peer per POST, receiving the tracks.

    ``tracks`` and ``got_tracks`` are the latest session's; ``location`` may number the
    sessions (``{n}``: 1, 2 …); ``links`` are ``Link`` header values for each 201.
    """

    def __init__(self, location: str = "/whip/resource/abc", links: tuple[str, ...] = ()) -> None:
        self.location = location
        self.links = links
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
        tracks: dict[str, MediaStreamTrack] = {}
        self.tracks = tracks
        self.got_tracks.clear()

        @pc.on("track")
        def _track(track: MediaStreamTrack) -> None:
            tracks[track.kind] = track
            if len(tracks) == 2 and tracks is self.tracks:
                self.got_tracks.set()

        await pc.setRemoteDescription(RTCSessionDescription(request.body.decode(), "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        location = self.location.format(n=len(self.peers))
        return Reply(
            201,
            {"Content-Type": "application/sdp", "Location": location},
            pc.localDescription.sdp.encode(),
            self.links,
        )

    async def end_session(self) -> None:
        """End the latest session from the server's side, as Janus does on its DELETE."""
        await self.peers[-1].close()

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


async def test_a_refused_token_names_the_status_and_the_flag(
    caplog: pytest.LogCaptureFixture,
) -> None:
    endpoint = WhipEndpoint()
    async with HttpServer(endpoint.handle) as server:
        whip = WhipOutput(f"{server.url}/whip/endpoint/live", "wrong-token")
        with pytest.raises(WhipError, match=r"refused the token \(401: bad token\)") as raised:
            await whip.start()
    assert raised.value.status == 401 and not raised.value.passing
    assert "--whip-token" in str(raised.value)
    assert whip.state == "failed" and "401" in whip.status, "the host must act: no retry"
    assert [r.method for r in server.requests] == ["POST"], "no Location, so no DELETE"
    assert whip_log(caplog) == [f"WHIP: {raised.value}"]


async def test_a_failing_server_gives_the_status_and_its_message() -> None:
    page = b"<html><head><title>Error</title></head><body><h1>Janus is down</h1></body></html>"
    async with HttpServer(refuse(503, page, "text/html")) as server:
        whip = WhipOutput(f"{server.url}/whip/endpoint/live", TOKEN)
        try:
            with pytest.raises(WhipError) as raised:
                await whip.start()
        finally:
            await whip.close()
    assert raised.value.status == 503 and raised.value.passing, "a server's failure may pass"
    message = str(raised.value)
    assert "503" in message and "Janus is down" in message and "<h1>" not in message
    assert "check the server" in message


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
    whip = WhipOutput(f"{url}/whip", TOKEN)
    try:
        with pytest.raises(WhipError, match=rf"127\.0\.0\.1:{port}: connection refused"):
            await whip.start()
    finally:
        await whip.close()


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
        terminal = process.stderr.read() if process.stderr else ""
        assert code == 0, terminal
        assert took < 5.0
        assert [(r.method, r.path) for r in server.requests] == [
            ("POST", "/whip/endpoint/live"),
            ("DELETE", "/whip/resource/abc"),
        ]
        # A headless run leaves a trace of where the show went.
        assert (
            f"WHIP: publishing to {server.url}/whip/endpoint/live; "
            f"the session is {server.url}/whip/resource/abc"
        ) in terminal
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


def whip_log(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What a headless run's terminal shows of WHIP."""
    return [r.getMessage() for r in caplog.records if r.name == "media.whip"]


def failing_first(times: int, then: Handler) -> Handler:
    """A server that answers 503 to the first ``times`` POSTs, as one restarting does."""
    posts = 0

    async def handle(request: Request) -> Reply:
        nonlocal posts
        if request.method == "POST":
            posts += 1
            if posts <= times:
                return Reply(503, body=b"restarting")
        return await then(request)

    return handle


@pytest.mark.qasync
async def test_when_the_server_ends_the_session_the_console_says_so_and_publishes_again_in_5_s(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "media.whip")
    configure_ice_hosts(["127.0.0.1"])
    endpoint = WhipEndpoint("/whip/resource/{n}")
    try:
        async with HttpServer(endpoint.handle) as server, controls_on_air() as (controls, live):
            controls.whip_target = lambda: (f"{server.url}/whip/endpoint/live", TOKEN)
            controls.button.click()
            await until(lambda: "WHIP publishing" in controls.health.text(), timeout=10)
            window = controls.window()
            assert isinstance(window, QMainWindow)

            await endpoint.end_session()
            ended = (
                f"The WHIP server at 127.0.0.1:{server.url.rsplit(':', 1)[1]} ended the session."
            )
            await until(lambda: ended in window.statusBar().currentMessage(), timeout=5)
            assert controls.problem.text() == f"⚠ WHIP: {ended} Publishing again in 1 s."
            controls.refresh()  # what the once-a-second refresh shows until the retry
            assert f"⚠ WHIP: {ended}" in controls.health.text()

            await until(lambda: "WHIP publishing" in controls.health.text(), timeout=5)
            assert len(endpoint.peers) == 2
            async with asyncio.timeout(5):
                await endpoint.got_tracks.wait()
            frame = await first_frame(endpoint.tracks["video"], av.VideoFrame)
            assert isinstance(frame, av.VideoFrame), "the second session carries the show"
            assert controls.problem.text() == "", "published again: the problem is put right"
            await end_show(controls)
            await until(lambda: not live.live and controls.button.isEnabled())
            await endpoint.close()
        assert [(r.method, r.path) for r in server.requests] == [
            ("POST", "/whip/endpoint/live"),
            ("POST", "/whip/endpoint/live"),
            ("DELETE", "/whip/resource/2"),
        ], "the session the server ended is not deleted again"
        lines = whip_log(caplog)
        assert f"WHIP: {ended} Publishing again in 1 s." in lines
        published = [line for line in lines if line.startswith("WHIP: publishing to")]
        assert published == [
            f"WHIP: publishing to {server.url}/whip/endpoint/live; "
            f"the session is {server.url}/whip/resource/{n}"
            for n in (1, 2)
        ]
    finally:
        configure_ice_hosts([])


async def test_a_session_the_server_ended_asks_the_encoder_for_no_more_keyframes(
    broadcast: Broadcast,
) -> None:
    endpoint = WhipEndpoint()
    asked: list[str] = []

    def request_keyframe() -> None:
        asked.append("keyframe")
        broadcast.request_keyframe()

    # After the end, the server refuses again and again: the output waits, detached.
    async with HttpServer(failing_first(0, endpoint.handle)) as server:
        whip = WhipOutput(f"{server.url}/whip/endpoint/live", TOKEN, request_keyframe)
        broadcast.add_output(whip)
        try:
            await whip.start()
            async with asyncio.timeout(10):
                await endpoint.got_tracks.wait()
            await first_frame(endpoint.tracks["video"], av.VideoFrame)
            server.handler = refuse(503, b"no more sessions")
            await endpoint.end_session()
            await until(lambda: whip.state == "retrying", timeout=5)
            before = len(asked)
            # More than a session's queue holds: a live one would ask for a keyframe.
            packets = [p for kind, p in encoded_stream(2.0) if kind == "video"]
            for packet in packets:
                whip.push("video", packet)
            assert len(packets) > MAX_QUEUED
            assert len(asked) == before, "a detached session asked for a keyframe"
        finally:
            await broadcast.remove_output(whip)
            await endpoint.close()


def test_retries_wait_twice_as_long_each_time_up_to_30_s() -> None:
    backoff = Backoff()
    assert [backoff.next() for _ in range(8)] == [1, 2, 4, 8, 16, 30, 30, 30]
    backoff.reset()
    assert backoff.next() == 1


async def test_a_server_that_is_back_is_published_to_and_the_wait_starts_again_from_1_s(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "media.whip")
    endpoint = WhipEndpoint()
    statuses: list[str] = []
    async with HttpServer(failing_first(2, endpoint.handle)) as server:
        whip = WhipOutput(
            f"{server.url}/whip/endpoint/live",
            TOKEN,
            on_state=lambda state, text: statuses.append(f"{state}: {text}"),
        )
        try:
            with pytest.raises(WhipError, match=r"failed \(503: restarting\)"):
                await whip.start()
            await until(lambda: whip.state == "publishing", timeout=10)
            await endpoint.end_session()
            await until(lambda: len(endpoint.peers) == 2 and whip.state == "publishing", 10)
        finally:
            await whip.close()
            await endpoint.close()
    retries = [s.rsplit(". ", 1)[-1] for s in statuses if s.startswith("retrying")]
    assert retries == [
        "Publishing again in 1 s.",
        "Publishing again in 2 s.",
        "Publishing again in 1 s.",
    ]
    assert f"WHIP: {statuses[1].removeprefix('retrying: ')}" in whip_log(caplog)


def answer_without(codec: str) -> Handler:
    """A server whose answer offers another codec instead of ``codec`` (a VP8-only room)."""
    endpoint = WhipEndpoint()

    async def handle(request: Request) -> Reply:
        reply = await endpoint.handle(request)
        if request.method == "POST":
            sdp = reply.body.decode()
            if codec == "H264":
                sdp = sdp.replace("H264/90000", "VP8/90000")
                lines = [line for line in sdp.split("\r\n") if "profile-level-id" not in line]
                sdp = "\r\n".join(lines)
            else:
                sdp = sdp.replace("opus/48000/2", "PCMU/8000")
            reply.body = sdp.encode()
            await endpoint.close()
        return reply

    return handle


@pytest.mark.parametrize(
    ("codec", "words"),
    [("H264", "did not accept H.264 video"), ("opus", "did not accept Opus audio")],
)
async def test_a_server_without_h264_or_opus_is_named_instead_of_connecting_forever(
    codec: str, words: str
) -> None:
    async with HttpServer(answer_without(codec)) as server:
        whip = WhipOutput(f"{server.url}/whip/endpoint/live", TOKEN)
        try:
            with pytest.raises(WhipError, match=words):
                await whip.start()
            assert whip.state == "failed" and words in whip.status
        finally:
            await whip.close()
    assert [r.method for r in server.requests] == ["POST", "DELETE"], "no retry: host must act"


async def test_an_unreachable_server_keeps_the_reason_the_system_gave(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def no_route(host: str, port: int, **kwargs: object) -> None:
        # What asyncio raises for a host behind a missing route: the reason is the errno.
        raise OSError(errno.EHOSTUNREACH, f"Connect call failed ({host!r}, {port})")

    monkeypatch.setattr(asyncio, "open_connection", no_route)
    whip = WhipOutput("http://203.0.113.9/whip/endpoint/live", TOKEN)
    try:
        with pytest.raises(WhipError) as raised:
            await whip.start()
    finally:
        await whip.close()
    assert "203.0.113.9:80: No route to host." in str(raised.value)
    assert raised.value.passing
    assert f"WHIP: {raised.value} Publishing again in 1 s." in whip_log(caplog)


def test_ice_servers_in_link_headers_are_read_as_rfc_9725_writes_them() -> None:
    turn = (
        'rel="ice-server"; username="user"; credential="my\\"Pass,word"; credential-type="password"'
    )
    response = Response(
        201,
        "Created",
        (
            ("link", '<stun:stun.example.net>; rel="ice-server"'),
            (
                "link",
                # Two links in one header: the comma in the quoted credential is no end.
                f"<turn:turn.example.net?transport=udp>; {turn}, "
                f"<turns:turn.example.net?transport=tcp>; {turn}",
            ),
            (
                "link",
                '<urn:ietf:params:whip:ext:example:x>; rel="urn:ietf:params:whip:ext:example"',
            ),
            ("link", '<http://not-ice.example>; rel="ice-server"'),
        ),
        b"",
    )
    servers = ice_servers_from_links(response.links())
    assert [(s.urls, s.username, s.credential) for s in servers] == [
        ("stun:stun.example.net", None, None),
        ("turn:turn.example.net?transport=udp", "user", 'my"Pass,word'),
        ("turns:turn.example.net?transport=tcp", "user", 'my"Pass,word'),
    ]


class StunServer(asyncio.DatagramProtocol):
    """A STUN server on 127.0.0.1 that answers Binding requests and counts them."""

    def __init__(self) -> None:
        self.requests = 0
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        request = stun.parse_message(data)
        if request.message_class != stun.Class.REQUEST:
            return
        self.requests += 1
        response = stun.Message(
            stun.Method.BINDING, stun.Class.RESPONSE, transaction_id=request.transaction_id
        )
        response.attributes["XOR-MAPPED-ADDRESS"] = addr
        response.add_fingerprint()
        assert self.transport is not None
        self.transport.sendto(bytes(response), addr)


async def test_the_stun_server_a_whip_server_hands_out_serves_the_next_session(
    broadcast: Broadcast, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "media.whip")
    loop = asyncio.get_running_loop()
    transport, stun_server = await loop.create_datagram_endpoint(
        StunServer, local_addr=("127.0.0.1", 0)
    )
    port = transport.get_extra_info("sockname")[1]
    endpoint = WhipEndpoint(links=(f'<stun:127.0.0.1:{port}>; rel="ice-server"',))
    try:
        async with HttpServer(endpoint.handle) as server:
            whip = WhipOutput(f"{server.url}/whip/endpoint/live", TOKEN)
            try:
                await whip.start()
                await until(lambda: whip.state == "publishing", timeout=10)
                # aiortc gathers before the POST: the first session cannot have used it.
                assert stun_server.requests == 0
                await endpoint.end_session()
                await until(lambda: len(endpoint.peers) == 2 and whip.state == "publishing", 10)
                assert stun_server.requests > 0, "the second session asked the STUN server"
            finally:
                await whip.close()
                await endpoint.close()
    finally:
        transport.close()
    assert any(f"stun:127.0.0.1:{port}; the next session uses them" in m for m in whip_log(caplog))
