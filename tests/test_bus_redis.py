"""Hubs share a room's events over a real Redis: same seqs in the same order for every
hub, gaps filled from the event log, duplicates dropped, notices and presence shared."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from console import protocol
from console.bus import Notice, RoomEvent
from console.bus.redis import RedisBus, channels, event_message
from console.hub.fanout import Coalescer, Feed, events_from_log
from console.store import Store
from tests.support.redis import redis_url

__all__ = ["redis_url"]  # the session's redis-server, a fixture

WAIT = 10.0


class Listener:
    """A hub's subscriber without the sockets: the Feed and Coalescer the room uses."""

    def __init__(self, store: Store) -> None:
        self.coalescer = Coalescer(store.last_seq)
        self.feed = Feed(
            self.coalescer,
            lambda after, limit: events_from_log(store.events_after, after, limit),
            lambda: None,
        )
        self.seqs: list[int] = []
        self.notices: list[Notice] = []

    def on_event(self, event: RoomEvent) -> None:
        self.feed.event(event)
        self._drain()

    def on_resync(self) -> None:
        self.feed.fill()
        self._drain()

    def on_notice(self, notice: Notice) -> None:
        self.notices.append(notice)

    def on_viewers(self) -> None:
        """The tests read the sum from the bus itself."""

    def _drain(self) -> None:
        frames = self.coalescer.flush()
        if frames is not None:
            self.seqs.extend(m["seq"] for m in json.loads(frames.staff))


async def until(condition: Callable[[], bool], what: str) -> None:
    """Wait for ``condition``; fail naming ``what`` if it never holds."""
    async with asyncio.timeout(WAIT):
        while not condition():
            await asyncio.sleep(0.01)
    assert condition(), what


@pytest.fixture
def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = Store.open(tmp_path / "data")
    yield store
    store.close()


@pytest.fixture
async def room(redis_url: str, store: Store, request: pytest.FixtureRequest):
    """Two hubs' buses on one room of the session's Redis, each with its listener."""
    name = request.node.name
    buses = [RedisBus(redis_url, name, hub_id=f"hub-{n}", presence_ttl=1.5) for n in "ab"]
    listeners = [Listener(store) for _ in buses]
    for bus, listener in zip(buses, listeners, strict=True):
        bus.subscribe(listener)
        await bus.start()
    try:
        yield buses, listeners
    finally:
        for bus in buses:
            await bus.close()


def comment(store: Store, text: str) -> RoomEvent:
    event, body = store.append_comment("viewer-aa", "Ann", "viewer", text, 1.0)
    return RoomEvent(event.seq, body)


async def test_two_hubs_frame_the_same_events_in_the_same_order(store: Store, room) -> None:
    (a, b), (on_a, on_b) = room
    published = []
    for n in range(50):
        event = comment(store, f"hello {n}")
        (a if n % 3 else b).publish(event)  # two writers, each after its commit
        published.append(event.seq)
    await until(lambda: on_a.seqs == published and on_b.seqs == published, "all 50 on both")
    assert on_a.seqs == on_b.seqs == list(range(1, 51))


async def test_a_skipped_seq_is_filled_from_the_log(store: Store, room) -> None:
    (a, _), (_, on_b) = room
    first, lost, third = (comment(store, t) for t in ("one", "two", "three"))
    a.publish(first)
    a.publish(third)  # the publish of "two" never happened (its hub died after commit)
    await until(lambda: len(on_b.seqs) == 3, "three events on hub B")
    assert on_b.seqs == [first.seq, lost.seq, third.seq]


async def test_an_event_delivered_twice_is_framed_once(store: Store, room) -> None:
    (a, b), (on_a, on_b) = room
    event = comment(store, "once")
    a.publish(event)
    b.publish(event)
    a.publish(event)
    after = comment(store, "after")
    a.publish(after)
    await until(lambda: after.seq in on_a.seqs and after.seq in on_b.seqs, "the next event")
    assert on_a.seqs == on_b.seqs == [event.seq, after.seq]


async def test_a_hub_that_lost_its_link_fills_what_it_missed(
    redis_url: str, store: Store, room, request: pytest.FixtureRequest
) -> None:
    (_, b), (on_a, on_b) = room
    events = [comment(store, f"missed {n}") for n in range(5)]
    admin = aioredis.from_url(redis_url)
    try:
        subscribed = [
            c["id"] for c in await admin.client_list(_type="pubsub") if c["name"] == b.client_name
        ]
        assert subscribed, "hub B's subscription is in CLIENT LIST"
        resyncs = b.resyncs
        # In one transaction: hub B's link is cut, then the events go out without it.
        async with admin.pipeline(transaction=True) as tx:
            for client_id in subscribed:
                tx.client_kill_filter(_id=client_id)
            for event in events:
                tx.publish(channels(request.node.name)[0], event_message(event))
            await tx.execute()
    finally:
        await admin.aclose()
    expected = [e.seq for e in events]
    await until(lambda: on_b.seqs == expected, "hub B filled the 5 events from the log")
    await until(lambda: on_a.seqs == expected, "hub A got them live")
    assert b.resyncs > resyncs, "hub B subscribed again"


async def test_a_notice_reaches_the_hub_that_holds_the_session(store: Store, room) -> None:
    (a, _), (_, on_b) = room
    standing = protocol.encode(protocol.Standing(banned=True, muted_until=None, reason="spam"))
    a.notify(Notice("tell_viewer", "viewer-bb", standing))
    await until(lambda: bool(on_b.notices), "the notice on hub B")
    assert on_b.notices == [Notice("tell_viewer", "viewer-bb", standing)]


async def test_the_viewer_count_is_the_sum_of_live_hubs(room) -> None:
    (a, b), _ = room
    a.set_viewers(3)
    b.set_viewers(4)
    await until(lambda: a.viewers() == 7 and b.viewers() == 7, "7 on both hubs")
    await a.close()  # a hub that stops saying its count drops out of the sum
    await until(lambda: b.viewers() == 4, "hub A's 3 viewers dropped out")
