"""WHIP (RFC 9725): publish the live stream to an SFU or CDN, from the shared packets.

Past one machine, viewers are served by an existing media server (LiveKit, MediaMTX,
Janus, Cloudflare Stream); WHIP is how a broadcaster hands it the stream: one HTTP POST
of an SDP offer, a 201 with the answer and a ``Location`` for the session, a DELETE
to end it. The peer connection sends the shared encoders' H.264 and Opus packets like a
viewer's does, so publishing costs no second encode.

With ``vp8``, the offer holds a second video stream, the shared VP8 encoder's (which
then runs all show long): Janus 1.x takes several streams per publisher, and the hub
subscribes viewers whose browser has no H.264 to that one. RFC 9725 allows one video
track and has a server that takes no more answer 406; such a server (or one that answers
the second stream with port 0) gets H.264 and Opus alone for the rest of the show, at
once, and the VP8 encoder stops.

ICE candidates are gathered before the POST (no trickle): aiortc gathers them all when
the offer is set, and servers accept a complete offer. No STUN or TURN server is used
unless configured or handed out by the server (``Link: rel="ice-server"`` on the 201).
aiortc cannot take new servers once its offer is made, so those serve from the next
session on: the one after a session fails to connect, or after the server ends it. The
``Location`` is resolved against the endpoint's address, since servers (Janus's
simple-whip-server among them) send it relative.

A show outlives its sessions. When the server ends one (its DELETE, a restart) or the
network loses it, the session is detached from the stream at once (no packets, no
keyframe requests: a dead one asked the shared encoder for one every half second) and
the output publishes again after 1, 2, 4 … up to 30 s, from 1 s again once it is back;
a server that dies without a word (Janus killed: no DTLS close, and ICE's consent check
gives up only after 30 s) is noticed when its RTCP reports stop for ``SILENCE`` s;
so does a first attempt that fails for a reason that may pass (the server down, busy or
out of reach). A refusal that needs the host (a bad token, a wrong address, a server
without H.264) is not retried. Every outcome goes to the log, for headless runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import html
import logging
import os
import re
import socket
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import urljoin

import av
from aiortc import RTCBundlePolicy, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.exceptions import OperationError

from console.errors import ShopcastError
from media.encoder import VideoCodec
from media.httpclient import HttpError, Response, host_and_port, request
from media.ice import ice_servers_from_links, rtc_configuration
from media.outputs import MediaKind
from media.webrtc import (
    PacketTrack,
    first_codec_line,
    lacking_codec,
    preferred_codecs,
    takes_second_video,
)

log = logging.getLogger(__name__)

WhipState = Literal["idle", "connecting", "publishing", "retrying", "closed", "failed"]

#: Seconds for the POST (the server may gather its own candidates first) and the DELETE.
POST_TIMEOUT = 10.0
DELETE_TIMEOUT = 1.0
#: How much of a server's error page a message quotes.
QUOTE_CHARS = 160
#: Seconds before the first retry, and the most between two.
FIRST_RETRY = 1.0
LONGEST_RETRY = 30.0
#: Seconds without an RTCP report from the server (from the connection on) before its
#: session counts as lost. Janus reports on what it receives every second or so; a
#: server found to send none is not judged by this again.
SILENCE = 5.0
#: Seconds between two looks at the server's reports.
WATCH_EVERY = 1.0
#: Statuses after which the same request may succeed later (RFC 9110: timeout, too many).
PASSING_STATUSES = frozenset({408, 429})


class WhipError(ShopcastError):
    """Publishing to the WHIP server failed; ``status`` is the HTTP status if one came.

    ``passing`` says whether the same attempt may work later (the server is down, busy
    or out of reach), so that trying again is worth it.
    """

    def __init__(self, message: str, status: int | None = None, passing: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.passing = passing


class Backoff:
    """Seconds to wait before each retry: 1, 2, 4 … at most 30; ``reset`` after a success."""

    def __init__(self) -> None:
        self._next = FIRST_RETRY

    def next(self) -> float:
        delay = self._next
        self._next = min(delay * 2, LONGEST_RETRY)
        return delay

    def reset(self) -> None:
        self._next = FIRST_RETRY


@dataclass(eq=False)
class _Session:
    """One peer connection and the session the server made for it."""

    pc: RTCPeerConnection
    video: PacketTrack
    audio: PacketTrack
    #: The VP8 rendition's track, when the session offers one.
    vp8: PacketTrack | None = None
    #: The session's address on the server (from ``Location``), for the DELETE.
    resource_url: str | None = None
    #: Detached from the stream; it takes no packets and asks for no keyframes again.
    ended: bool = False
    #: Ends the session when the server's reports stop (``SILENCE``).
    watchdog: asyncio.Task[None] | None = None


class WhipOutput:
    """Publishing by WHIP: ``start`` publishes, ``push`` feeds it (an ``Output``), ``close`` ends.

    ``state`` and ``status`` say how it goes, for the stream's health line; ``on_state``
    hears every change (on the event loop). With ``vp8`` it is a ``Vp8Output`` too:
    ``on_vp8`` hears when it stops sending VP8 (the server takes one video stream), and
    the VP8 stream's keyframe requests go to ``request_vp8_keyframe``.
    """

    name = "WHIP"

    def __init__(
        self,
        url: str,
        token: str = "",
        request_keyframe: Callable[[], None] = lambda: None,
        ice_servers: Sequence[str] = (),
        on_state: Callable[[WhipState, str], None] = lambda state, text: None,
        vp8: bool = False,
        request_vp8_keyframe: Callable[[], None] = lambda: None,
        on_vp8: Callable[[], None] = lambda: None,
    ) -> None:
        host, port = host_and_port(url)  # a bad address fails here, not when going live
        self.url = url
        self._where = f"{host}:{port}"
        self._token = token
        self._request_keyframe = request_keyframe
        self._vp8 = vp8
        self._request_vp8_keyframe = request_vp8_keyframe
        self._on_vp8 = on_vp8
        #: Why the server gets no VP8 stream although one was asked for; "" while it does.
        self.vp8_refused = ""
        self._ice_servers = tuple(ice_servers)
        #: What the server's last 201 handed out (``Link: rel="ice-server"``).
        self._offered: tuple[RTCIceServer, ...] = ()
        self._on_state = on_state
        self.state: WhipState = "idle"
        self.status = ""
        self._session: _Session | None = None
        self._backoff = Backoff()
        self._retry: asyncio.Task[None] | None = None
        self._endings: set[asyncio.Task[None]] = set()
        self._closed = False
        #: The server sends RTCP reports, so that their silence means it is gone.
        self._server_reports = True

    @property
    def resource_url(self) -> str | None:
        """The current session's address on the server, if one is up."""
        return self._session.resource_url if self._session is not None else None

    @property
    def sends_vp8(self) -> bool:
        """It publishes the VP8 rendition (asked for, and the server did not refuse it)."""
        return self._vp8

    def push(self, kind: MediaKind, packet: av.Packet) -> None:
        session = self._session
        if session is not None:
            (session.video if kind == "video" else session.audio).push(packet)

    def push_vp8(self, packet: av.Packet) -> None:
        session = self._session
        if session is not None and session.vp8 is not None:
            session.vp8.push(packet)

    async def start(self) -> None:
        """Publish; raises ``WhipError`` (and shows it) if this first attempt fails.

        From then on the stream stays published until ``close``: ended or lost sessions,
        and failures that may pass (``WhipError.passing``), are tried again.
        """
        try:
            await self._attempt()
        except WhipError as exc:
            self._failed(exc)
            raise

    async def close(self) -> None:
        """End publishing: DELETE the session on the server (briefly), close the connection."""
        self._closed = True
        retry, self._retry = self._retry, None
        if retry is not None:
            retry.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await retry
        if self._session is not None:
            await self._end(self._session, delete=True)
        if self._endings:
            await asyncio.gather(*self._endings, return_exceptions=True)
        if self.state != "failed":
            self._set_state("closed", "ended")

    async def _attempt(self) -> None:
        """Publish once; a server that takes one video stream gets H.264 alone at once."""
        try:
            await self._attempt_once()
        except WhipError as exc:
            if exc.status != 406 or not self._vp8:
                raise
            self._refuse_vp8(f"the WHIP server takes one video stream ({exc})")
            await self._attempt_once()

    def _refuse_vp8(self, why: str) -> None:
        """Publish without the VP8 stream from now on, and let the VP8 encoder stop."""
        self._vp8 = False
        self.vp8_refused = why
        log.warning("WHIP: %s; publishing H.264 and Opus only, without VP8", why)
        session = self._session
        if session is not None and session.vp8 is not None:
            session.vp8.stop()
        with contextlib.suppress(Exception):
            self._on_vp8()

    async def _attempt_once(self) -> None:
        self._set_state("connecting", f"connecting to {self._where}")
        session = self._session = self._new_session()
        try:
            await self._publish(session)
        except asyncio.CancelledError:
            await self._end(session, delete=True)
            raise
        except Exception:
            await self._end(session, delete=True)
            if self._closed:
                return  # closed meanwhile: nothing to report
            raise
        if self._closed and session.ended:
            # Closed while the POST was on its way: the session it made must go too.
            await self._end(session, delete=True)

    def _new_session(self) -> _Session:
        configuration = rtc_configuration(self._ice_servers, self._offered)
        # One transport for audio and video: what WHIP servers expect.
        configuration.bundlePolicy = RTCBundlePolicy.MAX_BUNDLE
        pc = RTCPeerConnection(configuration)

        def request_keyframe() -> None:
            # Only while attached: a PLI racing the end of a session must not count.
            if not session.ended:
                self._request_keyframe()

        def request_vp8_keyframe() -> None:
            if not session.ended:
                self._request_vp8_keyframe()

        session = _Session(
            pc, PacketTrack("video", request_keyframe), PacketTrack("audio", request_keyframe)
        )
        streams: list[tuple[PacketTrack, VideoCodec, Callable[[], None]]] = [
            (session.video, "h264", request_keyframe),
            (session.audio, "h264", request_keyframe),
        ]
        if self._vp8:
            # Last: the first video stream stays H.264 for a server that reads one only.
            session.vp8 = PacketTrack("video", request_vp8_keyframe)
            streams.append((session.vp8, "vp8", request_vp8_keyframe))
        for track, codec, keyframe in streams:
            transceiver = pc.addTransceiver(track, direction="sendonly")
            transceiver.setCodecPreferences(preferred_codecs(track.kind, codec))
            if track.kind == "video":
                # The server's PLI/FIR must reach the shared encoder (see media.webrtc).
                transceiver.sender._send_keyframe = keyframe  # type: ignore[method-assign]

        where = self._where

        @pc.on("connectionstatechange")
        def _connection() -> None:
            if session is not self._session:
                return  # ours to close, or closed already
            state = pc.connectionState
            if state == "connected":
                self._backoff.reset()
                self._set_state("publishing", "publishing")
                if session.watchdog is None:
                    session.watchdog = asyncio.get_running_loop().create_task(self._watch(session))
                log.info(
                    "WHIP: publishing to %s; the session is %s", self.url, session.resource_url
                )
            elif state == "failed":
                # The server may still hold the session: DELETE it.
                self._lost(session, f"The connection to the WHIP server at {where} was lost.", True)
            elif state == "closed":
                # It sent the DTLS close (its DELETE, a restart): nothing left to delete.
                self._lost(session, f"The WHIP server at {where} ended the session.", False)

        return session

    async def _publish(self, session: _Session) -> None:
        pc = session.pc
        await pc.setLocalDescription(await pc.createOffer())
        headers = {"Content-Type": "application/sdp", **self._auth()}
        response = await self._http(
            "POST", self.url, headers, pc.localDescription.sdp.encode(), POST_TIMEOUT
        )
        if response.status != 201:
            raise _status_error(self.url, response)
        location = response.header("location")
        if location:
            session.resource_url = urljoin(self.url, location)
        else:
            log.warning(
                "the WHIP server at %s sent no Location; it cannot be told the end", self.url
            )
        self._take_ice_servers(response)
        if session.ended:
            return
        answer = response.body.decode("utf-8", "replace")
        if not answer.lstrip().startswith("v=0"):
            raise WhipError(
                "The WHIP server answered 201 without an SDP answer "
                f"({response.header('content-type') or 'no content type'}); check the server.",
                201,
            )
        try:
            await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        except OperationError:
            # No codec in common (a VP8-only room): aiortc's words name no codec.
            raise _codec_error(lacking_codec(answer)) from None
        except (ValueError, AssertionError) as exc:
            raise WhipError(f"The WHIP server's answer could not be used: {exc}.", 201) from exc
        if "H264/90000" not in first_codec_line(answer, "video"):
            raise _codec_error("video")
        if session.vp8 is not None and not takes_second_video(answer, "VP8/90000"):
            self._refuse_vp8("the WHIP server refused the VP8 stream in its answer")

    def _take_ice_servers(self, response: Response) -> None:
        """Keep the STUN/TURN servers the 201 hands out, for the sessions that follow."""
        offered = tuple(ice_servers_from_links(response.links()))
        if offered and offered != self._offered:
            log.info(
                "WHIP: the server at %s offers ICE servers %s; the next session uses them",
                self._where,
                ", ".join(str(server.urls) for server in offered),
            )
        self._offered = offered

    async def _watch(self, session: _Session) -> None:
        """Call ``session`` lost when the server's RTCP reports stop (or never come)."""
        connected = datetime.now(UTC)
        heard: datetime | None = None
        while not session.ended and self._server_reports:
            await asyncio.sleep(WATCH_EVERY)
            heard = await _last_report(session.pc) or heard
            silent = (datetime.now(UTC) - (heard or connected)).total_seconds()
            if session.ended or silent <= SILENCE:
                continue
            if heard is None:
                # Maybe a server that sends no reports at all: one doubt, then trust it.
                self._server_reports = False
                log.warning("WHIP: the server at %s sent no RTCP report", self._where)
            self._lost(
                session,
                f"The WHIP server at {self._where} stopped answering "
                f"(no RTCP report for {silent:.0f} s).",
                True,
            )
            return

    def _lost(self, session: _Session, reason: str, delete: bool) -> None:
        """A live session died: detach it now, end it, and publish again after a while."""
        session.ended = True
        self._session = None
        task = asyncio.get_running_loop().create_task(self._end(session, delete))
        self._endings.add(task)
        task.add_done_callback(self._endings.discard)
        self._retry_later(reason)

    def _failed(self, exc: WhipError) -> None:
        if self._closed:
            return
        if exc.passing:
            self._retry_later(str(exc))
        else:
            self._set_state("failed", str(exc))
            log.warning("WHIP: %s", exc)

    def _retry_later(self, reason: str) -> None:
        delay = self._backoff.next()
        status = f"{reason} Publishing again in {delay:g} s."
        self._set_state("retrying", status)
        log.warning("WHIP: %s", status)
        self._retry = asyncio.get_running_loop().create_task(self._retry_after(delay))

    async def _retry_after(self, delay: float) -> None:
        await asyncio.sleep(delay)
        try:
            await self._attempt()
        except WhipError as exc:
            self._failed(exc)

    async def _end(self, session: _Session, delete: bool) -> None:
        """Detach ``session`` from the stream, DELETE it on the server if asked, close it."""
        session.ended = True
        if self._session is session:
            self._session = None
        watchdog = session.watchdog
        if watchdog is not None and watchdog is not asyncio.current_task():
            watchdog.cancel()
        for track in (session.video, session.audio, session.vp8):
            if track is not None:
                track.stop()
        resource, session.resource_url = session.resource_url, None
        if delete and resource is not None:
            try:
                response = await self._http("DELETE", resource, self._auth(), b"", DELETE_TIMEOUT)
                if response.status >= 400:
                    log.warning("WHIP DELETE %s: %d %s", resource, response.status, response.reason)
            except WhipError as exc:
                log.warning("WHIP DELETE %s: %s", resource, exc)
        await session.pc.close()

    async def _http(
        self, method: str, url: str, headers: dict[str, str], body: bytes, timeout: float
    ) -> Response:
        """One request; a failure to reach the server becomes a ``WhipError`` naming it."""
        host, port = host_and_port(url)
        try:
            return await request(method, url, headers, body, timeout)
        except TimeoutError:
            raise WhipError(
                f"The WHIP server at {host}:{port} did not answer within {timeout:g} s; "
                "check the server.",
                passing=True,
            ) from None
        except ConnectionRefusedError:
            raise WhipError(
                f"Cannot reach the WHIP server at {host}:{port}: connection refused. "
                "Check the WHIP URL (--whip) and that the server is running.",
                passing=True,
            ) from None
        except ssl.SSLError as exc:
            raise WhipError(
                f"Cannot open a secure connection to the WHIP server at {host}:{port}: "
                f"{exc.reason or exc}."
            ) from None
        except OSError as exc:
            raise WhipError(
                f"Cannot reach the WHIP server at {host}:{port}: {_os_reason(exc)}. "
                "Check the WHIP URL (--whip) and the network.",
                passing=True,
            ) from None
        except (HttpError, asyncio.IncompleteReadError) as exc:
            raise WhipError(
                f"The WHIP server at {host}:{port} sent a bad reply: {exc}", passing=True
            ) from None

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"} if self._token else {}

    def _set_state(self, state: WhipState, status: str) -> None:
        self.state, self.status = state, status
        with contextlib.suppress(Exception):
            self._on_state(state, status)


