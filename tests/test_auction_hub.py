"""Auctions through a real hub: the host opens one on the pinned product, viewers bid over
real WebSockets as the page does, the hub's clock closes it, and the winner pays the
winning price. The hub runs on 127.0.0.1 over a real SQLite file; its clock is a fake the
test moves, and the hub's housekeeping (every second, real time) notices the deadlines.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from console.hub.payments import ACCEPTED_TEST_CARD, DECLINED_TEST_CARD, SandboxProvider
from console.hub.room import Limits
from console.hub.server import Hub
from console.store import Store
from tests.support.clients import RawClient
from tests.test_claims_hub import BUYER, REPO, START, TEE, FakeClock, Show

AUCTION = {"t": "start_auction", "sku": "TEE-S", "start_price": 1000, "increment": 100}


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


async def start(show: Show, seconds: float = 60, **more: Any) -> dict[str, Any]:
    await show.ok({"t": "pin", "product": "logo-tee"})
    await show.ok({**AUCTION, "seconds": seconds, **more})
    [opened] = await show.host.wait_for("auction", why="start")
    return opened


async def answer(client: RawClient, ref: str) -> dict[str, Any]:
    """The hub's answer to the request ``ref``: its reply, or the error."""
    for _ in range(500):
        found = [m for m in client.messages if m.get("ref") == ref]
        if found:
            return found[0]
        await asyncio.sleep(0.01)
    raise AssertionError(f"no answer to {ref}: {client.messages[-5:]}")


async def bid(client: RawClient, auction_id: str, maximum: int) -> dict[str, Any]:
    ref = "b-" + secrets.token_hex(4)
    await client.send({"t": "bid", "auction_id": auction_id, "maximum": maximum, "ref": ref})
    return await answer(client, ref)


async def pay(client: RawClient, auction_id: str, card: str) -> tuple[dict, dict]:
    """Quote the won lot, then buy it with ``card``: the quote and the buy's answer."""
    ref = "q-" + secrets.token_hex(4)
    await client.send(
        {"t": "quote", "sku": "TEE-S", "quantity": 1, "auction_id": auction_id, "ref": ref}
    )
    quote = await answer(client, ref)
    ref = "p-" + secrets.token_hex(4)
    await client.send(
        {
            "t": "buy",
            "key": secrets.token_hex(8),
            "sku": "TEE-S",
            "quantity": 1,
            "auction_id": auction_id,
            "buyer": BUYER,
            "payment": card,
            "total": quote.get("total"),
            "ref": ref,
        }
    )
    return quote, await answer(client, ref)


def latest(client: RawClient) -> dict[str, Any]:
    return client.of_type("auction")[-1]


async def test_the_highest_maximum_leads_at_the_runner_up_plus_an_increment(show: Show) -> None:
    opened = await start(show)
    assert (opened["status"], opened["next_bid"], opened["ends"]) == ("open", 1000, START + 60)
    assert show.stock("TEE-S") == 0, "the lot left the shelf when the auction opened"
    ann, bob = await show.viewer("Ann"), await show.viewer("Bob")
    auction_id = opened["auction_id"]
    assert (await bid(ann, auction_id, 1500))["t"] == "ack"
    assert (await bid(bob, auction_id, 1100))["t"] == "ack"
    [now] = await bob.wait_for("auction", bids=2)
    assert (now["leader"], now["leader_id"], now["price"], now["next_bid"]) == (
        "Ann",
        ann.of_type("welcome")[0]["viewer_id"],
        1200,
        1300,
    )
    # A maximum is private: each bidder hears only their own.
    assert [b["maximum"] for b in ann.of_type("auction_bid")] == [1500]
    assert [b["maximum"] for b in bob.of_type("auction_bid")] == [1100]
    assert "maximum" not in str(now)
    low = await bid(bob, auction_id, 1250)
    assert (low["t"], low["message"]) == ("error", "Bid at least €13.00.")


async def test_the_hubs_clock_closes_it_and_the_winner_pays_the_winning_price(show: Show) -> None:
    opened = await start(show)
    auction_id = opened["auction_id"]
    ann, bob = await show.viewer("Ann"), await show.viewer("Bob")
    await bid(ann, auction_id, 1500)
    await bid(bob, auction_id, 1100)
    show.clock.now = START + 60
    [closed] = await ann.wait_for("auction", why="close")
    assert (closed["status"], closed["winner"], closed["price"]) == ("closed", "Ann", 1200)
    assert closed["checkout_until"] == START + 60 + 300
    late = await bid(bob, auction_id, 2000)
    assert (late["t"], late["message"]) == ("error", "Bidding has ended.")
    _, refused = await pay(bob, auction_id, ACCEPTED_TEST_CARD)
    assert refused["message"] == "This lot is not yours to pay for."
    quote, confirmed = await pay(ann, auction_id, ACCEPTED_TEST_CARD)
    assert (quote["unit_price"], quote.get("deal", False)) == (1200, False)
    assert confirmed["t"] == "order_confirmed" and confirmed["total"] == quote["total"]
    [sold] = await bob.wait_for("auction", why="paid")
    assert (sold["status"], sold["order_id"]) == ("sold", confirmed["order_id"])
    assert show.stock("TEE-S") == 0, "the lot is the unit bought, not a second one"


async def test_a_bid_in_the_anti_snipe_window_extends_the_end(show: Show) -> None:
    opened = await start(show, anti_snipe=10)
    ann = await show.viewer("Ann")
    show.clock.now = START + 55
    await bid(ann, opened["auction_id"], 1000)
    [extended] = await ann.wait_for("auction", bids=1)
    assert extended["ends"] == START + 70
    show.clock.now = START + 65
    await ann.wait_for("auction", bids=1)
    assert latest(ann)["status"] == "open"


