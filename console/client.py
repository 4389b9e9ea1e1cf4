"""A staff session to a hub: the console's one way to talk to a room, local or remote.

The embedded console connects to its own hub over loopback exactly as a remote staff
console would, so both paths are the same code. The session reconnects with backoff and
resumes with ``since``, so a dropped connection loses no event and repeats none.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import typing
from collections.abc import Callable, Sequence
from typing import Literal

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from console import protocol
from console.errors import ProtocolError, ShopcastError

log = logging.getLogger(__name__)

State = Literal["connecting", "connected", "reconnecting", "failed", "closed"]

#: Errors after which retrying cannot help; the user has to act.
_FATAL = {
    protocol.ErrorCode.BAD_TOKEN,
    protocol.ErrorCode.UNSUPPORTED_VERSION,
    protocol.ErrorCode.FORBIDDEN,
}


#: Stored room events (they carry a seq); a ``show`` with seq 0 is the state at join.
_EVENTS: tuple[type, ...] = typing.get_args(protocol.RoomEvent)


def is_replay(messages: Sequence[protocol.ServerMessage]) -> bool:
    """Whether a batch is the room's history rather than news.

    The hub answers ``hello`` with one frame: ``welcome``, then the stored events this
    console has not seen (the latest ones on a first join, the missed ones after a
    reconnect with ``since``), then the state now. All of it happened before this
    console (re)joined, so nothing in it is announced; every later frame is live.
    """
    return bool(messages) and isinstance(messages[0], protocol.Welcome)


class HubUnavailableError(ShopcastError):
    """The hub cannot be reached right now; the session keeps trying to reconnect."""


class StaffClient:
    """Connects, says hello with the staff token, and hands frames to ``on_messages``.

    ``on_messages`` receives each frame's messages as one list (a flood arrives in
    batches, not one by one); :func:`is_replay` tells the welcome frame's history from
    live frames. Room events already seen are filtered out, so a consumer never sees a
    seq twice. ``on_state`` hears connection changes with a human sentence.
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        role: protocol.Role | Literal["staff"] = "host",
        on_messages: Callable[[list[protocol.ServerMessage]], None],
        on_state: Callable[[State, str], None] = lambda state, text: None,
        min_backoff: float = 0.5,
        max_backoff: float = 10.0,
        ping_interval: float = 20.0,
    ) -> None:
        """``ping_interval``: seconds between keep-alive pings (tests make it short)."""
        self.url = url
        self._token = token
        self._role = role
        self._on_messages = on_messages
        self._on_state = on_state
        self._min_backoff = min_backoff
        self._max_backoff = max_backoff
        self._ping_interval = ping_interval
        self.last_seq: int | None = None
        self.welcome: protocol.Welcome | None = None
        self._ws: ClientConnection | None = None
        self._pending: dict[str, asyncio.Future[protocol.ServerMessage]] = {}
        self._refs = (f"c{n}" for n in itertools.count(1))
        self._connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="staff-client")

    def use_token(self, token: str) -> None:
        """Say hello with ``token`` from the next reconnect on (the host token was replaced;
        the open connection already goes on with it)."""
        self._token = token

    async def wait_connected(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(self._connected.wait(), timeout)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._ws is not None:
            await self._ws.close()
        self._fail_pending("The console is closing.")
        self._on_state("closed", "Disconnected.")

    async def _run(self) -> None:
        delay = self._min_backoff
        while True:
            reason = "the hub closed the connection"
            self._on_state(
                "connecting" if self.welcome is None else "reconnecting",
                f"Connecting to {self.url}…",
            )
            try:
                async with connect(
                    self.url,
                    compression=None,
                    max_size=None,
                    open_timeout=10,
                    ping_interval=self._ping_interval,
                    close_timeout=2,
                ) as ws:
                    self._ws = ws
                    await ws.send(
                        protocol.encode(
                            protocol.Hello(
                                v=protocol.VERSION,
                                role=self._role,
                                token=self._token,
                                since=self.last_seq,
                            )
                        ).decode()
                    )
                    delay = self._min_backoff
                    async for data in ws:
                        self._dispatch(protocol.decode_server(data))
            except ProtocolError as exc:
                if exc.code in _FATAL:
                    self._on_state("failed", exc.message)
                    return
                log.warning("hub sent something unreadable: %s", exc)
            except (OSError, ConnectionClosed, InvalidHandshake, TimeoutError) as exc:
                log.info("hub connection lost: %s", exc)
                reason = _unreachable(exc)
            except InvalidURI as exc:
                self._on_state("failed", f"The hub address is not a WebSocket URL: {exc}.")
                return
            finally:
                self._ws = None
                self._connected.clear()
                self._fail_pending("The connection to the hub was lost; try again.")
            wait = delay * (0.5 + random.random() / 2)
            self._on_state(
                "reconnecting", f"Hub unreachable ({reason}); reconnecting in {wait:.0f} s…"
            )
            await asyncio.sleep(wait)
            delay = min(delay * 2, self._max_backoff)

    def _dispatch(self, messages: list[protocol.ServerMessage]) -> None:
        fresh: list[protocol.ServerMessage] = []
        for message in messages:
            match message:
                case protocol.Welcome():
                    self.welcome = message
                    if message.history_truncated:
                        self.last_seq = None
                    self._connected.set()
                    self._on_state("connected", f"Connected to {self.url} as {message.role}.")
                    fresh.append(message)
                case _ if isinstance(message, _EVENTS) and message.seq:
                    if self.last_seq is not None and message.seq <= self.last_seq:
                        continue
                    self.last_seq = message.seq
                    fresh.append(message)
                case protocol.Error() if message.code in _FATAL and message.ref is None:
                    raise ProtocolError(message.code, message.message)
                case _:
                    ref = getattr(message, "ref", None)
                    future = self._pending.pop(ref, None) if ref else None
                    if future is not None and not future.done():
                        future.set_result(message)
                    else:
                        fresh.append(message)
        if fresh:
            self._on_messages(fresh)

    def _fail_pending(self, reason: str) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(HubUnavailableError(reason))
        self._pending.clear()

    # ------------------------------------------------------------ commands

    async def request(
        self, message: protocol.ClientMessage, timeout: float = 10.0
    ) -> protocol.ServerMessage:
        """Send a command and wait for its answer; a hub error raises ProtocolError."""
        ws = self._ws
        if ws is None or not self._connected.is_set():
            raise HubUnavailableError("Not connected to the hub; it is reconnecting.")
        ref = next(self._refs)
        message.ref = ref  # type: ignore[union-attr]
        future: asyncio.Future[protocol.ServerMessage] = asyncio.get_running_loop().create_future()
        self._pending[ref] = future
        await ws.send(protocol.encode(message).decode())
        try:
            reply = await asyncio.wait_for(future, timeout)
        finally:
            self._pending.pop(ref, None)
        if isinstance(reply, protocol.Error):
            raise ProtocolError(reply.code, reply.message, reply.retry_after, reply.fields)
        return reply


def _unreachable(exc: Exception) -> str:
    """Why the hub could not be reached, in a few words a user can check."""
    match exc:
        case ConnectionRefusedError():
            return "nothing answers at that address and port"
        case TimeoutError():
            return "no answer in time"
        case InvalidStatus():
            return f"that address is not a Shopcast hub: HTTP {exc.response.status_code}"
        case ConnectionClosed():
            return "the connection closed"
        case OSError() if "Connect call failed" in str(exc):
            return "nothing answers at that address and port"
        case _:
            return str(exc) or type(exc).__name__