async def _last_report(pc: RTCPeerConnection) -> datetime | None:
    """When the server last sent an RTCP report on any of ``pc``'s streams."""
    heard = [
        stats.timestamp
        for sender in pc.getSenders()
        for stats in (await sender.getStats()).values()
        if stats.type == "remote-inbound-rtp"
    ]
    return max(heard, default=None)


def _os_reason(exc: OSError) -> str:
    """What the system said, in its words: asyncio's own text ("Connect call failed
    ('192.0.2.9', 443)") hides the reason (no route to host) in the error number."""
    if isinstance(exc, socket.gaierror):
        return exc.strerror or str(exc)  # "Name or service not known"
    number = exc.errno
    if number is None:
        # Several addresses tried ("Multiple exceptions: [Errno 113] Connect call …").
        found = re.search(r"\[Errno (\d+)\]", str(exc))
        number = int(found.group(1)) if found else None
    if number in errno.errorcode:
        return os.strerror(number)
    return exc.strerror or str(exc)


def _codec_error(kind: MediaKind) -> WhipError:
    if kind == "video":
        text = "did not accept H.264 video, which Shopcast sends; enable H.264 on the server."
    else:
        text = "did not accept Opus audio, which Shopcast sends; enable Opus on the server."
    return WhipError(f"The WHIP server {text}", 201)


def _status_error(url: str, response: Response) -> WhipError:
    """Say what a non-201 reply means and what to do about it."""
    status = response.status
    said = _quote(response) or response.reason
    code = f"{status}: {said}" if said else str(status)
    if status in (401, 403):
        text = (
            f"The WHIP server refused the token ({code}): check --whip-token "
            "(or the token in Stream settings)."
        )
    elif status == 404:
        text = f"The WHIP server has no endpoint at {url} ({code}): check the WHIP URL (--whip)."
    elif status >= 500:
        text = f"The WHIP server failed ({code}); check the server."
    else:
        text = f"The WHIP server refused the stream ({code})."
    return WhipError(text, status, passing=status >= 500 or status in PASSING_STATUSES)


def _quote(response: Response) -> str:
    """The server's message, short, as text: error pages often come as HTML."""
    text = response.body.decode("utf-8", "replace")
    if "html" in (response.header("content-type") or "") or text.lstrip().startswith("<"):
        text = html.unescape(re.sub(r"<(script|style)\b.*?</\1>|<[^>]*>", " ", text, flags=re.S))
    text = " ".join(text.split())
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1] + "…"
