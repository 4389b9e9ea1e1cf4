"""The waitlist's button and letting a claim go, through a real hub over real
WebSockets with a fake clock (issue 19, points 1 and 2)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from console.hub.payments import SandboxProvider
from console.hub.room import Limits
from console.hub.server import Hub
from console.store import Store
from tests.support.clients import RawClient
from tests.test_auction_hub import answer
from tests.test_claims_hub import TEE, FakeClock, Show, comment, show

__all__ = ["show"]  # the fixture


async def ask(client: RawClient, message: dict[str, Any]) -> dict[str, Any]:
    ref = "w-" + secrets.token_hex(4)
    await client.send({**message, "ref": ref})
    return await answer(client, ref)


async def test_the_button_puts_a_viewer_in_line_and_a_let_go_claim_goes_to_them(
    show: Show,
) -> None:
    await show.claims_on()
    ann, bob = await show.viewer("Ann"), await show.viewer("Bob")
    await comment(ann, "sold S")
    [card] = await ann.wait_for("claim_card")
    assert (await ask(bob, {"t": "join_waitlist", "sku": "TEE-S"}))["t"] == "ack"
    [place] = await bob.wait_for("claim_ask")
    assert place["place"] == 1
    [waiting] = await bob.wait_for("claim_wait")
    assert waiting["sku"] == "TEE-S"
    assert (await ask(bob, {"t": "join_waitlist", "sku": "TEE-S"}))["t"] == "ack"
    assert len(bob.of_type("claim_wait")) == 1, "pressing it again keeps the place"

    refused = await ask(bob, {"t": "release_claim", "claim_id": card["claim_id"]})
    assert refused["t"] == "error", "only its claimer lets a claim go"
    assert (await ask(ann, {"t": "release_claim", "claim_id": card["claim_id"]}))["t"] == "ack"
    [ended] = await ann.wait_for("claim_end", claim_id=card["claim_id"])
    assert ended["why"] == "released"
    [offer] = await bob.wait_for("claim_card")
    assert offer["offered"] is True and offer["sku"] == "TEE-S"
    assert show.stock("TEE-S") == 0, "the unit is held for Bob, not back on sale"


async def test_joining_a_line_with_units_free_holds_them_at_once(show: Show) -> None:
    await show.claims_on()
    ann = await show.viewer("Ann")
    assert (await ask(ann, {"t": "join_waitlist", "sku": "TEE-M"}))["t"] == "ack"
    [offer] = await ann.wait_for("claim_card")
    assert offer["sku"] == "TEE-M" and offer["offered"] is True
    assert ann.of_type("claim_ask") == [], "not in line: served"
    assert show.stock("TEE-M") == 4


async def test_the_waitlist_needs_claims_on_and_a_name(show: Show) -> None:
    ann = await show.viewer("Ann")
    refused = await ask(ann, {"t": "join_waitlist", "sku": "TEE-S"})
    assert (refused["t"], refused["code"]) == ("error", "invalid")
    assert "claims" in refused["message"]
    await show.claims_on()
    nameless = await RawClient.viewer(show.hub.local_ws_url, name=None)
    refused = await ask(nameless, {"t": "join_waitlist", "sku": "TEE-S"})
    assert refused["code"] == "name_required"


async def test_a_viewer_who_left_the_line_is_not_offered_the_unit_after_a_restart(
    data_dir: Path,
) -> None:
    store = Store.open(data_dir)
    store.replace_catalogue([TEE])
    clock = FakeClock()
    hub = Hub(store, tick=0.01, limits=Limits(), payments=SandboxProvider(), clock=clock)
    await hub.start("127.0.0.1", 0)
    host = await RawClient.staff(hub.local_ws_url, hub.issue_token("host", "Mia"))
    show = Show(hub, clock, data_dir, host)
    await show.claims_on()
    ann, bob, cid = await show.viewer("Ann"), await show.viewer("Bob"), await show.viewer("Cid")
    await comment(ann, "sold S")
    [card] = await ann.wait_for("claim_card")
    for viewer in (bob, cid):
        assert (await ask(viewer, {"t": "join_waitlist", "sku": "TEE-S"}))["t"] == "ack"
        await viewer.wait_for("claim_wait")
    [bobs_place] = bob.of_type("claim_wait")
    bob_id = bobs_place["viewer_id"]
    assert (await ask(bob, {"t": "leave_waitlist", "sku": "TEE-S"}))["t"] == "ack"
    [left] = await bob.wait_for("claim_wait_end")
    assert (left["viewer_id"], left["sku"]) == (bob_id, "TEE-S")
    await host.wait_for("claim_wait_end", viewer_id=bob_id)
    assert (await ask(bob, {"t": "leave_waitlist", "sku": "TEE-S"}))["t"] == "ack"
    assert len(bob.of_type("claim_wait_end")) == 1, "not in line any more: nothing to give up"
    for client in (ann, bob, cid, host):
        await client.close()
    await hub.stop()
    store.close()

    store = Store.open(data_dir)
    hub = Hub(store, tick=0.01, limits=Limits(), payments=SandboxProvider(), clock=clock)
    await hub.start("127.0.0.1", 0)
    try:
        host = await RawClient.staff(hub.local_ws_url, hub.issue_token("host", "Mia"))
        show = Show(hub, clock, data_dir, host)
        restated = [m["name"] for m in host.of_type("claim_wait") if m["seq"] == 0]
        assert restated == ["Cid"], "the line after the restart is without Bob"
        bob = await show.viewer("Bob", viewer_id=bob_id)
        assert [m for m in bob.of_type("claim_wait") if m["seq"] == 0] == []
        ann = await show.viewer("Ann", viewer_id=card["viewer_id"])
        assert (await ask(ann, {"t": "release_claim", "claim_id": card["claim_id"]}))["t"] == "ack"
        [offer] = await host.wait_for("claim_card", offered=True)
        assert offer["name"] == "Cid", "the unit that came back went to the one still in line"
        assert bob.of_type("claim_card") == []
        assert show.stock("TEE-S") == 0
        for client in (ann, bob, host):
            await client.close()
    finally:
        await hub.stop()
        store.close()
