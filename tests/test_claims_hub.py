"""Comment to claim through a real hub: "sold M" holds a unit, a card to pay, expiry, the line.

The hub runs on 127.0.0.1 over a real SQLite file and viewers talk to it over real
WebSockets, as the page does. The hub's clock is a fake the test moves; the hub's
housekeeping timer (every second, real time) notices the claims it made due.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from console import protocol
from console.hub.payments import ACCEPTED_TEST_CARD, DECLINED_TEST_CARD, SandboxProvider
from console.hub.room import Limits
from console.hub.server import Hub
from console.store import Store
from tests.support.clients import RawClient
from tests.support.storedb import value
from tests.test_shop_hub import BUYER

REPO = Path(__file__).resolve().parents[1]
START = 1_790_000_000.0
TEE = protocol.Product(
    id="logo-tee",
    title="Logo Tee",
    currency="EUR",
    options=["Size"],
    variants=[
        protocol.Variant(sku="TEE-S", options={"Size": "S"}, price=1250, stock=1),
        protocol.Variant(sku="TEE-M", options={"Size": "M"}, price=1250, stock=5),
        protocol.Variant(sku="TEE-L", options={"Size": "L"}, price=1250, stock=5),
    ],
)


class FakeClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@dataclass
class Show:
    hub: Hub
    clock: FakeClock
    data_dir: Path
    host: RawClient

    async def ok(self, message: dict[str, Any]) -> dict[str, Any]:
        ref = "s-" + secrets.token_hex(4)
        await self.host.send({**message, "ref": ref})
        [reply] = await self.host.wait_for("ack", ref=ref)
        return reply

    async def claims_on(self, hold_minutes: float | None = None) -> None:
        await self.ok({"t": "pin", "product": "logo-tee"})
        command: dict[str, Any] = {"t": "set_claims", "on": True}
        if hold_minutes is not None:
            command["hold_minutes"] = hold_minutes
        await self.ok(command)

    def stock(self, sku: str) -> int:
        return value(self.hub.store, "SELECT stock FROM variants WHERE sku = ?", sku)

    async def viewer(self, name: str, viewer_id: str | None = None) -> RawClient:
        return await RawClient.viewer(self.hub.local_ws_url, name=name, viewer_id=viewer_id)


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


async def comment(client: RawClient, text: str) -> None:
    ref = "c-" + secrets.token_hex(4)
    await client.send({"t": "comment", "text": text, "ref": ref})
    [ack] = await client.wait_for("ack", ref=ref)
    assert "seq" in ack, ack
    await client.wait_for("comment", seq=ack["seq"])


async def test_a_sold_comment_holds_a_unit_and_only_the_claimer_gets_its_card(show: Show) -> None:
    await show.claims_on()
    ann, bob = await show.viewer("Ann"), await show.viewer("Bob")
    await comment(ann, "SOLD m")
    [card] = await ann.wait_for("claim_card")
    assert (card["sku"], card["quantity"], card["unit_price"], card["currency"]) == (
        "TEE-M",
        1,
        1250,
        "EUR",
    )
    assert card["title"] == "Logo Tee" and card["label"] == "M"
    assert card["expires"] == START + 600
    assert show.stock("TEE-M") == 4
    await show.host.wait_for("claim_card", claim_id=card["claim_id"])
    await comment(bob, "nice colour")
    assert [c["text"] for c in bob.comments()] == ["SOLD m", "nice colour"]
    assert bob.of_type("claim_card") == []


async def test_an_unpaid_claim_expires_by_the_hubs_clock_and_its_unit_is_back(show: Show) -> None:
    await show.claims_on(hold_minutes=2)
    ann = await show.viewer("Ann")
    await comment(ann, "claim 2 L")
    [card] = await ann.wait_for("claim_card")
    assert card["quantity"] == 2 and card["expires"] == START + 120
    assert show.stock("TEE-L") == 3
    show.clock.now = START + 121
    [ended] = await ann.wait_for("claim_end", claim_id=card["claim_id"])
    assert ended["why"] == "expired"
    assert show.stock("TEE-L") == 5


async def test_paying_a_claim_buys_the_held_unit_without_reserving_another(show: Show) -> None:
    await show.claims_on()
    ann = await show.viewer("Ann")
    await comment(ann, "sold M")
    [card] = await ann.wait_for("claim_card")
    ref = "q-" + secrets.token_hex(4)
    await ann.send(
        {"t": "quote", "sku": "TEE-M", "quantity": 1, "claim_id": card["claim_id"], "ref": ref}
    )
    [quote] = await ann.wait_for("quote", ref=ref)
    ref = "b-" + secrets.token_hex(4)
    await ann.send(
        {
            "t": "buy",
            "key": secrets.token_hex(8),
            "sku": "TEE-M",
            "quantity": 1,
            "claim_id": card["claim_id"],
            "buyer": BUYER,
            "payment": ACCEPTED_TEST_CARD,
            "total": quote["total"],
            "ref": ref,
        }
    )
    [confirmed] = await ann.wait_for("order_confirmed", ref=ref)
    [ended] = await ann.wait_for("claim_end", claim_id=card["claim_id"])
    assert ended == {**ended, "why": "checkout", "order_id": confirmed["order_id"]}
    assert show.stock("TEE-M") == 4
    show.clock.now = START + 601
    await comment(ann, "thanks!")
    assert show.stock("TEE-M") == 4


async def test_a_declined_card_puts_the_claimed_unit_back_on_sale(show: Show) -> None:
    await show.claims_on()
    ann = await show.viewer("Ann")
    await comment(ann, "sold M")
    [card] = await ann.wait_for("claim_card")
    ref = "b-" + secrets.token_hex(4)
    await ann.send(
        {
            "t": "buy",
            "key": secrets.token_hex(8),
            "sku": "TEE-M",
            "quantity": 1,
            "claim_id": card["claim_id"],
            "buyer": BUYER,
            "payment": DECLINED_TEST_CARD,
            "ref": ref,
        }
    )
    [error] = await ann.wait_for("error", ref=ref)
    assert error["code"] == "payment_declined"
    assert show.stock("TEE-M") == 5


async def test_an_ambiguous_claim_gets_a_question_back_and_holds_nothing(show: Show) -> None:
    await show.claims_on()
    ann, bob = await show.viewer("Ann"), await show.viewer("Bob")
    await comment(ann, "sold!")
    [ask] = await ann.wait_for("claim_ask")
    assert "S" in ask["choices"] and "M" in ask["choices"], ask
    await comment(bob, "hi")
    assert [c["text"] for c in bob.comments()] == ["sold!", "hi"]
    assert bob.of_type("claim_ask") == [] and ann.of_type("claim_card") == []
    assert [show.stock(s) for s in ("TEE-S", "TEE-M", "TEE-L")] == [1, 5, 5]


async def test_with_claims_off_a_sold_comment_is_only_chat(show: Show) -> None:
    await show.claims_on()
    await show.ok({"t": "set_claims", "on": False})
    ann = await show.viewer("Ann")
    assert not ann.of_type("claims")[-1].get("on")  # the state after welcome: off
    await comment(ann, "sold M")
    await comment(ann, "hello")
    assert ann.of_type("claim_card") == [] and ann.of_type("claim_ask") == []
    assert show.stock("TEE-M") == 5


async def test_a_reconnecting_page_sees_its_open_claim_again(show: Show) -> None:
    await show.claims_on()
    ann = await show.viewer("Ann")
    await comment(ann, "sold M")
    [card] = await ann.wait_for("claim_card")
    await ann.close()
    again = await show.viewer("Ann", viewer_id=card["viewer_id"])
    # Restated after welcome (seq 0), however long ago the claim was made.
    [restated] = [m for m in again.of_type("claim_card") if m["seq"] == 0]
    assert restated["claim_id"] == card["claim_id"]
    other = await show.viewer("Bob")
    assert other.of_type("claim_card") == []


async def test_a_sold_out_claim_waits_in_line_and_gets_the_unit_that_comes_back(
    show: Show,
) -> None:
    await show.claims_on(hold_minutes=1)
    ann, bob = await show.viewer("Ann"), await show.viewer("Bob")
    await comment(ann, "sold S")
    [first] = await ann.wait_for("claim_card")
    await comment(bob, "sold S")
    [ask] = await bob.wait_for("claim_ask")
    assert ask["place"] == 1
    assert bob.of_type("claim_card") == []
    [waiting] = await bob.wait_for("claim_wait")
    assert (waiting["sku"], waiting["label"]) == ("TEE-S", "S")
    assert ann.of_type("claim_wait") == []
    # A page that comes back finds its place in line again.
    again = await show.viewer("Bob", viewer_id=waiting["viewer_id"])
    assert [m["sku"] for m in again.of_type("claim_wait") if m["seq"] == 0] == ["TEE-S"]
    show.clock.now = START + 61
    [ended] = await ann.wait_for("claim_end", claim_id=first["claim_id"])
    assert ended["why"] == "expired"
    [offer] = await bob.wait_for("claim_card")
    assert offer["offered"] is True and offer["sku"] == "TEE-S" and offer["name"] == "Bob"
    assert show.stock("TEE-S") == 0


async def test_a_restock_goes_to_the_first_in_line_not_to_the_next_buyer(show: Show) -> None:
    await show.claims_on()
    ann, bob = await show.viewer("Ann"), await show.viewer("Bob")
    await comment(ann, "sold S")
    await ann.wait_for("claim_card")
    await comment(bob, "sold S")
    await bob.wait_for("claim_ask", place=1)
    await show.ok({"t": "update_variant", "sku": "TEE-S", "stock": 1})
    [offer] = await bob.wait_for("claim_card")
    assert offer["offered"] is True
    assert show.stock("TEE-S") == 0, "the restocked unit is held for Bob, not on sale"


async def test_claims_are_for_the_host(show: Show) -> None:
    ann = await show.viewer("Ann")
    ref = "x-1"
    await ann.send({"t": "set_claims", "on": True, "ref": ref})
    [error] = await ann.wait_for("error", ref=ref)
    assert error["code"] == "forbidden"


async def test_a_restarted_hub_keeps_open_claims_and_the_waitlist_in_order(data_dir: Path) -> None:
    store = Store.open(data_dir)
    store.replace_catalogue([TEE])
    clock = FakeClock()
    hub = Hub(store, tick=0.01, limits=Limits(), payments=SandboxProvider(), clock=clock)
    await hub.start("127.0.0.1", 0)
    host = await RawClient.staff(hub.local_ws_url, hub.issue_token("host", "Mia"))
    show = Show(hub, clock, data_dir, host)
    await show.claims_on()
    ann = await show.viewer("Ann")
    await comment(ann, "sold S")
    [card] = await ann.wait_for("claim_card")
    bob = await show.viewer("Bob")
    await comment(bob, "sold S")
    [waiting] = await bob.wait_for("claim_wait")
    await ann.close()
    await bob.close()
    await host.close()
    await hub.stop()
    store.close()

    store = Store.open(data_dir)
    hub = Hub(store, tick=0.01, limits=Limits(), payments=SandboxProvider(), clock=clock)
    await hub.start("127.0.0.1", 0)
    try:
        show = Show(hub, clock, data_dir, host)
        again = await show.viewer("Ann", viewer_id=card["viewer_id"])
        assert [m["claim_id"] for m in again.of_type("claim_card") if m["seq"] == 0] == [
            card["claim_id"]
        ]
        assert again.of_type("claims")[-1]["on"] is True
        assert show.stock("TEE-S") == 0
        bob = await show.viewer("Bob", viewer_id=waiting["viewer_id"])
        clock.now = START + 601
        await again.wait_for("claim_end", claim_id=card["claim_id"], why="expired")
        # The line survived the restart: the unit that came back is Bob's.
        [offer] = await bob.wait_for("claim_card")
        assert offer["offered"] is True and offer["name"] == "Bob"
        assert show.stock("TEE-S") == 0
        await again.close()
        await bob.close()
    finally:
        await hub.stop()
        store.close()


async def test_ctl_turns_claims_on_with_a_hold_time_and_off(show: Show) -> None:
    await show.ok({"t": "pin", "product": "logo-tee"})

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

    code, out, err = await ctl("claims", "on", "--hold", "5")
    assert (code, err) == (0, "") and "holds the pinned product for 5 min" in out
    await show.host.wait_for("claims", on=True, hold_seconds=300.0)
    ann = await show.viewer("Ann")
    await comment(ann, "sold M")
    [card] = await ann.wait_for("claim_card")
    assert card["expires"] == START + 300
    assert await ctl("claims", "off") == (0, "Claims off: comments are only chat.", "")
    await comment(ann, "sold L")
    await comment(ann, "ok")
    assert len(ann.of_type("claim_card")) == 1
