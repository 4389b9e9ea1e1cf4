"""The show's timers in a cluster: three hubs on one PostgreSQL store and one Redis bus, the
deal's end run by the one hub holding the timers' lease, and by another when it dies
(docs/cluster.md). Real processes and servers throughout."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from console.bus.lease import LEASE_TTL
from tests.support.browser import HubProcess, start_hub
from tests.support.clients import RawClient
from tests.support.postgres import Postgres
from tests.support.redis import redis_url

__all__ = ["redis_url"]  # the session's redis-server, a fixture

pytestmark = pytest.mark.timeout(150)

#: What a hub logs when it takes the timers' lease.
RUNS_TIMERS = "this hub runs the show's timers"
#: Extra seconds allowed on a shared, noisy machine (a bound, not a measurement).
SLACK = 10.0


class Cluster:
    """Three hubs started one after the other (the first takes the timers' lease)."""

    def __init__(self, folder: Path, options: tuple[str, ...], database: str) -> None:
        self.folder = folder
        self.options = options
        self.database = database
        self.hubs: list[HubProcess] = []

    def start(self) -> HubProcess:
        # One data folder: the show's one host token file (each hub its own port).
        hub = start_hub(self.folder, extra=self.options)
        self.hubs.append(hub)
        return hub

    def deal_ends(self) -> list[tuple[float, str]]:
        """The stored ``deal_end`` events: their time and their body."""
        with psycopg.connect(self.database) as db:
            rows = db.execute(
                "SELECT ts, body FROM events WHERE type = 'deal_end' ORDER BY seq"
            ).fetchall()
        return [(ts, bytes(body).decode()) for ts, body in rows]


@pytest.fixture
def cluster(redis_url: str, postgres: Postgres, tmp_path: Path) -> Iterator[Cluster]:
    database = postgres.fresh_database()
    shared = ("--database", database, "--redis", redis_url)
    cluster = Cluster(tmp_path / "hubs", shared, database)
    try:
        for _ in range(3):
            cluster.start()
        yield cluster
    finally:
        for hub in cluster.hubs:
            if hub.process.poll() is None:
                hub.stop()


def runs_timers(hub: HubProcess) -> bool:
    return RUNS_TIMERS in hub.logs()


async def ok(client: RawClient, message: dict[str, Any]) -> dict[str, Any]:
    """Send a command with a ref of its own; its answer, which must not be an error."""
    ref = f"cmd-{len(client.messages)}-{time.monotonic_ns()}"
    await client.send({**message, "ref": ref})
    async with asyncio.timeout(10):
        while not (answers := [m for m in client.messages if m.get("ref") == ref]):
            await asyncio.sleep(0.02)
    assert answers[0]["t"] != "error", answers[0]
    return answers[0]


async def until(check: Callable[[], bool], timeout: float, what: str) -> float:
    """Wait for ``check``; the wall-clock time it first held (the hubs' clock)."""
    try:
        async with asyncio.timeout(timeout):
            while not check():
                await asyncio.sleep(0.02)
    except TimeoutError:
        pytest.fail(f"not within {timeout:.0f} s: {what}")
    return time.time()


async def start_deal(host: RawClient, watcher: RawClient, seconds: float) -> float:
    """Pin the demo shirt and start a deal on it; when it ends by the hubs' clock."""
    await ok(host, {"t": "pin", "product": "linen-shirt"})
    await ok(host, {"t": "start_deal", "price": 999, "seconds": seconds})
    await until(
        lambda: any(m["t"] == "show" and "deal" in m for m in watcher.messages),
        10,
        "the deal reaches a viewer on another hub",
    )
    show = next(m for m in watcher.messages if m["t"] == "show" and "deal" in m)
    return float(show["deal"]["ends"])


async def test_the_deal_of_a_killed_holder_ends_once_on_time_from_another_hub(
    cluster: Cluster,
) -> None:
    a, b, c = cluster.hubs
    assert runs_timers(a) and not runs_timers(b) and not runs_timers(c), "the first holds"
    host = await RawClient.staff(a.ws_url, a.token)
    viewers = [await RawClient.viewer(hub.ws_url, name) for hub, name in ((b, "Bo"), (c, "Cy"))]
    try:
        ends = await start_deal(host, viewers[0], seconds=10)
        a.process.send_signal(signal.SIGKILL)
        a.process.wait(10)
        arrived = await until(
            lambda: all(v.of_type("deal_end") for v in viewers),
            ends - time.time() + LEASE_TTL + SLACK,
            "the deal ends on the hubs that live",
        )
        assert arrived >= ends, "the deal did not end before its time"
        assert runs_timers(b) != runs_timers(c), "one of the others took the timers over"
        await asyncio.sleep(LEASE_TTL / 2)  # time for a second end, were there one
        for viewer in viewers:
            assert len(viewer.of_type("deal_end")) == 1, viewer.of_type("deal_end")
            assert viewer.of_type("deal_end")[0]["reason"] == "time"
            shows = viewer.of_type("show")
            assert "deal" not in shows[-1], "the show without the deal follows"
            assert shows[-1]["pinned"]["id"] == "linen-shirt", "the pin stays"
        stored = cluster.deal_ends()
        assert len(stored) == 1, stored
        assert stored[0][0] >= ends, "the end is stamped no earlier than the deal's end"
    finally:
        for client in (host, *viewers):
            await client.close()


async def test_with_every_hub_alive_only_the_holder_ends_the_deal(cluster: Cluster) -> None:
    a, b, c = cluster.hubs
    host = await RawClient.staff(a.ws_url, a.token)
    bo = await RawClient.viewer(b.ws_url, "Bo")
    try:
        ends = await start_deal(host, bo, seconds=8)
        # A hub that starts while the deal runs reads it from the store, as the others
        # would after a restart: it must not end the deal too.
        c.stop()
        late = cluster.start()
        cy = await RawClient.viewer(late.ws_url, "Cy")
        arrived = await until(
            lambda: bool(bo.of_type("deal_end") and cy.of_type("deal_end")),
            ends - time.time() + SLACK,
            "the deal ends",
        )
        assert arrived >= ends
        await asyncio.sleep(LEASE_TTL / 2)
        for viewer in (bo, cy):
            assert len(viewer.of_type("deal_end")) == 1, viewer.of_type("deal_end")
        stored = cluster.deal_ends()
        assert len(stored) == 1, f"one end, not one per hub that knew the deal: {stored}"
        assert stored[0][0] >= ends
        assert runs_timers(a) and not runs_timers(b) and not runs_timers(late)
        await cy.close()
    finally:
        for client in (host, bo):
            await client.close()


async def test_an_auction_run_through_another_hub_closes_once_on_time_with_the_top_bid(
    cluster: Cluster,
) -> None:
    a, b, c = cluster.hubs
    assert runs_timers(a), "the first holds the timers; the host works through B"
    host = await RawClient.staff(b.ws_url, b.token)
    bo = await RawClient.viewer(b.ws_url, "Bo")
    cy = await RawClient.viewer(c.ws_url, "Cy")
    try:
        await ok(host, {"t": "pin", "product": "linen-shirt"})
        await ok(
            host,
            {"t": "start_auction", "start_price": 1000, "increment": 100, "seconds": 6},
        )
        await until(lambda: bool(cy.of_type("auction")), 10, "the auction reaches hub C")
        opened = cy.of_type("auction")[-1]
        await ok(cy, {"t": "bid", "auction_id": opened["auction_id"], "maximum": 1500})
        await ok(bo, {"t": "bid", "auction_id": opened["auction_id"], "maximum": 1300})
        closes = lambda v: [m for m in v.of_type("auction") if m["why"] == "close"]  # noqa: E731
        arrived = await until(
            lambda: bool(closes(bo) and closes(cy)),
            opened["ends"] - time.time() + SLACK,
            "the auction closes for viewers on both hubs",
        )
        assert arrived >= opened["ends"]
        await asyncio.sleep(LEASE_TTL / 2)  # time for a second close, were there one
        for viewer in (bo, cy):
            [closed] = closes(viewer)
            assert (closed["winner"], closed["price"]) == ("Cy", 1400), closed
    finally:
        for client in (host, bo, cy):
            await client.close()
