"""The bus between hub processes: Redis pub/sub, one set of channels per room.

Redis pub/sub keeps no messages: a hub whose link drops misses what was published
meanwhile. That is why a hub treats every (re)subscription as a possible gap and fills it
from the store's event log, as a resuming viewer's ``since`` does, and why the Coalescer
drops a seq it already has: delivery is at least once, framing exactly once.

Channels (``shopcast:<room>:...``): ``events`` carries ``(seq, audience, body)`` after
commit, in seq order from each writer; ``notices`` the session-bound notices; ``presence``
each hub's viewer count, refreshed every :data:`PRESENCE_REFRESH` seconds. A hub whose
count is older than ``presence_ttl`` is left out of the sum: it died or lost its link.

Leases (``shopcast:<room>:lease:<name>``) hold the id of the hub that holds them:
``SET NX PX`` takes a free one, a script extends it only for its holder, another deletes it
only for its holder when the hub stops. Redis forgets a lease nobody renews within its
ttl, which is how a killed hub's timers move to another (the rules: ``console.bus.lease``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec
import redis.asyncio as aioredis
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from console.bus import Notice, RoomEvent, Subscriber
from console.bus.lease import LEASE_TTL, LeaseRules
from console.errors import BusError
from console.redact import masked_in, masked_url

log = logging.getLogger(__name__)

#: Seconds between a hub's presence messages; also how soon a count change is sent.
PRESENCE_REFRESH = 1.0
#: A hub's count is dropped from the sum when not refreshed for this long.
PRESENCE_TTL = 3.0
#: Pause before a lost link to Redis is tried again.
RECONNECT_DELAY = 0.2
#: Longest wait for queued messages to leave when the hub stops.
CLOSE_GRACE = 2.0


def channels(room: str) -> tuple[bytes, bytes, bytes]:
    """The room's events, notices and presence channels."""
    base = f"shopcast:{room}:"
    return (base + "events").encode(), (base + "notices").encode(), (base + "presence").encode()


#: Extends the lease ``KEYS[1]`` by ``ARGV[2]`` ms only if ``ARGV[1]`` holds it.
RENEW_SCRIPT = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
#: Deletes the lease ``KEYS[1]`` only if ``ARGV[1]`` holds it.
RELEASE_SCRIPT = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""


def lease_key(room: str, name: str) -> str:
    return f"shopcast:{room}:lease:{name}"


def event_message(event: RoomEvent) -> bytes:
    """An event as it travels on the events channel."""
    return msgspec.msgpack.encode((event.seq, event.audience, event.body))


def notice_message(notice: Notice) -> bytes:
    return msgspec.msgpack.encode((notice.kind, notice.target, notice.body))


