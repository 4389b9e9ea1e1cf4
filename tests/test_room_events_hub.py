"""What the room's events say to the consoles and pages, through a real hub.

A ban empties the viewer's held comments from the queue; pinning another product
neither ends a running deal unasked nor leaves the old product's review on the video;
a viewer's deletion re-signs what open consoles and pages already show.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.clients import RawClient
from tests.test_shop_hub import BUYER, pinned_show, wait_until
from tests.test_team_hub import Team, ask, comment, ok, running_team


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


# ---------------------------------------------------------------- pinning during a deal


def last_show(client: RawClient) -> dict[str, Any]:
    return client.of_type("show")[-1]


async def test_pinning_another_product_keeps_a_running_deal_until_the_host_confirms(
    team: Team,
) -> None:
    await ok(team.host, {"t": "pin", "product": "TEE-M"})
    await ok(team.host, {"t": "start_deal", "price": 999, "seconds": 95})
    ann = await RawClient.viewer(team.url, "Ann", viewer_id="ann-viewer-22")
    team.clock.advance(10)

    refused = await ask(team.host, {"t": "pin", "product": "JKT-M"})
    assert refused["code"] == "deal_running"
    assert refused["message"].startswith("A flash deal on Logo Tee is running (1:25 left)")
    await asyncio.sleep(0.05)
    assert not ann.of_type("deal_end")
    show = json.loads(team.hub.room.shop.snapshot())
    assert show["pinned"]["id"] == "logo-tee" and show["deal"]["price"] == 999

    await ok(team.host, {"t": "pin", "product": "JKT-M", "end_deal": True})
    [ended] = await ann.wait_for("deal_end")
    assert (ended["product_id"], ended["reason"]) == ("logo-tee", "host")
    shown = await wait_until(ann, pinned_show("denim-jacket"))
    assert "deal" not in shown
    # Back on the tee, and no deal runs now: a pin needs no confirmation.
    await ok(team.host, {"t": "pin", "product": "TEE-L"})
    await ann.close()


async def test_a_featured_review_leaves_the_video_when_another_product_is_pinned(
    team: Team,
) -> None:
    await ok(team.host, {"t": "pin", "product": "TEE-M"})
    await ok(team.host, {"t": "feature", "review_id": "r-tee-1"})
    ann = await RawClient.viewer(team.url, "Ann", viewer_id="ann-viewer-23")
    assert last_show(ann)["featured"]["text"] == "Soft, and true to size."

    await ok(team.host, {"t": "pin", "product": "JKT-M"})
    shown = await wait_until(ann, pinned_show("denim-jacket"))
    assert "featured" not in shown, "the tee's review is not shown over the jacket"
    assert "featured" not in json.loads(team.hub.room.shop.snapshot())

    # A comment is about the show, not a product: it stays through a pin change.
    said = await comment(ann, "Love the colours")
    await ok(team.host, {"t": "feature", "comment_seq": said["seq"]})
    await ok(team.host, {"t": "pin", "product": "BAG-1"})
    shown = await wait_until(ann, pinned_show("canvas-bag"))
    assert shown["featured"]["text"] == "Love the colours"
    await ok(team.host, {"t": "unpin"})
    await ann.close()


# ---------------------------------------------------------------- a viewer's deletion


async def test_a_deletion_re_signs_open_pages_and_consoles_and_drops_the_owner_badge(
    team: Team,
) -> None:
    await ok(team.host, {"t": "pin", "product": "logo-tee"})
    ann = await RawClient.viewer(team.url, "Ann", viewer_id="ann-viewer-24")
    bob = await RawClient.viewer(team.url, "Bob", viewer_id="bob-viewer-24")
    purchase = {"t": "buy", "key": "erase-key-0001", "sku": "TEE-M", "quantity": 1}
    bought = await ok(ann, {**purchase, "buyer": BUYER, "payment": "4242 4242 4242 4242"})
    owned = await comment(ann, "Love mine!")
    asked = await comment(ann, "does it run small?")
    mine = await wait_until(bob, lambda m: m.get("seq") == owned["seq"])
    assert mine["owner"] is True and mine["name"] == "Ann"
    await ok(team.host, {"t": "feature", "comment_seq": owned["seq"]})
    said = await comment(bob, "Mine too")

    await ok(ann, {"t": "delete_me"})
    for client in (bob, team.host):
        [erased] = await client.wait_for("erased")
        assert erased["comments"] == [owned["seq"], asked["seq"]], "Bob's comment is not hers"
        assert erased["orders"] == [bought["order_id"]] and erased["name"] == "deleted viewer"
        assert "viewer_id" not in erased
        show = await wait_until(
            client, lambda m, s=erased["seq"]: m["t"] == "show" and m["seq"] > s
        )
        assert show["featured"]["author"] == "deleted viewer" and "owner" not in show["featured"]
    questions = await ok(team.host, {"t": "questions"})
    [question] = questions["questions"]
    assert (question["name"], question["viewer_id"]) == ("deleted viewer", "")

    cat = await RawClient.viewer(team.url, "Cat", viewer_id="cat-viewer-24", since=0)
    replayed = {c["seq"]: c for c in cat.of_type("comment")}
    assert replayed[owned["seq"]]["name"] == "deleted viewer"
    assert "owner" not in replayed[owned["seq"]], "no Owner badge on a deleted viewer"
    assert replayed[said["seq"]]["name"] == "Bob"
    await asyncio.gather(bob.close(), cat.close())
