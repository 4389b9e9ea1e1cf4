"""Giveaways through a real hub: the commitment first, entries by button and keyword, a
draw anyone can check. The hub runs on 127.0.0.1 over a real SQLite file and viewers
talk to it over real WebSockets; its clock is a fake the test moves.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from console.domain.giveaway import winner_of
from console.hub.payments import SandboxProvider
from console.hub.room import Limits
from console.hub.server import Hub
from console.store import Store
from tests.support.clients import RawClient
from tests.test_auction_hub import answer
from tests.test_claims_hub import REPO, START, TEE, FakeClock, Show, comment


@pytest.fixture
async def show(data_dir: Path) -> AsyncIterator[Show]:
    store = Store.open(data_dir)
    store.replace_catalogue([TEE])
    clock = FakeClock()
    hub = Hub(store, tick=0.01, limits=Limits(), payments=SandboxProvider(), clock=clock)
    await hub.start("127.0.0.1", 0)
    host = await RawClient.staff(hub.local_ws_url, hub.issue_token("host", "Mia"))
    try:
        yield Show(hub, clock, data_dir, host)
    finally:
        await host.close()
        await hub.stop()
        store.close()


async def enter(client: RawClient, giveaway_id: str) -> dict:
    ref = f"e-{len(client.messages)}"
    await client.send({"t": "enter_giveaway", "giveaway_id": giveaway_id, "ref": ref})
    return await answer(client, ref)


async def test_the_draw_reveals_the_committed_seed_and_its_winner_follows(show: Show) -> None:
    await show.ok({"t": "start_giveaway", "prize": "Logo Tee", "seconds": 60, "keyword": "win"})
    ann, bob, cid = [await show.viewer(n) for n in ("Ann", "Bob", "Cid")]
    opened = (await ann.wait_for("giveaway", why="start"))[-1]
    assert (opened["no_purchase_necessary"], opened["ends"]) == (True, START + 60)
    assert "seed" not in opened, "the seed stays secret until the draw"
    assert (await enter(ann, opened["giveaway_id"]))["t"] == "ack"
    assert (await enter(ann, opened["giveaway_id"]))["t"] == "ack", "twice is one entry"
    await comment(bob, "WIN please!")
    await comment(cid, "nice shirt")
    await bob.wait_for("giveaway_entry")
    assert ann.of_type("giveaway_entry") and not cid.of_type("giveaway_entry")
    await show.host.send({"t": "draw_giveaway", "ref": "d1"})
    assert (await answer(show.host, "d1"))["code"] == "invalid"
    show.clock.now = START + 60
    await show.ok({"t": "draw_giveaway"})
    [drawn] = await cid.wait_for("giveaway", why="draw")
    seed = bytes.fromhex(drawn["seed"])
    assert hashlib.sha256(seed).hexdigest() == opened["commitment"]
    ids = {c.of_type("welcome")[0]["viewer_id"] for c in (ann, bob)}
    assert sorted(drawn["entries"]) == drawn["entries"] and set(drawn["entries"]) == ids
    assert drawn["winner_id"] == winner_of(seed, drawn["entries"])
    assert drawn["winner"] in ("Ann", "Bob")


async def test_a_buyers_giveaway_says_a_purchase_is_needed_and_refuses_others(show: Show) -> None:
    await show.ok({"t": "start_giveaway", "prize": "Tee", "seconds": 60, "eligibility": "bought"})
    ann = await show.viewer("Ann")
    opened = (await ann.wait_for("giveaway", why="start"))[-1]
    assert opened["no_purchase_necessary"] is False
    refused = await enter(ann, opened["giveaway_id"])
    assert refused["message"] == "This giveaway is for viewers who bought during this show."


async def test_a_banned_viewer_cannot_enter(show: Show) -> None:
    await show.ok({"t": "start_giveaway", "prize": "Tee", "seconds": 60})
    ann = await show.viewer("Ann")
    opened = (await ann.wait_for("giveaway", why="start"))[-1]
    await show.ok({"t": "ban", "viewer_id": ann.of_type("welcome")[0]["viewer_id"]})
    refused = await enter(ann, opened["giveaway_id"])
    assert refused["message"] == "You cannot enter giveaways in this room."


async def test_a_reloaded_page_finds_the_giveaway_and_its_own_entry(show: Show) -> None:
    await show.ok({"t": "start_giveaway", "prize": "Tee", "seconds": 60})
    ann = await show.viewer("Ann")
    opened = (await ann.wait_for("giveaway", why="start"))[-1]
    await enter(ann, opened["giveaway_id"])
    again = await show.viewer("Ann", viewer_id=ann.of_type("welcome")[0]["viewer_id"])
    [state] = [m for m in again.of_type("giveaway") if m["seq"] == 0]
    assert (state["giveaway_id"], state["entrants"]) == (opened["giveaway_id"], 1)
    assert [m["giveaway_id"] for m in again.of_type("giveaway_entry") if m["seq"] == 0] == [
        opened["giveaway_id"]
    ]


async def test_ctl_opens_draws_and_cancels_giveaways(show: Show) -> None:
    async def ctl(*args: str) -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "console",
            "ctl",
            "--hub",
            show.hub.local_ws_url,
            "--token",
            show.hub.issue_token("host", "Mia"),
            *args,
            cwd=REPO,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode is not None
        return proc.returncode, out.decode().strip(), err.decode().strip()

    assert await ctl("giveaway", "start", "Tee", "--seconds", "30", "--keyword", "win") == (
        0,
        "Giveaway open for 30 s: Tee.",
        "",
    )
    [opened] = await show.host.wait_for("giveaway", why="start")
    assert (opened["keyword"], opened["ends"]) == ("win", START + 30)
    show.clock.now = START + 30
    code, out, _ = await ctl("giveaway", "draw")
    assert code == 0 and out.startswith("Drawn")
    [drawn] = await show.host.wait_for("giveaway", why="draw")
    assert "winner_id" not in drawn and drawn.get("entries", []) == [] and drawn["seed"]
    await ctl("giveaway", "start", "Cap")
    assert await ctl("giveaway", "cancel") == (0, "Giveaway cancelled.", "")
    await show.host.wait_for("giveaway", why="cancel")


async def test_the_draw_and_a_cancel_land_in_the_mod_log(show: Show) -> None:
    await show.ok({"t": "start_giveaway", "prize": "Logo Tee", "seconds": 60})
    ann = await show.viewer("Ann")
    opened = (await ann.wait_for("giveaway", why="start"))[-1]
    await enter(ann, opened["giveaway_id"])
    show.clock.now = START + 60
    await show.ok({"t": "draw_giveaway"})
    [drawn] = await ann.wait_for("giveaway", why="draw")
    [line] = await show.host.wait_for("mod", action="giveaway")
    assert (line["actor"], line["actor_role"]) == ("Mia", "host")
    assert (line["viewer_id"], line["name"]) == (drawn["winner_id"], "Ann")
    assert "Ann won among 1 entrant(s)" in line["text"] and drawn["seed"] in line["text"]
    assert not ann.of_type("mod"), "the mod log is for staff"
    await show.ok({"t": "start_giveaway", "prize": "Cap", "seconds": 60})
    await show.ok({"t": "cancel_giveaway"})
    lines = await show.host.wait_for("mod", action="giveaway", count=2)
    assert "Cap" in lines[1]["text"] and "cancelled" in lines[1]["text"]
    stored = show.hub.store.team.mod_log(10, action="giveaway")
    assert [e.text for e in reversed(stored)] == [m["text"] for m in lines]