async def test_an_unpaid_win_goes_to_the_runner_up_then_back_on_the_shelf(show: Show) -> None:
    opened = await start(show, checkout_seconds=60)
    auction_id = opened["auction_id"]
    ann, bob = await show.viewer("Ann"), await show.viewer("Bob")
    await bid(ann, auction_id, 1500)
    await bid(bob, auction_id, 1100)
    show.clock.now = START + 60
    await ann.wait_for("auction", why="close")
    show.clock.now = START + 121
    [lapsed] = await bob.wait_for("auction", why="lapse")
    assert (lapsed["winner"], lapsed["price"]) == ("Bob", 1000)
    show.clock.now = START + 182
    [unsold] = await bob.wait_for("auction", why="lapse", status="unsold")
    assert "winner_id" not in unsold
    assert show.stock("TEE-S") == 1


@pytest.mark.parametrize("checkout_seconds", [10, 3601])
async def test_a_time_to_pay_out_of_range_is_refused_with_the_range(
    show: Show, checkout_seconds: int
) -> None:
    await show.ok({"t": "pin", "product": "logo-tee"})
    ref = "s-" + secrets.token_hex(4)
    await show.host.send(
        {**AUCTION, "seconds": 60, "checkout_seconds": checkout_seconds, "ref": ref}
    )
    refused = await answer(show.host, ref)
    assert (refused["t"], refused["code"], refused["message"]) == (
        "error",
        "invalid",
        "The winner has 30 seconds to an hour to pay; enter a time in that range, "
        f"not {checkout_seconds}.",
    )
    assert not show.host.of_type("auction"), "no auction opened"
    assert show.stock("TEE-S") == 1


async def test_a_declined_card_keeps_the_lot_for_the_winner(show: Show) -> None:
    opened = await start(show)
    ann = await show.viewer("Ann")
    await bid(ann, opened["auction_id"], 1000)
    show.clock.now = START + 60
    await ann.wait_for("auction", why="close")
    _, declined = await pay(ann, opened["auction_id"], DECLINED_TEST_CARD)
    assert declined["code"] == "payment_declined"
    assert show.stock("TEE-S") == 0
    _, confirmed = await pay(ann, opened["auction_id"], ACCEPTED_TEST_CARD)
    assert confirmed["t"] == "order_confirmed"
    assert show.stock("TEE-S") == 0


async def test_only_the_host_runs_auctions_and_only_viewers_bid(show: Show) -> None:
    await show.ok({"t": "pin", "product": "logo-tee"})
    ann = await show.viewer("Ann")
    await ann.send({**AUCTION, "seconds": 60, "ref": "x1"})
    assert (await answer(ann, "x1"))["code"] == "forbidden"
    await show.host.send({"t": "bid", "auction_id": "A-1", "maximum": 1000, "ref": "x2"})
    assert (await answer(show.host, "x2"))["code"] == "forbidden"
    assert show.stock("TEE-S") == 1


async def test_a_restarted_hub_keeps_the_auction_its_bids_and_its_clock(data_dir: Path) -> None:
    store = Store.open(data_dir)
    store.replace_catalogue([TEE])
    clock = FakeClock()
    hub = Hub(store, tick=0.01, limits=Limits(), payments=SandboxProvider(), clock=clock)
    await hub.start("127.0.0.1", 0)
    host = await RawClient.staff(hub.local_ws_url, hub.issue_token("host", "Mia"))
    show = Show(hub, clock, data_dir, host)
    opened = await start(show)
    ann, bob = await show.viewer("Ann"), await show.viewer("Bob")
    await bid(ann, opened["auction_id"], 1500)
    await bid(bob, opened["auction_id"], 1100)
    ann_id = ann.of_type("welcome")[0]["viewer_id"]
    for client in (ann, bob, host):
        await client.close()
    await hub.stop()
    store.close()

    store = Store.open(data_dir)
    hub = Hub(store, tick=0.01, limits=Limits(), payments=SandboxProvider(), clock=clock)
    await hub.start("127.0.0.1", 0)
    try:
        show = Show(hub, clock, data_dir, host)
        again = await show.viewer("Ann", viewer_id=ann_id)
        [state] = [m for m in again.of_type("auction") if m["seq"] == 0]
        assert (state["leader"], state["price"], state["bids"]) == ("Ann", 1200, 2)
        assert [m["maximum"] for m in again.of_type("auction_bid") if m["seq"] == 0] == [1500]
        clock.now = START + 60
        [closed] = await again.wait_for("auction", why="close")
        assert (closed["winner_id"], closed["price"]) == (ann_id, 1200)
        assert show.stock("TEE-S") == 0
        await again.close()
    finally:
        await hub.stop()
        store.close()


async def test_ctl_starts_an_auction_on_the_pinned_product_and_cancels_it(show: Show) -> None:
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

    code, _, err = await ctl("auction", "start", "--price", "10")
    assert (code, err) == (
        1,
        "shopcast ctl: Pin a product first (ctl pin PRODUCT); the auction sells it.",
    )
    await show.ok({"t": "pin", "product": "logo-tee"})
    assert await ctl(
        "auction", "start", "--price", "10", "--increment", "0.50", "--anti-snipe", "5"
    ) == (0, "Auction of Logo Tee open for 60 s (anti-snipe 5 s).", "")
    [opened] = await show.host.wait_for("auction", why="start")
    assert (opened["sku"], opened["start_price"], opened["increment"], opened["anti_snipe"]) == (
        "TEE-S",
        1000,
        50,
        5,
    )
    assert show.stock("TEE-S") == 0
    assert await ctl("auction", "cancel") == (
        0,
        "Auction cancelled: the lot is back on sale.",
        "",
    )
    await show.host.wait_for("auction", why="cancel")
    assert show.stock("TEE-S") == 1
