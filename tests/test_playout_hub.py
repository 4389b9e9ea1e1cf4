"""The delay viewers see, through a real hub: pages report over the WebSocket, staff hear
the median and p95. The hub's clock is a fake the test moves; its once-a-second
housekeeping (which tells staff) runs in real time."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from console.domain.playout import STALE_AFTER
from console.hub.server import Hub
from console.store import Store
from tests.support.clients import RawClient
from tests.test_shop_hub import FakeClock


@dataclass
class Room:
    hub: Hub
    clock: FakeClock
    host: RawClient

    async def viewer(self) -> RawClient:
        return await RawClient.viewer(self.hub.local_ws_url, name=None)


@contextlib.asynccontextmanager
async def running_room(data_dir: Path) -> AsyncIterator[Room]:
    clock = FakeClock()
    store = Store.open(data_dir)
    hub = Hub(store, tick=0.01, clock=clock)
    await hub.start("127.0.0.1", 0)
    host = await RawClient.staff(hub.local_ws_url, hub.host_token())
    try:
        yield Room(hub, clock, host)
    finally:
        await host.close()
        await hub.stop()
        store.close()


@pytest.fixture
async def room(data_dir: Path) -> AsyncIterator[Room]:
    async with running_room(data_dir) as running:
        yield running


async def test_viewers_reports_reach_the_staff_as_the_median_and_the_p95(room: Room) -> None:
    viewers = [await room.viewer() for _ in range(3)]
    for viewer, delay in zip(viewers, (150, 240, 180), strict=True):
        await viewer.send({"t": "playout", "delay_ms": delay})
    [figure] = await room.host.wait_for("playout", viewers=3)
    assert (figure["median_ms"], figure["p95_ms"]) == (180, 240)
    late = await RawClient.staff(room.hub.local_ws_url, room.hub.host_token())
    assert late.of_type("playout") == [figure], "a console joining later hears it at once"
    for viewer in viewers:
        assert viewer.of_type("playout") == [], "only staff hear it"
        await viewer.close()
    await late.close()


async def test_an_absurd_report_gets_a_typed_error_and_the_room_goes_on(room: Room) -> None:
    ann = await room.viewer()
    await ann.send({"t": "playout", "delay_ms": 200})
    await room.host.wait_for("playout", viewers=1, median_ms=200)
    for ref, bad in (("huge", 1e9), ("negative", -5)):
        await ann.send({"t": "playout", "delay_ms": bad, "ref": ref})
        [error] = await ann.wait_for("error", ref=ref)
        assert error["code"] == "invalid", error
        assert "0 to 60000 ms" in error["message"]
    await ann.send({"t": "playout", "delay_ms": "fast"})
    await ann.wait_for("error", code="malformed")
    room.clock.advance(5)
    await ann.send({"t": "playout", "delay_ms": 220, "ref": "fine"})
    await ann.wait_for("ack", ref="fine")
    await room.host.wait_for("playout", viewers=1, median_ms=220)
    await ann.close()


async def test_a_report_right_after_the_last_is_ignored(room: Room) -> None:
    ann = await room.viewer()
    await ann.send({"t": "playout", "delay_ms": 200, "ref": "first"})
    await ann.wait_for("ack", ref="first")
    await ann.send({"t": "playout", "delay_ms": 900, "ref": "eager"})
    await ann.wait_for("ack", ref="eager")
    room.clock.advance(5)
    bob = await room.viewer()
    await bob.send({"t": "playout", "delay_ms": 100})
    [figure] = await room.host.wait_for("playout", viewers=2)
    assert (figure["median_ms"], figure["p95_ms"]) == (150, 200), "900 never counted"
    await ann.close()
    await bob.close()


async def test_a_viewer_who_leaves_or_goes_quiet_drops_out_of_the_figure(room: Room) -> None:
    ann, bob = await room.viewer(), await room.viewer()
    await ann.send({"t": "playout", "delay_ms": 300})
    await bob.send({"t": "playout", "delay_ms": 100})
    await room.host.wait_for("playout", viewers=2)
    await ann.close()
    [left] = await room.host.wait_for("playout", viewers=1)
    assert (left["median_ms"], left["p95_ms"]) == (100, 100)
    room.clock.advance(STALE_AFTER + 1)
    quiet = (await room.host.wait_for("playout", count=3))[-1]
    assert "viewers" not in quiet, f"nobody reports now: {quiet}"
    await bob.close()


async def test_a_staff_console_may_not_report(room: Room) -> None:
    await room.host.send({"t": "playout", "delay_ms": 100, "ref": "host"})
    [error] = await room.host.wait_for("error", ref="host")
    assert error["code"] == "forbidden"
