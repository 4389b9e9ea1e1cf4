"""Two hubs share one room over a real Redis (console.bus.redis).

The two hubs run in this process on one store, as two hub processes share one PostgreSQL
database; each has its own Redis connection, sessions, timers and queue, so what reaches
a viewer on one hub from the other went through Redis, or through the event log when
Redis lost it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from console.bus.redis import BusError, RedisBus
from console.hub.room import Limits
from console.hub.server import Hub
from console.store import Store
from tests.support.clients import RawClient
from tests.support.redis import redis_server

pytestmark = pytest.mark.timeout(60)

#: Viewers here post faster than a public show allows.
CHATTY = Limits(viewer_comments_per_s=100.0, viewer_comment_burst=100.0)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@dataclass
class Pair:
    a: Hub
    b: Hub
    bus_b: RedisBus
    host: RawClient
    token: str


@contextlib.asynccontextmanager
async def two_hubs(data_dir: Path, redis_url: str) -> AsyncIterator[Pair]:
    store = Store.open(data_dir)
    bus_a, bus_b = RedisBus(redis_url, hub="hub-a"), RedisBus(redis_url, hub="hub-b")
    a, b = (Hub(store, tick=0.01, limits=CHATTY, bus=bus) for bus in (bus_a, bus_b))
    await a.start("127.0.0.1", 0)
    await b.start("127.0.0.1", 0)
    token = a.issue_token("host", "Mia")
    host = await RawClient.staff(a.local_ws_url, token)
    try:
        yield Pair(a, b, bus_b, host, token)
    finally:
        await host.close()
        await b.stop()
        await a.stop()
        store.close()


async def _ask(client: RawClient, message: dict[str, Any]) -> dict[str, Any]:
    ref = f"ref-{len(client.messages)}-{id(message)}"
    await client.send({**message, "ref": ref})
    answers: list[dict[str, Any]] = []
    await _until(
        lambda: answers.extend(m for m in client.messages if m.get("ref") == ref) or answers
    )
    assert answers[0]["t"] != "error", answers[0]
    return answers[0]


async def _say(client: RawClient, text: str) -> None:
    await _ask(client, {"t": "comment", "text": text})


def _comments(client: RawClient) -> list[tuple[int, str]]:
    return [(m["seq"], m["text"]) for m in client.messages if m["t"] == "comment"]


async def _until(check: Any, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.02)


async def test_a_comment_on_one_hub_reaches_viewers_on_both_in_the_same_order(
    data_dir: Path, redis_url: str
) -> None:
    async with two_hubs(data_dir, redis_url) as pair:
        on_a = await RawClient.viewer(pair.a.local_ws_url, "Ann")
        on_b = await RawClient.viewer(pair.b.local_ws_url, "Bob")
        texts = [f"hello {n}" for n in range(20)]
        for n, text in enumerate(texts):
            # The host on A, and now and then a viewer on either hub (viewers' own
            # limits stop a viewer who posts every few milliseconds).
            await _say({5: on_b, 10: on_a, 15: on_b}.get(n, pair.host), text)
        await _until(lambda: len(_comments(on_a)) == 20 and len(_comments(on_b)) == 20)
        assert _comments(on_a) == _comments(on_b), "same seqs, same order, once each"
        assert [text for _, text in _comments(on_b)] == texts
        await on_a.close()
        await on_b.close()


async def test_the_viewer_count_is_the_sum_over_the_hubs(data_dir: Path, redis_url: str) -> None:
    async with two_hubs(data_dir, redis_url) as pair:
        on_a = await RawClient.viewer(pair.a.local_ws_url, "Ann")
        others = [await RawClient.viewer(pair.b.local_ws_url, name) for name in ("Bob", "Cy")]

        def counted(client: RawClient) -> int | None:
            counts = [m["count"] for m in client.messages if m["t"] == "viewers"]
            return counts[-1] if counts else None

        await _until(lambda: counted(pair.host) == 3 and counted(on_a) == 3)
        for client in others:
            await client.close()
        await _until(lambda: counted(pair.host) == 1)
        await on_a.close()


async def test_a_hub_that_lost_redis_catches_up_from_the_event_log(
    data_dir: Path, redis_url: str
) -> None:
    async with two_hubs(data_dir, redis_url) as pair:
        on_b = await RawClient.viewer(pair.b.local_ws_url, "Bob")
        await _say(pair.host, "before")
        await _until(lambda: len(_comments(on_b)) == 1)
        admin = aioredis.Redis.from_url(redis_url)
        killed = await admin.client_kill_filter(_type="pubsub", skipme=True)
        assert killed >= 2, "both hubs' subscriptions were cut"
        for n in range(5):
            await _say(pair.host, f"while away {n}")
        await _until(lambda: len(_comments(on_b)) == 6)
        await _say(pair.host, "after")
        await _until(lambda: len(_comments(on_b)) == 7)
        seqs = [seq for seq, _ in _comments(on_b)]
        assert seqs == sorted(set(seqs)), "nothing twice, nothing out of order"
        assert [text for _, text in _comments(on_b)][-1] == "after"
        await admin.aclose()
        await on_b.close()


async def test_revoking_on_one_hub_ends_the_console_on_the_other(
    data_dir: Path, redis_url: str
) -> None:
    async with two_hubs(data_dir, redis_url) as pair:
        invite = await _ask(pair.host, {"t": "invite", "name": "Sam", "role": "moderator"})
        sam = await RawClient.staff(pair.b.local_ws_url, invite["token"], "moderator")
        await _ask(pair.host, {"t": "revoke", "staff_id": invite["staff_id"]})
        await asyncio.wait_for(sam._reader, 5)
        assert any(m["t"] == "error" and m["code"] == "bad_token" for m in sam.messages)


async def test_a_hub_told_a_wrong_redis_says_so(data_dir: Path) -> None:
    store = Store.open(data_dir)
    hub = Hub(store, bus=RedisBus("redis://127.0.0.1:1/0"))
    with pytest.raises(BusError, match=r"Cannot reach Redis at redis://127\.0\.0\.1:1/0"):
        await hub.start("127.0.0.1", 0)
    store.close()