class RedisBus:
    """One hub's link to the room's channels on a Redis server."""

    def __init__(
        self,
        url: str,
        room: str = "main",
        *,
        hub_id: str | None = None,
        presence_ttl: float = PRESENCE_TTL,
        lease_ttl: float = LEASE_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``url`` is ``redis://host:port/db``; ``hub_id`` names this hub in presence
        (and in ``CLIENT LIST`` as ``shopcast-<hub_id>``) and in the leases it holds,
        random by default."""
        self.url = url
        self.room = room
        self.hub_id = hub_id or secrets.token_hex(6)
        self._lease_ttl = lease_ttl
        #: Each lease this hub competes for: its rules, its callback, what it was told.
        self._leases: dict[str, _Lease] = {}
        self._renew_script: AsyncScript | None = None
        self._release_script: AsyncScript | None = None
        self._events, self._notices, self._presence = channels(room)
        self._presence_ttl = presence_ttl
        self._clock = clock
        self._client: aioredis.Redis | None = None
        self._subscriber: Subscriber | None = None
        self._outbox: asyncio.Queue[tuple[bytes, bytes]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._subscribed = asyncio.Event()
        self._viewers = 0
        self._others: dict[str, tuple[int, float]] = {}
        self._announced_total = 0
        #: Times the link (re)subscribed to the events channel, each followed by a fill.
        self.resyncs = 0

    @property
    def client_name(self) -> str:
        return f"shopcast-{self.hub_id}"

    # ------------------------------------------------------------ the EventBus protocol

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscriber = subscriber

    def publish(self, event: RoomEvent) -> None:
        self._outbox.put_nowait((self._events, event_message(event)))

    def notify(self, notice: Notice) -> None:
        self._outbox.put_nowait((self._notices, notice_message(notice)))

    def set_viewers(self, count: int) -> None:
        if count != self._viewers:
            self._viewers = count
            self._outbox.put_nowait((self._presence, self._presence_message()))

    def viewers(self) -> int:
        now = self._clock()
        fresh = (n for n, seen in self._others.values() if now - seen < self._presence_ttl)
        return self._viewers + sum(fresh)

    async def hold_lease(self, name: str, on_change: Callable[[bool], None]) -> None:
        assert self._client is not None, "start the bus before holding a lease"
        lease = self._leases[name] = _Lease(
            lease_key(self.room, name), LeaseRules(self._lease_ttl), on_change
        )
        await self._attempt(lease)
        lease.task = asyncio.get_running_loop().create_task(
            self._keep(lease), name=f"bus-lease-{name}"
        )
        self._tasks.append(lease.task)

    def holds(self, name: str) -> bool:
        lease = self._leases.get(name)
        return lease is not None and lease.rules.holds(self._clock())

    async def start(self) -> None:
        """Connect and subscribe; a hub publishes only once it hears the room."""
        self._client = aioredis.from_url(self.url, client_name=self.client_name)
        try:
            await self._client.ping()
        except (RedisError, OSError) as exc:
            await self._client.aclose()
            self._client = None
            why = masked_in(str(exc), self.url)
            raise BusError(
                f"Cannot reach Redis at {masked_url(self.url)} ({why}); start redis-server or "
                "give --redis the address of a running one."
            ) from exc
        self._renew_script = self._client.register_script(RENEW_SCRIPT)
        self._release_script = self._client.register_script(RELEASE_SCRIPT)
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._read(), name="bus-read"),
            loop.create_task(self._write(), name="bus-write"),
            loop.create_task(self._refresh_presence(), name="bus-presence"),
        ]
        await self._subscribed.wait()

    async def close(self) -> None:
        """Send what is queued (within :data:`CLOSE_GRACE`), then leave."""
        if self._client is None:
            return
        for lease in self._leases.values():
            if lease.task is not None:
                lease.task.cancel()  # the room stopped its timers: take no lease now
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._outbox.join(), CLOSE_GRACE)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        for lease in self._leases.values():
            if lease.rules.holds(self._clock()):
                with contextlib.suppress(RedisError, OSError, TimeoutError):
                    await asyncio.wait_for(self._release(lease), CLOSE_GRACE)
            lease.rules.released()
        self._leases = {}
        await self._client.aclose()
        self._client = None
        self._subscriber = None

    # ------------------------------------------------------------ the link's tasks

    def _presence_message(self) -> bytes:
        return msgspec.msgpack.encode((self.hub_id, self._viewers))

    async def _write(self) -> None:
        """Publish in queue order; a message that fails is sent again once Redis is back
        (the hubs that missed it meanwhile fill from the log when they resubscribe)."""
        assert self._client is not None
        while True:
            channel, data = await self._outbox.get()
            while True:
                try:
                    await self._client.publish(channel, data)
                    break
                except (RedisError, OSError) as exc:
                    log.warning("publishing to Redis failed (%s); trying again", exc)
                    await asyncio.sleep(RECONNECT_DELAY)
            self._outbox.task_done()

    async def _read(self) -> None:
        assert self._client is not None
        while True:
            pubsub = self._client.pubsub()
            try:
                await pubsub.subscribe(self._events, self._notices, self._presence)
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None:
                        self._dispatch(message)
            except (RedisError, OSError) as exc:
                log.warning("the link to Redis broke (%s); subscribing again", exc)
                await asyncio.sleep(RECONNECT_DELAY)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()

    def _dispatch(self, message: dict[str, Any]) -> None:
        channel, kind, data = message["channel"], message["type"], message["data"]
        subscriber = self._subscriber
        if kind == "subscribe" and channel == self._events:
            # Subscribed (again, after a broken link): whatever was published meanwhile
            # is in the log; what is published from now on arrives here.
            self.resyncs += 1
            self._subscribed.set()
            if subscriber is not None:
                self._guarded(subscriber.on_resync)
            return
        if kind != "message" or subscriber is None:
            return
        if channel == self._events:
            seq, audience, body = msgspec.msgpack.decode(data)
            self._guarded(lambda: subscriber.on_event(RoomEvent(seq, body, audience)))
        elif channel == self._notices:
            what, target, body = msgspec.msgpack.decode(data)
            self._guarded(lambda: subscriber.on_notice(Notice(what, target, body)))
        elif channel == self._presence:
            hub, count = msgspec.msgpack.decode(data)
            if hub != self.hub_id:
                self._others[hub] = (count, self._clock())
                self._viewers_may_have_changed()

    async def _refresh_presence(self) -> None:
        """Say this hub's count every second, and notice hubs that stopped saying theirs."""
        while True:
            self._outbox.put_nowait((self._presence, self._presence_message()))
            await asyncio.sleep(PRESENCE_REFRESH)
            now = self._clock()
            for hub, (_, seen) in list(self._others.items()):
                if now - seen >= self._presence_ttl:
                    del self._others[hub]
            self._viewers_may_have_changed()

    def _viewers_may_have_changed(self) -> None:
        total = self.viewers()
        if total != self._announced_total and self._subscriber is not None:
            self._announced_total = total
            self._guarded(self._subscriber.on_viewers)

    async def _keep(self, lease: _Lease) -> None:
        """Renew (or try to take) the lease every interval; say when it is won or lost."""
        while True:
            await asyncio.sleep(lease.rules.wait(self._clock()))
            self._tell(lease)
            await self._attempt(lease)

    async def _attempt(self, lease: _Lease) -> None:
        """One request to Redis, given up after an interval (a loaded hub's answers come
        late; later than that, its margin may be over). A holder whose renewals go
        unanswered gives the lease up, in its own eyes, before Redis can forget it."""
        assert self._client is not None
        rules = lease.rules
        sent = self._clock()
        ask = self._take if rules.next_step(sent) == "take" else self._renew
        try:
            won = await asyncio.wait_for(ask(lease), rules.interval)
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("the lease %s could not be renewed or taken (%s)", lease.key, exc)
            rules.unanswered(self._clock())
        else:
            rules.answered(sent, won)
        self._tell(lease)

    async def _take(self, lease: _Lease) -> bool:
        """Take the free lease; one that names this hub already (a renewal that timed out
        but arrived) is renewed."""
        assert self._client is not None
        taken = await self._client.set(lease.key, self.hub_id, nx=True, px=lease.rules.ttl_ms)
        return bool(taken) or await self._renew(lease)

    async def _renew(self, lease: _Lease) -> bool:
        assert self._client is not None
        assert self._renew_script is not None
        return bool(
            await self._renew_script(keys=[lease.key], args=[self.hub_id, lease.rules.ttl_ms])
        )

    async def _release(self, lease: _Lease) -> None:
        assert self._client is not None
        assert self._release_script is not None
        await self._release_script(keys=[lease.key], args=[self.hub_id])

    def _tell(self, lease: _Lease) -> None:
        """Call the lease's callback when what this hub holds changed."""
        held = lease.rules.holds(self._clock())
        if held != lease.told:
            lease.told = held
            log.info("this hub %s the lease %s", "holds" if held else "gave up", lease.key)
            self._guarded(lambda: lease.on_change(held))

    @staticmethod
    def _guarded(call: Callable[[], None]) -> None:
        """A subscriber's failure is logged; the link goes on for the next message."""
        try:
            call()
        except Exception:
            log.exception("the hub failed to handle a bus message")


@dataclass(slots=True)
class _Lease:
    key: str
    rules: LeaseRules
    on_change: Callable[[bool], None]
    #: What ``on_change`` was last told: whether this hub holds the lease.
    told: bool = False
    #: The task that renews or takes it.
    task: asyncio.Task[None] | None = None
