"""The event bus across hub processes: Redis pub/sub (Debian's redis-server 7).

Three channels per room: committed events, session-bound notices, and each hub's viewer
count. Pub/sub keeps nothing for a subscriber that is away, which is what the room wants:
the event log is the record, and a hub that reconnects catches up from it
(``Subscriber.bus_resync``) exactly as a viewer resuming with ``since`` does. So nothing is
lost when Redis restarts; what was in flight is read from the store instead.

A hub hands its own events to its room at once and skips its own echo from Redis, so its
viewers never wait for a round trip; the room's queue drops any event it already has.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections import deque
from collections.abc import Callable

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from console.bus import BusEvent, Notice, NoticeKind, Subscriber
from console.bus.presence import PresenceBoard
from console.errors import ShopcastError

log = logging.getLogger(__name__)

#: Seconds between repeats of this hub's viewer count.
HEARTBEAT = 1.0
#: Reconnection back-off after Redis hangs up: doubled up to the longest.
RETRY_FIRST = 0.2
RETRY_LONGEST = 5.0
#: Messages sent in one pipeline: a flash drop's burst goes out in a few round trips.
BATCH = 512
#: Messages kept while Redis is away; older ones are dropped (the other hubs read them
#: from the event log when they resync).
OUTBOX_LIMIT = 100_000
_NOTICE_KINDS: frozenset[str] = frozenset({"staff", "viewer", "forget", "end_staff"})


class BusError(ShopcastError):
    """The bus cannot start: Redis is not where the hub was told."""


class RedisBus:
    def __init__(
        self,
        url: str,
        room: str = "show",
        *,
        hub: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        #: This hub's name on the bus: its own messages are recognised by it.
        self.hub = hub or secrets.token_hex(6)
        self._events = f"shopcast:{room}:events"
        self._notices = f"shopcast:{room}:notices"
        self._presence = f"shopcast:{room}:presence"
        self._clock = clock
        self._subscriber: Subscriber | None = None
        self._redis: aioredis.Redis | None = None
        self._outbox: deque[tuple[str, bytes]] = deque(maxlen=OUTBOX_LIMIT)
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._board = PresenceBoard()
        self._here = 0
        #: Set while subscribed: a test or a start-up waits for it.
        self.subscribed = asyncio.Event()

    # ------------------------------------------------------------ the EventBus protocol

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscriber = subscriber

    def publish(self, event: BusEvent) -> None:
        if self._subscriber is not None:
            self._subscriber.bus_event(event)
        head = f"{event.seq}\n{event.audience or ''}\n".encode()
        self._send(self._events, head + event.body)

    def notify(self, notice: Notice) -> None:
        if self._subscriber is not None:
            self._subscriber.bus_notice(notice)
        self._send(self._notices, f"{notice.kind}\n{notice.target}\n".encode() + notice.body)

    def viewers(self, here: int) -> int:
        self._here = here
        return here + self._board.total()

    async def start(self) -> None:
        """Connect and subscribe; a Redis that cannot be reached is a clear error."""
        self._redis = aioredis.Redis.from_url(self.url, socket_connect_timeout=5)
        try:
            await self._redis.ping()
        except (RedisError, OSError) as exc:
            await self._redis.aclose()
            raise BusError(
                f"Cannot reach Redis at {self.url} ({exc}). Start redis-server there, or "
                "give the hub the right --redis URL."
            ) from exc
        self._tasks = [
            asyncio.create_task(self._listen(), name="bus-listen"),
            asyncio.create_task(self._sender(), name="bus-send"),
            asyncio.create_task(self._heartbeat(), name="bus-heartbeat"),
        ]
        await asyncio.wait_for(self.subscribed.wait(), 10)

    async def close(self) -> None:
        """Send what is queued (briefly), then stop."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._drain(), 2)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, RedisError, OSError):
                await task
        if self._redis is not None:
            await self._redis.aclose()

    # ------------------------------------------------------------ sending

    def _send(self, channel: str, payload: bytes) -> None:
        self._outbox.append((channel, self.hub.encode() + b"\n" + payload))
        self._wake.set()

    async def _drain(self) -> None:
        while self._outbox:
            await asyncio.sleep(0.01)

    async def _sender(self) -> None:
        assert self._redis is not None
        delay = RETRY_FIRST
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._outbox:
                batch = [self._outbox[i] for i in range(min(BATCH, len(self._outbox)))]
                try:
                    async with self._redis.pipeline(transaction=False) as pipe:
                        for channel, payload in batch:
                            pipe.publish(channel, payload)
                        await pipe.execute()
                except (RedisError, OSError) as exc:
                    log.warning("cannot publish to Redis at %s (%s); retrying", self.url, exc)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, RETRY_LONGEST)
                    continue
                delay = RETRY_FIRST
                for _ in batch:
                    self._outbox.popleft()

    async def _heartbeat(self) -> None:
        while True:
            self._send(self._presence, str(self._here).encode())
            if self._board.lapse(self._clock()) and self._subscriber is not None:
                self._subscriber.bus_presence()
            await asyncio.sleep(HEARTBEAT)

    # ------------------------------------------------------------ receiving

    async def _listen(self) -> None:
        assert self._redis is not None
        delay = RETRY_FIRST
        while True:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.subscribe(self._events, self._notices, self._presence)
                async for message in pubsub.listen():
                    kind = message["type"]
                    if kind == "subscribe" and message["channel"] == self._events.encode():
                        # Whatever was committed while this hub was not listening.
                        if self._subscriber is not None:
                            self._subscriber.bus_resync()
                        self.subscribed.set()
                        delay = RETRY_FIRST
                    elif kind == "message":
                        self._receive(message["channel"].decode(), message["data"])
            except (RedisError, OSError) as exc:
                log.warning("lost Redis at %s (%s); reconnecting in %.1f s", self.url, exc, delay)
            finally:
                self.subscribed.clear()
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_LONGEST)

    def _receive(self, channel: str, data: bytes) -> None:
        hub, _, payload = data.partition(b"\n")
        if hub.decode() == self.hub or self._subscriber is None:
            return
        try:
            if channel == self._events:
                seq, audience, body = payload.split(b"\n", 2)
                event = BusEvent(int(seq), audience.decode() or None, body)
                self._subscriber.bus_event(event)
            elif channel == self._notices:
                kind, target, body = payload.split(b"\n", 2)
                if kind.decode() not in _NOTICE_KINDS:
                    raise ValueError(f"unknown notice {kind!r}")
                notice_kind: NoticeKind = kind.decode()  # type: ignore[assignment]
                self._subscriber.bus_notice(Notice(notice_kind, target.decode(), body))
            elif channel == self._presence and self._board.heard(
                hub.decode(), int(payload), self._clock()
            ):
                self._subscriber.bus_presence()
        except ValueError as exc:
            log.warning("ignored a malformed bus message on %s from %s: %s", channel, hub, exc)
