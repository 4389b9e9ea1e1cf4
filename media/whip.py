"""WHIP (RFC 9725): publish the live stream to an SFU or CDN, from the shared packets.

Past one machine, viewers are served by an existing media server (LiveKit, MediaMTX,
Janus, Cloudflare Stream); WHIP is how a broadcaster hands it the stream: one HTTP POST
of an SDP offer, a 201 with the answer and a ``Location`` for the session, a DELETE
to end it. The peer connection sends the shared encoders' H.264 and Opus packets like a
viewer's does, so publishing costs no second encode.

ICE candidates are gathered before the POST (no trickle): aiortc gathers them all when
the offer is set, and servers accept a complete offer. No STUN or TURN server is used
unless configured. The ``Location`` is resolved against the endpoint's address, since
servers (Janus's simple-whip-server among them) send it relative.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import re
import ssl
from collections.abc import Callable, Sequence
from typing import Literal
from urllib.parse import urljoin

import av
from aiortc import RTCBundlePolicy, RTCPeerConnection, RTCSessionDescription

from console.errors import ShopcastError
from media.httpclient import HttpError, Response, host_and_port, request
from media.ice import rtc_configuration
from media.outputs import MediaKind
from media.webrtc import PacketTrack, first_codec_line, preferred_codecs

log = logging.getLogger(__name__)

WhipState = Literal["idle", "connecting", "publishing", "closed", "failed"]

#: Seconds for the POST (the server may gather its own candidates first) and the DELETE.
POST_TIMEOUT = 10.0
DELETE_TIMEOUT = 1.0
#: How much of a server's error page a message quotes.
QUOTE_CHARS = 160


class WhipError(ShopcastError):
    """Publishing to the WHIP server failed; ``status`` is the HTTP status if one came."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class WhipOutput:
    """One WHIP session: ``start`` publishes, ``push`` feeds it (an ``Output``), ``close`` ends.

    ``state`` and ``status`` say how it goes, for the stream's health line; ``on_state``
    hears every change (on the event loop).
    """

    name = "WHIP"

    def __init__(
        self,
        url: str,
        token: str = "",
        request_keyframe: Callable[[], None] = lambda: None,
        ice_servers: Sequence[str] = (),
        on_state: Callable[[WhipState, str], None] = lambda state, text: None,
    ) -> None:
        host_and_port(url)  # a bad address fails here, not when going live
        self.url = url
        self._token = token
        self._request_keyframe = request_keyframe
        self._ice_servers = tuple(ice_servers)
        self._on_state = on_state
        self.state: WhipState = "idle"
        self.status = ""
        #: The session's address on the server (from ``Location``), for the DELETE.
        self.resource_url: str | None = None
        self._video = PacketTrack("video", request_keyframe)
        self._audio = PacketTrack("audio", request_keyframe)
        self._pc: RTCPeerConnection | None = None

    def push(self, kind: MediaKind, packet: av.Packet) -> None:
        if self.state in ("closed", "failed"):
            return
        (self._video if kind == "video" else self._audio).push(packet)

    async def start(self) -> None:
        """Offer, POST, take the answer; raises ``WhipError`` (and shows it) if that fails."""
        host, port = host_and_port(self.url)
        self._set_state("connecting", f"connecting to {host}:{port}")
        try:
            await self._publish()
        except WhipError as exc:
            self._set_state("failed", str(exc))
            await self._end()
            raise

    async def close(self) -> None:
        """End the session: DELETE it on the server (briefly), close the connection."""
        await self._end()
        if self.state != "failed":
            self._set_state("closed", "ended")

    async def _publish(self) -> None:
        configuration = rtc_configuration(self._ice_servers)
        # One transport for audio and video: what WHIP servers expect.
        configuration.bundlePolicy = RTCBundlePolicy.MAX_BUNDLE
        pc = self._pc = RTCPeerConnection(configuration)
        for track in (self._video, self._audio):
            transceiver = pc.addTransceiver(track, direction="sendonly")
            transceiver.setCodecPreferences(preferred_codecs(track.kind))
            if track.kind == "video":
                # The server's PLI/FIR must reach the shared encoder (see media.webrtc).
                transceiver.sender._send_keyframe = self._request_keyframe  # type: ignore[method-assign]

        @pc.on("connectionstatechange")
        def _connection() -> None:
            if pc is not self._pc or self.state in ("closed", "failed"):
                return
            if pc.connectionState == "connected":
                self._set_state("publishing", "publishing")
            elif pc.connectionState == "failed":
                self._set_state("failed", "the connection to the WHIP server was lost")

        await pc.setLocalDescription(await pc.createOffer())
        headers = {"Content-Type": "application/sdp", **self._auth()}
        response = await self._http(
            "POST", self.url, headers, pc.localDescription.sdp.encode(), POST_TIMEOUT
        )
        if response.status != 201:
            raise _status_error(self.url, response)
        location = response.header("location")
        if location:
            self.resource_url = urljoin(self.url, location)
        else:
            log.warning(
                "the WHIP server at %s sent no Location; it cannot be told the end", self.url
            )
        answer = response.body.decode("utf-8", "replace")
        if not answer.lstrip().startswith("v=0"):
            raise WhipError(
                "The WHIP server answered 201 without an SDP answer "
                f"({response.header('content-type') or 'no content type'}); check the server.",
                201,
            )
        try:
            await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        except (ValueError, AssertionError) as exc:
            raise WhipError(f"The WHIP server's answer could not be used: {exc}.", 201) from exc
        if "H264/90000" not in first_codec_line(answer, "video"):
            raise WhipError(
                "The WHIP server did not accept H.264 video, which Shopcast sends; "
                "enable H.264 on the server.",
                201,
            )

    async def _end(self) -> None:
        resource, self.resource_url = self.resource_url, None
        if resource is not None:
            try:
                response = await self._http("DELETE", resource, self._auth(), b"", DELETE_TIMEOUT)
                if response.status >= 400:
                    log.warning("WHIP DELETE %s: %d %s", resource, response.status, response.reason)
            except WhipError as exc:
                log.warning("WHIP DELETE %s: %s", resource, exc)
        self._video.stop()
        self._audio.stop()
        pc, self._pc = self._pc, None
        if pc is not None:
            await pc.close()

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
                "try again or check the server."
            ) from None
        except ConnectionRefusedError:
            raise WhipError(
                f"Cannot reach the WHIP server at {host}:{port}: connection refused. "
                "Check the WHIP URL (--whip) and that the server is running."
            ) from None
        except ssl.SSLError as exc:
            raise WhipError(
                f"Cannot open a secure connection to the WHIP server at {host}:{port}: "
                f"{exc.reason or exc}."
            ) from None
        except OSError as exc:
            raise WhipError(
                f"Cannot reach the WHIP server at {host}:{port}: {exc.strerror or exc}. "
                "Check the WHIP URL (--whip) and the network."
            ) from None
        except (HttpError, asyncio.IncompleteReadError) as exc:
            raise WhipError(f"The WHIP server at {host}:{port} sent a bad reply: {exc}") from None

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"} if self._token else {}

    def _set_state(self, state: WhipState, status: str) -> None:
        self.state, self.status = state, status
        with contextlib.suppress(Exception):
            self._on_state(state, status)


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
        text = f"The WHIP server failed ({code}); try again or check the server."
    else:
        text = f"The WHIP server refused the stream ({code})."
    return WhipError(text, status)


def _quote(response: Response) -> str:
    """The server's message, short, as text: error pages often come as HTML."""
    text = response.body.decode("utf-8", "replace")
    if "html" in (response.header("content-type") or "") or text.lstrip().startswith("<"):
        text = html.unescape(re.sub(r"<(script|style)\b.*?</\1>|<[^>]*>", " ", text, flags=re.S))
    text = " ".join(text.split())
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1] + "…"
