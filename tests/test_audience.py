"""The audience's size kept for the report (issue 18): which counts the rule keeps, and a
real hub that keeps them, so a show's report and the Shows window give its true peak and
count viewers who never chose "Remember me"."""

from __future__ import annotations

import asyncio
from pathlib import Path

from console.domain.insight.audience import SAMPLE_SECONDS, AudienceSampler
from console.hub.payments import SandboxProvider
from console.hub.room import Limits
from console.hub.server import Hub
from console.report.shows import read_shows
from console.store import Store
from tests.support.clients import RawClient
from tests.support.storedb import rows
from tests.test_claims_hub import START, TEE, FakeClock


def test_a_new_peak_is_kept_at_once_and_other_changes_once_per_period() -> None:
    sampler = AudienceSampler()
    kept = [
        sampler.offer(3, 0.0),  # the first count
        sampler.offer(5, 1.0),  # a new peak
        sampler.offer(4, 2.0),  # too soon, held
        sampler.offer(4, 3.0),  # the same, still held
        sampler.due(5.0),  # not yet
        sampler.due(1.0 + SAMPLE_SECONDS),  # its time
        sampler.offer(4, 12.0),  # no change
        sampler.offer(2, 15.0),  # held ...
        sampler.offer(4, 16.0),  # ... and back where it was kept: nothing to keep
        sampler.due(40.0),
    ]
    assert kept == [3, 5, None, None, None, 4, None, None, None, None]


async def test_the_hub_keeps_the_rooms_count_and_the_report_gives_its_peak(
    data_dir: Path,
) -> None:
    store = Store.open(data_dir)
    store.replace_catalogue([TEE])
    clock = FakeClock()
    hub = Hub(store, tick=0.01, limits=Limits(), payments=SandboxProvider(), clock=clock)
    await hub.start("127.0.0.1", 0)
    try:
        hub.set_live(True)
        viewers = [await RawClient.viewer(hub.local_ws_url, name) for name in "ABC"]
        await _until(lambda: _kept(store)[-1:] == [3])
        for viewer in viewers[1:]:
            await viewer.close()
        clock.now = START + SAMPLE_SECONDS + 1  # the drop is kept at the next housekeeping
        await _until(lambda: _kept(store)[-1:] == [1])
        hub.set_live(False)
    finally:
        await hub.stop()
        store.close()
    assert max(_kept_after(data_dir)) == 3
    [show] = read_shows(data_dir)
    assert show.peak_viewers == 3, "none of them chose Remember me, all are counted"


def _kept(store: Store) -> list[int]:
    return [v for (v,) in rows(store, "SELECT viewers FROM viewer_counts ORDER BY ts, rowid")]


def _kept_after(data_dir: Path) -> list[int]:
    store = Store.open(data_dir)
    try:
        return _kept(store)
    finally:
        store.close()


async def _until(check, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.05)
