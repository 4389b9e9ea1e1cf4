"""A hub ends the deal by the clock only while it holds the show's timers (the bus's lease),
and a hub that takes the lease ends an overdue deal at once, stamped with its real end.

One real hub on a SQLite file, real WebSocket clients; the lease is the test's to give or
take back (a LocalBus that does not grant it by itself), the hub's clock a fake one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from console.bus.local import LocalBus
from console.hub.server import Hub, seed_demo_catalogue
from console.store import Store
from tests.support.clients import RawClient
from tests.support.storedb import rows

START = 1_790_000_000.0
DEAL_SECONDS = 5  # the shortest deal: its timer would fire within the test


class FakeClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


class LeaseByHand(LocalBus):
    """The one process's bus, whose timers' lease the test gives and takes back."""

    def __init__(self) -> None:
        super().__init__()
        self.tell: Callable[[bool], None] | None = None
        self.held = False

    async def hold_lease(self, name: str, on_change: Callable[[bool], None]) -> None:
        self.tell = on_change

    def holds(self, name: str) -> bool:
        return self.held

    def grant(self, held: bool) -> None:
        assert self.tell is not None, "the hub competes for the lease when it starts"
        self.held = held
        self.tell(held)


async def ok(client: RawClient, message: dict[str, Any]) -> None:
    ref = f"ref-{len(client.messages)}"
    await client.send({**message, "ref": ref})
    async with asyncio.timeout(5):
        while not (answers := [m for m in client.messages if m.get("ref") == ref]):
            await asyncio.sleep(0.01)
    assert answers[0]["t"] != "error", answers[0]


def deal_ends(hub: Hub) -> list[tuple[float, bytes]]:
    return rows(hub.store, "SELECT ts, body FROM events WHERE type = 'deal_end'")


@asynccontextmanager
async def hub_without_the_lease(
    data_dir: Path, clock: FakeClock
) -> AsyncIterator[tuple[Hub, LeaseByHand, RawClient]]:
    """A hub that competes for the timers' lease and has not got it; its host, with the
    demo shirt pinned."""
    store = Store.open(data_dir)
    seed_demo_catalogue(store)
    bus = LeaseByHand()
    hub = Hub(store, clock=clock, bus=bus)
    await hub.start("127.0.0.1", 0)
    host = await RawClient.staff(hub.local_ws_url, hub.host_token())
    try:
        await ok(host, {"t": "pin", "product": "linen-shirt"})
        yield hub, bus, host
    finally:
        await host.close()
        await hub.stop()
        store.close()


async def past_the_deal(clock: FakeClock) -> None:
    """The hub's clock past the deal's end, and the real time its timer would take."""
    clock.now = START + DEAL_SECONDS + 1
    await asyncio.sleep(DEAL_SECONDS + 1.5)


async def test_a_deal_started_on_a_hub_without_the_lease_ends_when_one_takes_it(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    async with hub_without_the_lease(tmp_path, clock) as (hub, bus, host):
        await ok(host, {"t": "start_deal", "price": 999, "seconds": DEAL_SECONDS})
        await past_the_deal(clock)
        assert host.of_type("deal_end") == [], "a hub without the lease ends no deal"
        assert deal_ends(hub) == []

        bus.grant(True)  # the holder died; this hub takes the lease over
        [ended] = await host.wait_for("deal_end", timeout=5)
        assert ended["reason"] == "time"
        [(ts, _)] = deal_ends(hub)
        assert ts == START + DEAL_SECONDS, "stamped at the deal's end, not at the takeover"


async def test_a_hub_that_loses_the_lease_stops_timing_its_deal(tmp_path: Path) -> None:
    clock = FakeClock()
    async with hub_without_the_lease(tmp_path, clock) as (hub, bus, host):
        bus.grant(True)
        await ok(host, {"t": "start_deal", "price": 999, "seconds": DEAL_SECONDS})
        bus.grant(False)  # another hub holds the timers now
        await past_the_deal(clock)
        assert host.of_type("deal_end") == [] and deal_ends(hub) == []
        bus.grant(True)
        [ended] = await host.wait_for("deal_end", timeout=5)
        assert ended["reason"] == "time" and len(deal_ends(hub)) == 1
