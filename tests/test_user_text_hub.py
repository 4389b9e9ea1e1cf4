"""Through a real hub: reviews, display names and the "just bought" line pass the same
judge as comments, and what a shelf shows.

The hub runs on 127.0.0.1 over a real SQLite file; viewers and staff are real
WebSocket clients (see tests/test_team_hub.py for the fixture).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from websockets.asyncio.client import connect

from console import protocol
from tests.support.clients import RawClient
from tests.test_shop_hub import buy, ctl, wait_until
from tests.test_team_hub import Team, ask, comment, ok, running_team

REVIEW = {"t": "review", "product_id": "logo-tee", "rating": 4}


@pytest.fixture
async def team(data_dir: Path) -> AsyncIterator[Team]:
    async with running_team(data_dir) as running:
        yield running


async def owner(team: Team, name: str, viewer_id: str) -> RawClient:
    """A viewer who bought the Logo Tee, so may review it."""
    client = await RawClient.viewer(team.url, name, viewer_id=viewer_id)
    assert (await buy(client, "TEE-M"))["t"] == "order_confirmed"
    return client


def reviews_of(team: Team, viewer_id: str) -> list[tuple[Any, ...]]:
    return team.query("SELECT author, rating, text FROM reviews WHERE viewer_id = ?", viewer_id)


async def test_a_banned_buyer_cannot_review(team: Team) -> None:
    ann = await owner(team, "Ann", "ann-review-01")
    bob = await RawClient.viewer(team.url, "Bob", viewer_id="bob-review-01")
    await ok(team.host, {"t": "ban", "viewer_id": "ann-review-01", "reason": "spam"})
    refused = await ask(ann, {**REVIEW, "text": "Great fit."})
    assert (refused["code"], refused["message"]) == (
        "banned",
        "You can't post a review in this room.",
    )
    await asyncio.sleep(0.05)
    assert not bob.of_type("review") and reviews_of(team, "ann-review-01") == []
    await asyncio.gather(ann.close(), bob.close())


@pytest.mark.parametrize(
    ("text", "rule"),
    [("Sp4mw0rd is the best", "term"), ("cheaper at spam.example", "link")],
)
async def test_a_review_a_rule_holds_waits_for_a_moderator_then_everyone_sees_it(
    team: Team, text: str, rule: str
) -> None:
    await ok(team.host, {"t": "set_terms", "terms": [{"pattern": "spamword"}]})
    await ok(team.host, {"t": "pin", "product": "logo-tee"})
    ann = await owner(team, "Ann", "ann-review-02")
    bob = await RawClient.viewer(team.url, "Bob", viewer_id="bob-review-02")
    mod = await team.staff("moderator", "Sam")

    reply = await ask(ann, {**REVIEW, "text": text})
    assert reply["t"] == "ack" and reply["held"] is True
    [held] = await mod.wait_for("held")
    assert (held["product_id"], held["rating"], held["text"], held["rule"]) == (
        "logo-tee",
        4,
        text,
        rule,
    )
    again = await ask(ann, {**REVIEW, "text": "A second try."})
    assert again["code"] == "invalid", "one review per owner, held or not"
    await asyncio.sleep(0.05)
    assert not bob.of_type("review") and not bob.of_type("held")
    assert reviews_of(team, "ann-review-02") == []

    await ok(mod, {"t": "resolve_held", "held_id": held["held_id"], "approve": True})
    for client in (ann, bob, team.host):
        [added] = await client.wait_for("review")
        assert added["product_id"] == "logo-tee"
        assert (added["review"]["author"], added["review"]["text"]) == ("Ann", text)
    assert reviews_of(team, "ann-review-02") == [("Ann", 4, text)]
    cat = await RawClient.viewer(team.url, "Cat", viewer_id="cat-review-02")
    [show] = await cat.wait_for("show", seq=0)  # the show as it is now, not its history
    assert text in [r["text"] for r in show["pinned"]["reviews"]], "a joining viewer sees it"
    await asyncio.gather(ann.close(), bob.close(), mod.close(), cat.close())


async def test_a_review_with_a_deleting_term_is_refused_and_logged(team: Team) -> None:
    await ok(team.host, {"t": "set_terms", "terms": [{"pattern": "idiot", "action": "delete"}]})
    ann = await owner(team, "Ann", "ann-review-03")
    refused = await ask(ann, {**REVIEW, "text": "the host is an 1d1ot"})
    assert refused["code"] == "blocked"
    [entry] = await team.host.wait_for("mod", action="auto_delete")
    assert entry["text"] == "the host is an 1d1ot"
    assert reviews_of(team, "ann-review-03") == []
    await ann.close()


@pytest.mark.parametrize(
    "name", ["spamword at spam.example", "Sp4mw0rd", "cheap-followers.us", "dm t.me"]
)
async def test_a_display_name_passes_the_blocked_terms_and_the_link_filter(
    team: Team, name: str
) -> None:
    await ok(team.host, {"t": "set_terms", "terms": [{"pattern": "spamword"}]})
    ann = await RawClient.viewer(team.url, "Ann", viewer_id="ann-name-01")
    await ok(ann, {"t": "comment", "text": "hello"})  # she acts: the store keeps her name
    refused = await ask(ann, {"t": "set_name", "name": name})
    assert refused["code"] == "invalid" and "choose another" in refused["message"]
    async with connect(team.url, compression=None) as ws:
        hello = {"t": "hello", "v": 1, "role": "viewer", "viewer_id": "bob-name-01", "name": name}
        await ws.send(json.dumps(hello))
        [error] = json.loads(await ws.recv())
    assert error["t"] == "error" and error["code"] == "invalid", "the page asks for another"
    assert team.query("SELECT name FROM viewers WHERE viewer_id = 'ann-name-01'") == [("Ann",)]
    assert team.query("SELECT COUNT(*) FROM viewers WHERE viewer_id = 'bob-name-01'") == [(0,)]
    await ann.close()


async def test_a_banned_buyer_who_renamed_is_not_announced_by_name(team: Team) -> None:
    ann = await RawClient.viewer(team.url, "Ann", viewer_id="ann-sale-01")
    bob = await RawClient.viewer(team.url, "Bob", viewer_id="bob-sale-01")
    await ok(team.host, {"t": "ban", "viewer_id": "ann-sale-01"})
    await ok(ann, {"t": "set_name", "name": "Totally New Name"})
    assert (await buy(ann, "TEE-M"))["t"] == "order_confirmed"
    [sale] = await bob.wait_for("order")
    assert sale["name"] == "", "the page shows 'Someone just bought'"

    assert (await buy(bob, "TEE-L"))["t"] == "order_confirmed"
    await ann.wait_for("order", name="Bob")
    await asyncio.gather(ann.close(), bob.close())


async def test_a_right_to_left_override_in_a_name_never_reaches_other_viewers(
    team: Team,
) -> None:
    mallory = await RawClient.viewer(team.url, "\u202eMallory", viewer_id="mallory-bidi-1")
    bob = await RawClient.viewer(team.url, "Bob", viewer_id="bob-bidi-1")
    await comment(mallory, "nice \u2067shirt")
    [said] = await bob.wait_for("comment")
    assert (said["name"], said["text"]) == ("Mallory", "nice shirt")
    assert (await buy(mallory, "TEE-M"))["t"] == "order_confirmed"
    [sale] = await bob.wait_for("order")
    assert sale["name"] == "Mallory"
    await asyncio.gather(mallory.close(), bob.close())


async def test_a_shelf_entry_carries_the_start_of_its_description(team: Team) -> None:
    store = team.hub.store
    [bag] = store.catalogue(product_ids=["canvas-bag"])
    long_text = "Heavy organic canvas, " * 30
    jacket = protocol.Product(
        id="denim-jacket",
        title="Denim Jacket",
        currency="EUR",
        options=["Size"],
        variants=[protocol.Variant(sku="JKT-M", options={"Size": "M"}, price=5000, stock=3)],
        description=long_text,
    )
    store.replace_catalogue(
        [*store.catalogue(product_ids=["logo-tee"]), jacket, _described(bag, "Holds a laptop.")]
    )
    await ok(team.host, {"t": "set_shelf", "products": ["canvas-bag", "denim-jacket"]})
    show = await wait_until(team.host, lambda m: m["t"] == "show" and m.get("shelf"))
    described = {p["id"]: p.get("description", "") for p in show["shelf"]}
    assert described["canvas-bag"] == "Holds a laptop."
    cut = described["denim-jacket"]
    assert long_text.startswith(cut[:-1]) and cut.endswith("…") and len(cut) <= 280
    assert "reviews" not in show["shelf"][0] or not show["shelf"][0]["reviews"]


def _described(product: protocol.Product, description: str) -> protocol.Product:
    return msgspec.structs.replace(product, description=description)


async def test_ctl_lists_adds_and_removes_blocked_terms(team: Team) -> None:
    code, out, err = await ctl(team, "terms", "add", "Sp4mword")
    assert (code, out, err) == (0, "Blocked 'Sp4mword' (word, hold); 1 blocked term.", "")
    wildcard = ["--kind", "wildcard", "--action", "delete"]
    code, _, _ = await ctl(team, "terms", "add", "idi*t", *wildcard)
    assert code == 0
    code, out, _ = await ctl(team, "terms", "list")
    assert out.splitlines() == [
        "hold\tword\tspamword",
        "delete\twildcard\tidi*t",
        "Links are held for a moderator.",
    ]
    ann = await RawClient.viewer(team.url, "Ann", viewer_id="ann-ctl-terms")
    assert (await comment(ann, "spamword!"))["held"] is True

    code, out, _ = await ctl(team, "terms", "remove", "SPAMWORD")
    assert (code, out) == (0, "Unblocked 'SPAMWORD'; 1 blocked term.")
    assert "seq" in await comment(ann, "spamword again")
    code, _, err = await ctl(team, "terms", "remove", "nothing")
    assert code == 1 and "No blocked term 'nothing'" in err
    await ann.close()
