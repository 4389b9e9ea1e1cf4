"""The hub's network shell: HTTP GET for the viewer page, ``/ws`` for every client.

It moves bytes between sockets and the :class:`~console.hub.room.Room`; the rules live
in the room and the domain. A bad message gets a typed error and never closes the room
for others; an unexpected failure is logged with its stack, and the client only hears
that something went wrong.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from collections.abc import Callable
from importlib import resources
from urllib.parse import urlsplit

import msgspec
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from console import protocol
from console.bus import EventBus
from console.domain.catalogue import catalogue_to_dict, parse_catalogue
from console.domain.limits import client_address, parse_trusted_proxy, sent_through_proxy
from console.errors import ListenError, ProtocolError, ShopcastError, StoreError
from console.hub.auth import host_token, issue_token
from console.hub.payments import PaymentProvider
from console.hub.permissions import check_permission
from console.hub.room import MAX_CLIENT_BUFFER, Limits, Room, Session, reply, send
from console.hub.sfu import NO_PUBLISHER, SfuBroker, SfuCodecRefused, SfuUnavailable
from console.hub.shoppers import drop_reason
from console.hub.static import StaticFiles
from console.hub.stream import StreamGateway
from console.protocol import ErrorCode
from console.store.api import Store

log = logging.getLogger(__name__)

WS_PATH = "/ws"
_WILDCARDS = frozenset({"", "0.0.0.0", "::"})


def _url(scheme: str, host: str, port: int, path: str) -> str:
    return f"{scheme}://{f'[{host}]' if ':' in host else host}:{port}{path}"


def _error_frame(
    code: str,
    message: str,
    ref: str | None = None,
    retry: float | None = None,
    fields: dict[str, str] | None = None,
) -> bytes:
    error = protocol.Error(
        code=code, message=message, ref=ref, retry_after=retry, fields=fields or {}
    )
    return protocol.frame([protocol.encode(error)])


def _stream_key(session: Session, ws: ServerConnection) -> str:
    """One peer connection per page: a viewer with two tabs has two."""
    return f"{session.viewer_id}/{id(ws)}"


def seed_demo_catalogue(store: Store) -> None:
    """Give a new store the demo catalogue, so a first start has something to sell."""
    if store.has_products():
        return
    raw = (resources.files("resources") / "demo" / "catalogue.json").read_bytes()
    catalogue = parse_catalogue(json.loads(raw))
    products = catalogue_to_dict(catalogue)["products"]
    store.replace_catalogue(msgspec.convert(products, list[protocol.Product]))


class Hub:
    """One room served on one port. Start it inside a running asyncio loop."""

    def __init__(
        self,
        store: Store,
        *,
        title: str = "Shopcast Live",
        tick: float = 0.03,
        limits: Limits | None = None,
        stream: StreamGateway | None = None,
        max_client_buffer: int = MAX_CLIENT_BUFFER,
        payments: PaymentProvider | None = None,
        clock: Callable[[], float] = time.time,
        allowed_origins: tuple[str, ...] = (),
        trusted_proxies: tuple[str, ...] = (),
        sfu: Callable[[Callable[[bool], None]], SfuBroker] | None = None,
        bus: EventBus | None = None,
    ) -> None:
        """``sfu`` makes the broker viewers watch through (``console.hub.sfu``), given
        the callback that marks the show live; then ``stream`` is not used."""
        self.store = store
        #: Pages on other sites that may open ``/ws`` (the hub's own page always may).
        self.allowed_origins = frozenset(o.rstrip("/").lower() for o in allowed_origins)
        #: Reverse proxies (addresses or networks) whose ``X-Forwarded-For`` names the
        #: client; from anyone else the header is never believed.
        self.trusted_proxies = tuple(parse_trusted_proxy(p) for p in trusted_proxies)
        self._warned_proxy = False
        self.room = Room(
            store,
            title=title,
            tick=tick,
            limits=limits,
            clock=clock,
            max_client_buffer=max_client_buffer,
            payments=payments,
            bus=bus,
        )
        self._stream = stream
        self._sfu = sfu(self.set_live) if sfu is not None else None
        if self._sfu is not None:
            self.room.stream_flow = "server_offer"
            broker = self._sfu
            self.room.sfu_viewers = lambda: broker.watching
        self._static = StaticFiles()
        self._server: Server | None = None
        self.host = "127.0.0.1"
        self.port = 0

    @property
    def viewer_url(self) -> str:
        """The address to give viewers; for a wildcard bind, this machine's LAN address."""
        host = self.host
        if host in _WILDCARDS:
            try:
                host = socket.gethostbyname(socket.gethostname())
            except OSError:
                host = "127.0.0.1"
        return _url("http", host, self.port, "/")

    @property
    def local_ws_url(self) -> str:
        """Where a client on this machine reaches ``/ws`` (loopback for a wildcard bind)."""
        host = "127.0.0.1" if self.host in _WILDCARDS else self.host
        return _url("ws", host, self.port, WS_PATH)

    def issue_token(self, role: protocol.Role, name: str, ttl: float | None = None) -> str:
        return issue_token(self.store, role, name, time.time(), ttl)

    def host_token(self) -> str:
        """The data folder's host token (see console.hub.auth); made on the first start."""
        return host_token(self.store, time.time())

    async def start(self, bind: str = "127.0.0.1", port: int = 8765) -> None:
        """Listen on ``bind:port`` (port 0 picks a free one; read it from ``self.port``)."""
        await self.room.bus.start()
        try:
            self._server = await serve(
                self._connection,
                bind,
                port,
                process_request=self._http,
                compression=None,
                max_size=protocol.MAX_FRAME_BYTES,
                max_queue=64,
                ping_interval=20,
                ping_timeout=20,
                close_timeout=2,
                open_timeout=5,
            )
        except OSError as exc:
            raise ListenError(
                f"Cannot listen on {bind}:{port} ({exc.strerror}); is another Shopcast running? "
                "Choose another port with --port."
            ) from exc
        self.room.shop.resume()
        self.room.claims.resume()
        self.room.auctions.resume()
        self.room.giveaways.resume()
        await self.room.compete_for_timers()
        if self.store.last_stream_live():
            # The last run ended without saying so (a crash): the show is not live now.
            self.room.recover_from_crash()
        sockname = next(iter(self._server.sockets)).getsockname()
        self.host, self.port = bind, sockname[1]
        log.info("hub listening on %s", self.viewer_url)
        if self._sfu is not None:
            self._sfu.start()

    async def stop(self, grace: float = 1.0) -> None:
        """Flush queued events, close every connection, stop listening."""
        if self._sfu is not None:
            await self._sfu.stop()
        self.room.close()
        await self.room.bus.close()
        server, self._server = self._server, None
        if server is None:
            return
        server.close(close_connections=True)
        try:
            await asyncio.wait_for(asyncio.shield(server.wait_closed()), grace)
        except TimeoutError:
            # Spare sockets that browsers open and never use still wait for a request;
            # they would hold the shutdown for the whole opening timeout.
            idle = list(server.handler_tasks)
            for task in idle:
                task.cancel()
            await asyncio.wait(idle, timeout=grace)

    def _http(self, connection: ServerConnection, request: Request) -> Response | None:
        path = request.path.split("?", 1)[0]
        if path == WS_PATH:
            return self._check_origin(connection, request)
        return self._static.response(path)

    def _check_origin(self, connection: ServerConnection, request: Request) -> Response | None:
        """Browsers say which page opens a socket: only the hub's own page (or an allowed
        one) may, so another site cannot chat or buy as a visitor who also has it open.

        Clients that are not browsers send no Origin; staff prove who they are by token.
        """
        origin = request.headers.get("Origin")
        if origin is None:
            return None
        host = (request.headers.get("Host") or "").lower()
        if urlsplit(origin).netloc.lower() == host or origin.rstrip("/").lower() in (
            self.allowed_origins
        ):
            return None
        log.warning("refused a WebSocket from origin %s", origin)
        return connection.respond(
            403,
            f"Pages from {origin} may not connect to this hub. To embed the viewer page "
            "on that site, start the hub with --allow-origin " + origin + "\n",
        )

    async def _connection(self, ws: ServerConnection) -> None:
        session: Session | None = None
        try:
            async for raw in ws:
                ref: str | None = None
                try:
                    limit = (
                        protocol.MAX_STAFF_MESSAGE_BYTES
                        if session is not None and session.is_staff
                        else protocol.MAX_MESSAGE_BYTES
                    )
                    message = protocol.decode_client(raw, limit)
                    ref = getattr(message, "ref", None)
                    if session is None:
                        if not isinstance(message, protocol.Hello):
                            raise ProtocolError(
                                ErrorCode.HELLO_REQUIRED,
                                "Send hello first, with your role and protocol version.",
                            )
                        session = self.room.join(ws, message, self._client_address(ws))
                    elif isinstance(message, protocol.WebRTCOffer) and self._stream is not None:
                        check_permission(session.role, message)
                        await self._answer(ws, session, message)
                    elif (
                        isinstance(message, protocol.Watch | protocol.WatchAnswer)
                        and self._sfu is not None
                    ):
                        check_permission(session.role, message)
                        await self._watch(ws, session, message)
                    elif isinstance(message, protocol.Buy):
                        check_permission(session.role, message)
                        await self._buy(session, message)
                    else:
                        self.room.handle(session, message)
                except ProtocolError as exc:
                    send(ws, _error_frame(exc.code, exc.message, ref, exc.retry_after, exc.fields))
                    if exc.code in (ErrorCode.UNSUPPORTED_VERSION, ErrorCode.BAD_TOKEN):
                        await ws.close(1008, exc.code)
                    elif exc.code == ErrorCode.TOO_MANY_NEW_VIEWERS:
                        await ws.close(1013, "try again later")
                except StoreError as exc:
                    log.error("store failure: %s", exc)
                    send(ws, _error_frame(ErrorCode.UNAVAILABLE, str(exc), ref))
                except Exception:
                    log.exception("unexpected failure handling a client message")
                    send(
                        ws,
                        _error_frame(
                            ErrorCode.INTERNAL,
                            "The hub could not handle this message; it was logged. Try again.",
                            ref,
                        ),
                    )
        except ConnectionClosed:
            pass
        finally:
            self.room.leave(ws)
            if session is not None and self._stream is not None:
                await self._stream.close_viewer(_stream_key(session, ws))
            if session is not None and self._sfu is not None:
                await self._sfu.close_viewer(_stream_key(session, ws))

    def _client_address(self, ws: ServerConnection) -> str:
        """The client's address as the limits count it: the socket's peer, or behind a
        trusted proxy the client it forwards for (see ``console.domain.limits``)."""
        remote = ws.remote_address
        peer = str(remote[0]) if isinstance(remote, tuple) and remote else ""
        request = ws.request
        forwarded = request.headers.get_all("X-Forwarded-For") if request is not None else []
        if not self._warned_proxy and sent_through_proxy(peer, forwarded, self.trusted_proxies):
            self._warned_proxy = True
            log.warning(
                "a client at %s sent X-Forwarded-For; if it is your reverse proxy, start "
                "the hub with --trusted-proxy %s, or every viewer behind it counts as one "
                "address for the chat's limits",
                peer,
                peer,
            )
        return client_address(peer, forwarded, self.trusted_proxies)

    def set_live(self, live: bool) -> None:
        """Tell every client the show went live or ended (the caller runs the stream)."""
        self.room.set_live(live)

    async def _buy(self, session: Session, message: protocol.Buy) -> None:
        self.room.check_rate(session)
        if session.name is None:
            raise ProtocolError(ErrorCode.NAME_REQUIRED, "Choose a display name before buying.")
        self.room.keep_viewer(session)
        # Everyone sees the sale: a banned buyer's goes out without their name.
        announced = self.room.moderation.announced_name(session.viewer_id, session.name)
        try:
            confirmed = await self.room.shop.buy(session.viewer_id, announced, message)
        except ProtocolError as exc:
            reason = drop_reason(exc.code)
            if reason is not None:
                self.room.shoppers.dropped(
                    session.viewer_id,
                    self.room.shop.product_of(message.sku),
                    reason,
                    sku=message.sku,
                    purchase=message.key,
                )
            raise
        self.room.shoppers.paid(session.viewer_id, confirmed.product_id, confirmed.order_id)
        self.room.viewers.bought(
            session.viewer_id, message.sku, confirmed.order_id, message.buyer.email
        )
        reply(session, confirmed)

    async def _answer(
        self, ws: ServerConnection, session: Session, offer: protocol.WebRTCOffer
    ) -> None:
        assert self._stream is not None
        if not self._stream.live or not self.room.live:
            raise ProtocolError(
                ErrorCode.NOT_LIVE, "The show is not live yet; the video starts when it is."
            )
        try:
            sdp = await self._stream.answer(_stream_key(session, ws), offer.sdp)
        except ShopcastError as exc:
            raise ProtocolError(ErrorCode.INVALID, str(exc)) from None
        send(ws, protocol.frame([protocol.encode(protocol.WebRTCAnswer(sdp=sdp, ref=offer.ref))]))

    async def _watch(
        self,
        ws: ServerConnection,
        session: Session,
        message: protocol.Watch | protocol.WatchAnswer,
    ) -> None:
        """Broker the page's subscription: Janus's offer to it, its answer to Janus."""
        assert self._sfu is not None
        key = _stream_key(session, ws)
        try:
            if isinstance(message, protocol.Watch):
                if not self.room.live:
                    raise SfuUnavailable(NO_PUBLISHER)
                sdp = await self._sfu.subscribe(key, message.codecs)
                answer: protocol.ServerMessage = protocol.WatchOffer(sdp=sdp, ref=message.ref)
            else:
                await self._sfu.answer(key, message.sdp)
                answer = protocol.Ack(ref=message.ref)
        except SfuUnavailable as exc:
            raise ProtocolError(ErrorCode.NOT_LIVE, str(exc)) from None
        except SfuCodecRefused as exc:
            raise ProtocolError(ErrorCode.INVALID, str(exc)) from None
        except ShopcastError as exc:
            raise ProtocolError(ErrorCode.UNAVAILABLE, str(exc)) from None
        send(ws, protocol.frame([protocol.encode(answer)]))
