"""What the room's events say to the consoles and pages, through a real hub.

A ban empties the viewer's held comments from the queue; pinning another product
neither ends a running deal unasked nor leaves the old product's review on the video;
a viewer's deletion re-signs what open consoles and pages already show.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.clients import RawClient
from tests.test_team_hub import Team, comment, ok, running_team


@pytest.fixture
async def team(data_dir: Path) -> AsyncIterator[Team]:
    async with running_team(data_dir) as running:
        yield running


async def test_banning_a_viewer_takes_their_held_comments_out_of_the_queue(team: Team) -> None:
    await ok(team.host, {"t": "set_terms", "terms": [{"pattern": "scam", "action": "hold"}]})
    ann = await RawClient.viewer(team.url, "Ann", viewer_id="ann-viewer-21")
    bob = await RawClient.viewer(team.url, "Bob", viewer_id="bob-viewer-21")
    mod = await team.staff("moderator", "Sam")
    for text in ("is this a scam?", "total scam"):
        assert (await comment(ann, text))["held"] is True
    assert (await comment(bob, "a scam, surely"))["held"] is True
    held = await mod.wait_for("held", count=3)
    anns = [h["held_id"] for h in held if h["viewer_id"] == "ann-viewer-21"]

    await ok(mod, {"t": "ban", "viewer_id": "ann-viewer-21", "reason": "spam"})
    resolved = await mod.wait_for("held_resolved", count=2)
    assert sorted(r["held_id"] for r in resolved) == sorted(anns)
    assert not any(r["approved"] for r in resolved)
    await ann.wait_for("held_resolved", count=2)
    [entry, _] = await mod.wait_for("mod", action="deny", count=2)
    assert entry["reason"] == "The author was banned."
    waiting = team.query("SELECT viewer_id FROM held WHERE status = 'held'")
    assert waiting == [("bob-viewer-21",)], "Bob's comment still waits for a moderator"

    later = await team.staff("moderator", "Kim")
    assert [h["viewer_id"] for h in later.of_type("held") if h["seq"] == 0] == ["bob-viewer-21"]
    await asyncio.gather(ann.close(), bob.close(), mod.close(), later.close())
