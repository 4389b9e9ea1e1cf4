"""The shoppable show through a real hub: pins, deals, quotes, orders, reviews, import, ctl.

Every test runs the hub on 127.0.0.1 with a real SQLite file and talks to it with real
WebSocket clients, as the viewer page and the staff console do. The hub's clock is a
:class:`FakeClock` the test moves, so deal ends and instalment dates are exact values;
the payment provider is the real sandbox, slowed a little where concurrency matters so
that several purchases really are in flight at once.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import secrets
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from console import protocol
from console.domain.checkout import RESERVATION_SECONDS
from console.domain.money import Money
from console.hub.payments import (
    ACCEPTED_TEST_CARD,
    DECLINED_TEST_CARD,
    Charge,
    PaymentProvider,
    SandboxProvider,
)
from console.hub.room import Limits
from console.hub.server import Hub
from console.store import Store
from tests.support.clients import RawClient
from tests.support.storedb import rows

REPO = Path(__file__).resolve().parents[1]
#: 2026-09-21 14:13:20 UTC: a whole number, so that ``start + seconds`` compares exactly.
START = 1_790_000_000.0
TODAY = datetime.datetime.fromtimestamp(START, datetime.UTC).date()
SHIPPING = 495
BUYER: dict[str, str] = {
    "name": "Ann Example",
    "email": "ann@example.com",
    "address1": "Hauptstraße 1",
    "city": "Berlin",
    "postal_code": "10115",
    "country": "DE",
}


class FakeClock:
    """The hub's clock, moved only by the test.

    Deal ends, countdowns and instalment dates come from it; the deal timer still
    waits in real time, as long as the clock said the deal had left when it started.
    """

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class CountingSandbox(SandboxProvider):
    """The real sandbox, as slow as ``delay`` (a network call), recording what it charged.

    The record is how a test tells "refused before paying" from "paid, then refused".
    """

    def __init__(self, delay: float = 0.0) -> None:
        super().__init__()
        self.delay = delay
        self.charged: list[int] = []

    async def charge(
        self, *, amount: Money, payment: str, idempotency_key: str, description: str
    ) -> Charge:
        await asyncio.sleep(self.delay)
        result = await super().charge(
            amount=amount,
            payment=payment,
            idempotency_key=idempotency_key,
            description=description,
        )
        self.charged.append(amount.amount)
        return result


class StuckPayments(SandboxProvider):
    """A provider that never answers: the hub dies while it waits (a crash mid-payment)."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting: list[asyncio.Task[Any]] = []

    async def charge(
        self, *, amount: Money, payment: str, idempotency_key: str, description: str
    ) -> Charge:
        task = asyncio.current_task()
        assert task is not None
        self.waiting.append(task)
        await asyncio.Event().wait()
        raise AssertionError("a stuck provider never answers")


def _product(
    product_id: str,
    title: str,
    variants: list[tuple[str, int, int]],
    reviews: list[protocol.Review] | None = None,
) -> protocol.Product:
    return protocol.Product(
        id=product_id,
        title=title,
        currency="EUR",
        options=["Size"],
        variants=[
            protocol.Variant(sku=sku, options={"Size": sku.rsplit("-", 1)[1]}, price=p, stock=s)
            for sku, p, s in variants
        ],
        reviews=reviews or [],
    )


SEED_REVIEW = protocol.Review(
    id="r-tee-1",
    author="Lena",
    rating=5,
    text="Soft, and true to size.",
    verified_owner=True,
    created="2026-01-10",
)
CATALOGUE = [
    _product("logo-tee", "Logo Tee", [("TEE-M", 1250, 5), ("TEE-L", 1250, 5)], [SEED_REVIEW]),
    _product("denim-jacket", "Denim Jacket", [("JKT-M", 5000, 3)]),
    _product("canvas-bag", "Canvas Bag", [("BAG-1", 4999, 10)]),
]


# ---------------------------------------------------------------- a hub and its clients


@asynccontextmanager
async def running_hub(
    data_dir: Path, clock: FakeClock, payments: PaymentProvider
) -> AsyncIterator[Hub]:
    """A hub on a free port over ``data_dir``; the catalogue is seeded on first use."""
    store = Store.open(data_dir)
    if not store.has_products():
        store.replace_catalogue(CATALOGUE)
    hub = Hub(store, tick=0.01, limits=Limits(), payments=payments, clock=clock)
    await hub.start("127.0.0.1", 0)
    try:
        yield hub
    finally:
        await hub.stop()
        store.close()


@dataclass
class Shop:
    """A running hub with its clock, its payments, its data folder and a host connection."""

    hub: Hub
    clock: FakeClock
    payments: CountingSandbox
    data_dir: Path
    host: RawClient
    token: str

    @property
    def url(self) -> str:
        return self.hub.local_ws_url

    async def ok(self, message: dict[str, Any]) -> dict[str, Any]:
        """Send a staff command as the host and return the hub's answer, not an error."""
        ref = "s-" + secrets.token_hex(4)
        await self.host.send({**message, "ref": ref})
        reply = await answer(self.host, ref)
        assert reply["t"] != "error", reply
        return reply

    def show(self) -> dict[str, Any]:
        """What is on stream now, as a joining client would get it."""
        return json.loads(self.hub.room.shop.snapshot())

    def query(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        return query(self.data_dir, sql, *params)

    def stock(self, sku: str) -> int:
        [(stock,)] = self.query("SELECT stock FROM variants WHERE sku = ?", sku)
        return stock


@pytest.fixture
async def shop(data_dir: Path) -> AsyncIterator[Shop]:
    clock = FakeClock()
    payments = CountingSandbox()
    async with running_hub(data_dir, clock, payments) as hub:
        token = hub.issue_token("host", "Mia")
        host = await RawClient.staff(hub.local_ws_url, token)
        try:
            yield Shop(hub, clock, payments, data_dir, host, token)
        finally:
            await host.close()


def query(data_dir: Path, sql: str, *params: object) -> list[tuple[Any, ...]]:
    """What the store in ``data_dir`` holds, on a store of its own (only committed rows
    are seen), through the store's adapter rather than its file."""
    store = Store.open(data_dir)
    try:
        return rows(store, sql, *params)
    finally:
        store.close()


async def wait_until(
    client: RawClient, found: Callable[[dict[str, Any]], bool], timeout: float = 5.0
) -> dict[str, Any]:
    """The first message the client received that ``found`` accepts."""

    async def scan() -> dict[str, Any]:
        while True:
            for message in client.messages:
                if found(message):
                    return message
            await asyncio.sleep(0.005)

    return await asyncio.wait_for(scan(), timeout)


async def answer(client: RawClient, ref: str, timeout: float = 5.0) -> dict[str, Any]:
    """The hub's answer to the message sent with ``ref``, whatever its type."""
    return await wait_until(client, lambda m: m.get("ref") == ref, timeout)


def pinned_show(product_id: str) -> Callable[[dict[str, Any]], bool]:
    def match(m: dict[str, Any]) -> bool:
        return m["t"] == "show" and (m.get("pinned") or {}).get("id") == product_id

    return match


def buy_message(
    sku: str,
    key: str,
    ref: str,
    *,
    card: str = ACCEPTED_TEST_CARD,
    total: int | None = None,
    buyer: dict[str, str] | None = None,
    quantity: int = 1,
    plan: int | None = None,
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "t": "buy",
        "key": key,
        "sku": sku,
        "quantity": quantity,
        "buyer": buyer or BUYER,
        "payment": card,
        "ref": ref,
    }
    if total is not None:
        message["total"] = total
    if plan is not None:
        message["plan"] = plan
    return message


async def buy(client: RawClient, sku: str, key: str | None = None, **kw: Any) -> dict[str, Any]:
    """Buy as the viewer page does and return the hub's answer."""
    ref = "b-" + secrets.token_hex(4)
    await client.send(buy_message(sku, key or secrets.token_hex(8), ref, **kw))
    return await answer(client, ref)


async def quote(client: RawClient, sku: str, quantity: int = 1) -> dict[str, Any]:
    ref = "q-" + secrets.token_hex(4)
    await client.send({"t": "quote", "sku": sku, "quantity": quantity, "ref": ref})
    reply = await answer(client, ref)
    assert reply["t"] == "quote", reply
    return reply


async def first_frame(url: str, viewer_id: str) -> list[dict[str, Any]]:
    """What the hub sends a viewer in answer to ``hello``: one frame, read raw."""
    async with connect(url, compression=None) as ws:
        await ws.send(json.dumps({"t": "hello", "v": 1, "role": "viewer", "viewer_id": viewer_id}))
        return json.loads(await ws.recv())


async def close_all(*clients: RawClient) -> None:
    await asyncio.gather(*(c.close() for c in clients))


# ---------------------------------------------------------------- pin and permissions


async def test_pin_by_sku_and_by_id_reaches_every_client_and_unpin_clears(shop: Shop) -> None:
    ann = await RawClient.viewer(shop.url, "Ann")
    bob = await RawClient.viewer(shop.url, "Bob")

    await shop.ok({"t": "pin", "product": "TEE-L"})
    for client in (ann, bob, shop.host):
        show = await wait_until(client, pinned_show("logo-tee"))
        assert show["seq"] > 0
        assert show["pinned"]["title"] == "Logo Tee"
        assert [v["sku"] for v in show["pinned"]["variants"]] == ["TEE-M", "TEE-L"]
        assert [v["stock"] for v in show["pinned"]["variants"]] == [5, 5]
        assert show["pinned"]["reviews"][0]["id"] == "r-tee-1"

    await shop.ok({"t": "pin", "product": "denim-jacket"})
    for client in (ann, bob, shop.host):
        show = await wait_until(client, pinned_show("denim-jacket"))
        assert show["pinned"]["variants"][0]["price"] == 5000
    jacket_seq = show["seq"]

    await shop.ok({"t": "unpin"})
    for client in (ann, bob, shop.host):
        cleared = await wait_until(client, lambda m: m["t"] == "show" and m["seq"] > jacket_seq)
        assert "pinned" not in cleared
        assert [m.get("pinned", {}).get("id") for m in client.of_type("show")] == [
            None,
            "logo-tee",
            "denim-jacket",
            None,
        ]
    assert "pinned" not in shop.show()
    [(body,)] = shop.query("SELECT body FROM show_state")
    assert "pinned" not in json.loads(body)
    await close_all(ann, bob)


async def test_joining_viewer_gets_the_show_right_after_welcome(shop: Shop) -> None:
    await shop.ok({"t": "pin", "product": "BAG-1"})
    await shop.ok({"t": "set_shelf", "products": ["TEE-M", "denim-jacket"]})
    await asyncio.sleep(0.05)

    frame = await first_frame(shop.url, "late-viewer-1")
    assert frame[0]["t"] == "welcome"
    [snapshot] = [m for m in frame if m["t"] == "show" and m["seq"] == 0]
    assert snapshot["seq"] == 0
    assert snapshot["pinned"]["id"] == "canvas-bag"
    assert [p["id"] for p in snapshot["shelf"]] == ["logo-tee", "denim-jacket"]
    assert snapshot == shop.show()


_NEW_PRODUCT = {
    "version": 1,
    "products": [
        {
            "id": "rogue",
            "title": "Rogue",
            "currency": "EUR",
            "variants": [{"sku": "ROGUE-1", "options": {}, "price": 100, "stock": 1}],
        }
    ],
}


@pytest.mark.parametrize(
    "message",
    [
        {"t": "pin", "product": "JKT-M"},
        {"t": "unpin"},
        {"t": "set_shelf", "products": ["BAG-1"]},
        {"t": "start_deal", "price": 500, "seconds": 60},
        {"t": "end_deal"},
        {"t": "feature", "review_id": "r-tee-1"},
        {"t": "import", "format": "json", "data": json.dumps(_NEW_PRODUCT)},
        {"t": "update_variant", "sku": "TEE-M", "stock": 0},
        {"t": "update_variant", "sku": "TEE-M", "price": 1},
        {"t": "orders"},
    ],
    ids=[
        "pin",
        "unpin",
        "set_shelf",
        "start_deal",
        "end_deal",
        "feature",
        "import",
        "update_variant-stock",
        "update_variant-price",
        "orders",
    ],
)
async def test_viewer_cannot_run_the_show(shop: Shop, message: dict[str, Any]) -> None:
    await shop.ok({"t": "pin", "product": "TEE-M"})
    await shop.ok({"t": "start_deal", "price": 999, "seconds": 600})
    await asyncio.sleep(0.05)
    show, seq = shop.show(), shop.hub.store.last_seq
    catalogue = shop.hub.store.catalogue()

    eve = await RawClient.viewer(shop.url, "Eve")
    joined = len(eve.messages)
    await eve.send({**message, "ref": "x"})
    error = await answer(eve, "x")
    assert error["t"] == "error"
    assert error["code"] == "forbidden"
    assert error["message"].startswith("A viewer may not send")

    await asyncio.sleep(0.05)
    assert shop.show() == show
    assert shop.hub.store.last_seq == seq
    assert shop.hub.store.catalogue() == catalogue
    assert shop.stock("TEE-M") == 5
    assert [m["t"] for m in eve.messages[joined:] if m["t"] != "viewers"] == ["error"]
    await eve.close()


# ---------------------------------------------------------------- quote


def _plan(amounts: list[int]) -> list[dict[str, Any]]:
    """Four payments, the first today by the hub's clock, then every 14 days."""
    return [
        {
            "number": i + 1,
            "amount": amount,
            "due": (TODAY + datetime.timedelta(days=14 * i)).isoformat(),
        }
        for i, amount in enumerate(amounts)
    ]


@pytest.mark.parametrize(
    ("sku", "quantity", "unit", "shipping", "total", "plan"),
    [
        # 12.50 + 4.95 = 17.45: 4.36 x 4 leaves 1 cent, which the first payment carries.
        ("TEE-M", 1, 1250, SHIPPING, 1745, [437, 436, 436, 436]),
        # 37.50 + 4.95 = 42.45 = 10.61 x 4 + 1 cent.
        ("TEE-M", 3, 1250, SHIPPING, 4245, [1062, 1061, 1061, 1061]),
        # Exactly 50.00: shipping is free from there.
        ("TEE-M", 4, 1250, 0, 5000, [1250, 1250, 1250, 1250]),
        ("JKT-M", 1, 5000, 0, 5000, [1250, 1250, 1250, 1250]),
        # One cent under: 49.99 + 4.95 = 54.94 = 13.73 x 4 + 2 cents.
        ("BAG-1", 1, 4999, SHIPPING, 5494, [1375, 1373, 1373, 1373]),
    ],
)
async def test_quote_has_price_shipping_total_and_four_instalments(
    shop: Shop, sku: str, quantity: int, unit: int, shipping: int, total: int, plan: list[int]
) -> None:
    ann = await RawClient.viewer(shop.url, "Ann")
    reply = await quote(ann, sku, quantity)
    assert reply["unit_price"] == unit
    assert reply["regular_unit_price"] == unit
    assert reply["subtotal"] == unit * quantity
    assert reply["shipping"] == shipping
    assert reply["total"] == total
    assert reply["currency"] == "EUR"
    assert reply["quantity"] == quantity
    assert reply["stock"] == shop.stock(sku)
    assert reply.get("deal", False) is False
    assert reply["instalments"] == _plan(plan)
    assert sum(i["amount"] for i in reply["instalments"]) == total
    await ann.close()


async def test_quote_of_an_unknown_sku_or_too_many_is_refused(shop: Shop) -> None:
    ann = await RawClient.viewer(shop.url, "Ann")
    await ann.send({"t": "quote", "sku": "NOPE", "ref": "1"})
    assert (await answer(ann, "1"))["code"] == "not_found"
    await ann.send({"t": "quote", "sku": "JKT-M", "quantity": 4, "ref": "2"})
    error = await answer(ann, "2")
    assert error["code"] == "invalid"
    assert error["fields"] == {"quantity": "Only 3 left; choose 3 or fewer."}
    await ann.close()


# ---------------------------------------------------------------- buying once


async def test_same_buy_key_again_and_after_reconnecting_is_one_order(shop: Shop) -> None:
    ann = await RawClient.viewer(shop.url, "Ann", viewer_id="ann-viewer-1")
    first = await buy(ann, "TEE-M", key="tap-0000001")
    assert first["t"] == "order_confirmed", first
    assert first["total"] == 1250 + SHIPPING
    assert first["payment_label"] == "Card •••• 4242"
    again = await buy(ann, "TEE-M", key="tap-0000001")
    assert again["t"] == "order_confirmed", again
    assert again["order_id"] == first["order_id"]
    await ann.close()

    back = await RawClient.viewer(shop.url, "Ann", viewer_id="ann-viewer-1")
    retry = await buy(back, "TEE-M", key="tap-0000001")
    assert retry["t"] == "order_confirmed", retry
    assert retry["order_id"] == first["order_id"]
    assert retry["total"] == first["total"]
    assert (retry["payment_token"], retry["payment_label"]) == (
        first["payment_token"],
        "Card •••• 4242",
    ), "the saved card comes back with the replay, so the next purchase stays two taps"

    await asyncio.sleep(0.1)
    assert shop.stock("TEE-M") == 4
    assert shop.payments.charged == [1745]
    assert shop.query("SELECT id, status FROM orders") == [(first["order_id"], "paid")]
    assert [o["order_id"] for o in shop.host.of_type("order")] == [first["order_id"]]
    assert [s["stock"] for s in shop.host.of_type("stock")] == [4]
    await back.close()


async def test_paying_in_four_takes_the_first_payment_and_confirms_that_plan_again(
    shop: Shop,
) -> None:
    ann = await RawClient.viewer(shop.url, "Ann", viewer_id="ann-viewer-1")
    # 12.50 + 4.95 = 17.45: 4.36 x 4 leaves 1 cent, which the first payment carries.
    offered = (await quote(ann, "TEE-M"))["instalments"]
    assert offered == _plan([437, 436, 436, 436])

    later = await buy(ann, "TEE-M", key="in-four-0001", plan=4)
    assert later["t"] == "order_confirmed", later
    assert (later["total"], later["plan"], later["instalments"]) == (1745, 4, offered)
    assert shop.payments.charged == [437], "only the first payment is taken now"
    assert shop.query("SELECT plan FROM orders WHERE id = ?", later["order_id"]) == [(4,)]

    # A retry three days later replays the plan as placed, not one dated from the retry.
    shop.clock.advance(3 * 86_400)
    again = await buy(ann, "TEE-M", key="in-four-0001", plan=4)
    assert (again["order_id"], again["instalments"]) == (later["order_id"], offered)

    now = await buy(ann, "TEE-M", key="pay-now-0001")
    assert now["t"] == "order_confirmed", now
    assert now.get("plan", 1) == 1, "paid at once (the default, so left out)"
    today = (TODAY + datetime.timedelta(days=3)).isoformat()
    assert now["instalments"] == [{"number": 1, "amount": 1745, "due": today}]
    assert shop.payments.charged == [437, 1745]

    refused = await buy(ann, "TEE-M", key="in-three-01", plan=3)
    assert refused["code"] == "invalid"
    assert "pay now or in 4 interest-free payments" in refused["fields"]["plan"]
    assert shop.payments.charged == [437, 1745]
    assert shop.stock("TEE-M") == 3
    orders = (await shop.ok({"t": "orders"}))["orders"]
    assert sorted(o.get("plan", 1) for o in orders) == [1, 4]
    await ann.close()


async def test_double_tap_without_waiting_is_one_order(shop: Shop) -> None:
    shop.payments.delay = 0.2  # both copies arrive while the first is being paid
    ann = await RawClient.viewer(shop.url, "Ann", viewer_id="ann-viewer-1")
    await ann.send(buy_message("TEE-M", "double-tap-1", "a"))
    await ann.send(buy_message("TEE-M", "double-tap-1", "b"))
    a, b = await answer(ann, "a"), await answer(ann, "b")
    assert a["t"] == b["t"] == "order_confirmed", (a, b)
    assert a["order_id"] == b["order_id"]

    # The same key from two tabs of the same viewer at once: still one purchase.
    tab1 = await RawClient.viewer(shop.url, "Ann", viewer_id="ann-viewer-1")
    tab2 = await RawClient.viewer(shop.url, "Ann", viewer_id="ann-viewer-1")
    await asyncio.gather(
        tab1.send(buy_message("TEE-M", "two-tabs-01", "c")),
        tab2.send(buy_message("TEE-M", "two-tabs-01", "d")),
    )
    c, d = await answer(tab1, "c"), await answer(tab2, "d")
    assert c["t"] == d["t"] == "order_confirmed", (c, d)
    assert c["order_id"] == d["order_id"] != a["order_id"]

    await asyncio.sleep(0.1)
    assert shop.stock("TEE-M") == 3
    assert shop.payments.charged == [1745, 1745]
    assert sorted(shop.query("SELECT id FROM orders")) == sorted(
        [(a["order_id"],), (c["order_id"],)]
    )
    assert sorted(o["order_id"] for o in shop.host.of_type("order")) == sorted(
        [a["order_id"], c["order_id"]]
    )
    await close_all(ann, tab1, tab2)


async def test_flash_crowd_buys_exactly_the_stock(shop: Shop) -> None:
    units, buyers = 5, 40
    shop.payments.delay = 0.02  # reservations overlap with payments in flight
    await shop.ok({"t": "pin", "product": "TEE-L"})
    crowd = await asyncio.gather(
        *(
            RawClient.viewer(shop.url, f"Buyer {n}", viewer_id=f"crowd-{n:04d}")
            for n in range(buyers)
        )
    )
    await asyncio.gather(
        *(c.send(buy_message("TEE-L", f"crowd-key-{n:04d}", "go")) for n, c in enumerate(crowd))
    )
    replies = await asyncio.gather(*(answer(c, "go", timeout=15) for c in crowd))

    confirmed = [r for r in replies if r["t"] == "order_confirmed"]
    refused = [r for r in replies if r["t"] == "error"]
    assert len(confirmed) == units
    assert len({r["order_id"] for r in confirmed}) == units
    assert len(refused) == buyers - units
    assert {r["code"] for r in refused} == {"sold_out"}

    await asyncio.sleep(0.1)
    assert shop.stock("TEE-L") == 0
    assert shop.stock("TEE-M") == 5
    assert shop.query("SELECT status, COUNT(*), SUM(quantity) FROM orders GROUP BY status") == [
        ("paid", units, units)
    ]
    assert sorted(r[0] for r in shop.query("SELECT id FROM orders")) == sorted(
        r["order_id"] for r in confirmed
    )
    assert len(shop.payments.charged) == units
    stock_seen = [s["stock"] for s in shop.host.of_type("stock") if s["sku"] == "TEE-L"]
    assert stock_seen == [4, 3, 2, 1, 0]
    assert len(shop.host.of_type("order")) == units
    await close_all(*crowd)


# ---------------------------------------------------------------- payment failure


@pytest.mark.parametrize(
    ("card", "unavailable", "message"),
    [
        (DECLINED_TEST_CARD, False, "Your card was declined; use another card."),
        (
            ACCEPTED_TEST_CARD,
            True,
            "The payment service is not answering; nothing was charged. Try again in a minute.",
        ),
    ],
    ids=["declined", "provider-down"],
)
async def test_failed_payment_puts_the_units_back(
    shop: Shop, card: str, unavailable: bool, message: str
) -> None:
    shop.payments.unavailable = unavailable
    ann = await RawClient.viewer(shop.url, "Ann")
    error = await buy(ann, "JKT-M", key="fails-00001", card=card)
    assert error["t"] == "error"
    assert error["code"] == "payment_declined"
    assert error["message"] == message

    await asyncio.sleep(0.1)
    assert shop.stock("JKT-M") == 3
    assert shop.query("SELECT status, failure FROM orders") == [("failed", message)]
    assert shop.payments.charged == []
    for client in (ann, shop.host):
        assert [s["stock"] for s in client.of_type("stock")] == [2, 3]
        assert client.of_type("order") == []

    # The same purchase again is not paid twice by accident: it reports the failure.
    again = await buy(ann, "JKT-M", key="fails-00001")
    assert again["code"] == "payment_declined"
    shop.payments.unavailable = False
    fresh = await buy(ann, "JKT-M", key="fixed-00001")
    assert fresh["t"] == "order_confirmed", fresh
    assert shop.stock("JKT-M") == 2
    await ann.close()


# ---------------------------------------------------------------- owners


async def test_owner_badge_follows_the_pinned_product(shop: Shop) -> None:
    await shop.ok({"t": "pin", "product": "logo-tee"})
    ann = await RawClient.viewer(shop.url, "Ann", viewer_id="ann-viewer-1")
    bob = await RawClient.viewer(shop.url, "Bob", viewer_id="bob-viewer-1")
    assert (await buy(ann, "TEE-M"))["t"] == "order_confirmed"

    async def say(client: RawClient, text: str) -> dict[str, Any]:
        await client.send({"t": "comment", "text": text})
        return await wait_until(shop.host, lambda m: m["t"] == "comment" and m["text"] == text)

    assert (await say(ann, "Love mine!")).get("owner") is True
    assert (await say(bob, "Does it shrink?")).get("owner", False) is False
    await shop.ok({"t": "pin", "product": "JKT-M"})
    assert (await say(ann, "Nice jacket")).get("owner", False) is False
    # Back on the tee, the badge is back: ownership comes from the orders, not memory.
    await shop.ok({"t": "pin", "product": "TEE-L"})
    assert (await say(ann, "Still love it")).get("owner") is True
    stored = shop.query("SELECT body FROM events WHERE type = 'comment' ORDER BY seq")
    assert [json.loads(b).get("owner", False) for (b,) in stored] == [True, False, False, True]
    await close_all(ann, bob)


# ---------------------------------------------------------------- deals


def _deal(client: RawClient) -> dict[str, Any] | None:
    """The deal in the last show the client received."""
    return client.of_type("show")[-1].get("deal")


async def test_deal_ends_by_the_hub_clock(shop: Shop) -> None:
    await shop.ok({"t": "pin", "product": "TEE-M"})
    ann = await RawClient.viewer(shop.url, "Ann")
    bob = await RawClient.viewer(shop.url, "Bob")
    started = shop.clock.now
    await shop.ok({"t": "start_deal", "price": 999, "seconds": 5})
    expected = {"product_id": "logo-tee", "price": 999, "currency": "EUR", "ends": started + 5}
    for client in (ann, bob, shop.host):
        show = await wait_until(client, lambda m: m["t"] == "show" and "deal" in m)
        assert show["deal"] == expected
    during = await quote(ann, "TEE-M")
    assert (during["unit_price"], during["regular_unit_price"]) == (999, 1250)
    assert (during["total"], during["deal"]) == (999 + SHIPPING, True)

    # One second after the end by the hub's clock, whatever the pages still show (the
    # timer has not fired yet): the price is the regular one again.
    shop.clock.now = started + 6
    after = await quote(ann, "TEE-M")
    assert (after["unit_price"], after["total"]) == (1250, 1250 + SHIPPING)
    assert after.get("deal", False) is False
    stale = await buy(ann, "TEE-M", key="stale-total", total=999 + SHIPPING)
    assert stale["t"] == "error"
    assert stale["code"] == "price_changed"
    assert shop.payments.charged == []
    assert shop.query("SELECT COUNT(*) FROM orders") == [(0,)]
    assert shop.stock("TEE-M") == 5
    full = await buy(bob, "TEE-M", key="full-price")
    assert full["t"] == "order_confirmed", full
    assert full["total"] == 1250 + SHIPPING
    assert shop.query("SELECT unit_price, total, deal FROM orders") == [(1250, 1745, 0)]

    for client in (ann, bob, shop.host):
        [ended] = await client.wait_for("deal_end", timeout=10)
        assert (ended["product_id"], ended["reason"]) == ("logo-tee", "time")
        last = await wait_until(client, lambda m, s=ended["seq"]: m["t"] == "show" and m["seq"] > s)
        assert "deal" not in last
        assert last["pinned"]["id"] == "logo-tee"
    assert "deal" not in shop.show()
    await close_all(ann, bob)


async def test_deal_price_for_max_units_then_it_ends_sold(shop: Shop) -> None:
    shop.payments.delay = 0.05  # the three purchases are paid for at the same time
    await shop.ok({"t": "pin", "product": "TEE-M"})
    await shop.ok({"t": "start_deal", "price": 999, "seconds": 600, "max_units": 2})
    buyers = [await RawClient.viewer(shop.url, f"Buyer {n}") for n in range(3)]
    replies = await asyncio.gather(*(buy(b, "TEE-M") for b in buyers))

    assert sorted(r["total"] for r in replies) == [999 + SHIPPING, 999 + SHIPPING, 1250 + SHIPPING]
    assert sorted(shop.query("SELECT unit_price, deal FROM orders")) == [
        (999, 1),
        (999, 1),
        (1250, 0),
    ]
    [ended] = await shop.host.wait_for("deal_end")
    assert ended["reason"] == "sold"
    await asyncio.sleep(0.1)
    assert len(shop.host.of_type("deal_end")) == 1
    assert _deal(shop.host) is None
    assert "deal" not in shop.show()
    assert shop.stock("TEE-M") == 2
    await close_all(*buyers)


async def test_deal_counts_sales_and_a_failed_payment_gives_the_unit_back(shop: Shop) -> None:
    await shop.ok({"t": "pin", "product": "TEE-M"})
    await shop.ok({"t": "start_deal", "price": 999, "seconds": 600, "max_units": 2})
    ann = await RawClient.viewer(shop.url, "Ann")
    assert (await buy(ann, "TEE-M"))["total"] == 999 + SHIPPING
    await wait_until(shop.host, lambda m: m["t"] == "show" and m.get("deal", {}).get("sold") == 1)
    declined = await buy(ann, "TEE-M", card=DECLINED_TEST_CARD)
    assert declined["code"] == "payment_declined"
    assert shop.show()["deal"]["sold"] == 1
    last = await buy(ann, "TEE-M")
    assert last["total"] == 999 + SHIPPING
    [ended] = await shop.host.wait_for("deal_end")
    assert ended["reason"] == "sold"
    await ann.close()


# ---------------------------------------------------------------- checkout form


async def test_bad_buyer_details_are_refused_with_fields_and_nothing_stored(shop: Shop) -> None:
    ann = await RawClient.viewer(shop.url, "Ann")
    seq = shop.hub.store.last_seq
    error = await buy(ann, "TEE-M", buyer={**BUYER, "email": "ann@", "postal_code": "?"})
    assert error["t"] == "error"
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {"email", "postal_code"}
    assert "postal code" in error["fields"]["postal_code"]
    assert "after the @" in error["fields"]["email"]

    await asyncio.sleep(0.05)
    assert shop.query("SELECT COUNT(*) FROM orders") == [(0,)]
    assert shop.stock("TEE-M") == 5
    assert shop.hub.store.last_seq == seq
    assert shop.payments.charged == []
    assert ann.of_type("stock") == []
    await ann.close()


# ---------------------------------------------------------------- reviews


async def test_only_an_owner_reviews_and_only_once(shop: Shop) -> None:
    ann = await RawClient.viewer(shop.url, "Ann", viewer_id="ann-viewer-1")
    bob = await RawClient.viewer(shop.url, "Bob", viewer_id="bob-viewer-1")
    review = {"t": "review", "product_id": "logo-tee", "rating": 4, "text": "Great fit."}

    await bob.send({**review, "ref": "r1"})
    refused = await answer(bob, "r1")
    assert refused["code"] == "forbidden"
    assert shop.query("SELECT COUNT(*) FROM reviews WHERE product_id = 'logo-tee'") == [(1,)]

    assert (await buy(ann, "TEE-L"))["t"] == "order_confirmed"
    await ann.send({**review, "ref": "r2"})
    assert (await answer(ann, "r2"))["t"] == "ack"
    for client in (ann, bob, shop.host):
        [added] = await client.wait_for("review")
        assert added["product_id"] == "logo-tee"
        assert {k: added["review"][k] for k in ("author", "rating", "text", "verified_owner")} == {
            "author": "Ann",
            "rating": 4,
            "text": "Great fit.",
            "verified_owner": True,
        }
        assert added["review"]["created"] == TODAY.isoformat()
    review_id = ann.of_type("review")[0]["review"]["id"]
    assert shop.query(
        "SELECT id, viewer_id, rating, verified_owner FROM reviews WHERE viewer_id IS NOT NULL"
    ) == [(review_id, "ann-viewer-1", 4, 1)]
    [tee] = shop.hub.store.catalogue(product_ids=["logo-tee"])
    assert [r.id for r in tee.reviews] == [review_id, "r-tee-1"]

    await ann.send({**review, "text": "Even better now.", "ref": "r3"})
    again = await answer(ann, "r3")
    assert again["t"] == "error"
    assert again["code"] == "invalid"
    assert shop.query("SELECT COUNT(*) FROM reviews WHERE product_id = 'logo-tee'") == [(2,)]

    await shop.ok({"t": "feature", "review_id": review_id})
    featured = await wait_until(bob, lambda m: m["t"] == "show" and "featured" in m)
    assert featured["featured"] == {
        "kind": "review",
        "author": "Ann",
        "text": "Great fit.",
        "rating": 4,
        "verified_owner": True,
        "product_id": "logo-tee",
    }
    await close_all(ann, bob)


# ---------------------------------------------------------------- restart and crash


async def test_show_state_survives_a_restart(data_dir: Path) -> None:
    clock = FakeClock()
    async with running_hub(data_dir, clock, CountingSandbox()) as hub:
        host = await RawClient.staff(hub.local_ws_url, hub.issue_token("host", "Mia"))
        for n, message in enumerate(
            [
                {"t": "pin", "product": "TEE-M"},
                {"t": "set_shelf", "products": ["JKT-M", "canvas-bag"]},
                {"t": "start_deal", "price": 999, "seconds": 600, "max_units": 10},
                {"t": "feature", "review_id": "r-tee-1"},
            ]
        ):
            await host.send({**message, "ref": str(n)})
            assert (await answer(host, str(n)))["t"] == "ack"
        before = json.loads(hub.room.shop.snapshot())
        await host.close()
    assert before["deal"] == {
        "product_id": "logo-tee",
        "price": 999,
        "currency": "EUR",
        "ends": START + 600,
        "max_units": 10,
    }

    clock.advance(30)
    async with running_hub(data_dir, clock, CountingSandbox()) as hub:
        frame = await first_frame(hub.local_ws_url, "back-viewer-1")
        assert [m for m in frame if m["t"] == "show" and m["seq"] == 0] == [before]
        ann = await RawClient.viewer(hub.local_ws_url, "Ann")
        assert (await quote(ann, "TEE-M"))["unit_price"] == 999
        await ann.close()

    # Down past the deal's end: the deal is over when the hub comes back, by its clock.
    clock.advance(600)
    async with running_hub(data_dir, clock, CountingSandbox()) as hub:
        ann = await RawClient.viewer(hub.local_ws_url, "Ann")
        [ended] = await ann.wait_for("deal_end")
        assert ended["reason"] == "time"
        show = await wait_until(ann, lambda m: m["t"] == "show" and m["seq"] > ended["seq"])
        assert "deal" not in show
        assert show["pinned"]["id"] == "logo-tee"
        assert show["featured"]["text"] == SEED_REVIEW.text
        assert (await quote(ann, "TEE-M"))["unit_price"] == 1250
        await ann.close()


async def test_reservation_left_by_a_crash_is_released_after_its_expiry(data_dir: Path) -> None:
    clock = FakeClock()
    stuck = StuckPayments()
    async with running_hub(data_dir, clock, stuck) as hub:
        ann = await RawClient.viewer(hub.local_ws_url, "Ann")
        await ann.send(buy_message("JKT-M", "crash-00001", "b"))
        await wait_until(ann, lambda m: m["t"] == "stock" and m["stock"] == 2)
        assert query(data_dir, "SELECT status FROM orders") == [("reserved",)]
        # The process dies while the provider has not answered.
        for task in stuck.waiting:
            task.cancel()
        await asyncio.gather(*stuck.waiting, return_exceptions=True)
        await ann.close()
    assert query(data_dir, "SELECT stock FROM variants WHERE sku = 'JKT-M'") == [(2,)]
    assert query(data_dir, "SELECT status FROM orders") == [("reserved",)]

    # A hub that starts before the reservation expires leaves it alone: in a cluster
    # another hub may be taking that payment right now.
    clock.advance(RESERVATION_SECONDS - 1)
    async with running_hub(data_dir, clock, CountingSandbox()) as hub:
        assert query(data_dir, "SELECT status FROM orders") == [("reserved",)]
        assert query(data_dir, "SELECT stock FROM variants WHERE sku = 'JKT-M'") == [(2,)]
        bob = await RawClient.viewer(hub.local_ws_url, "Bob")
        clock.advance(1)
        # The room's housekeeping releases it once expired, as a room event like any other.
        await wait_until(
            bob, lambda m: m["t"] == "stock" and m["sku"] == "JKT-M" and m["stock"] == 3
        )
        assert query(data_dir, "SELECT stock FROM variants WHERE sku = 'JKT-M'") == [(3,)]
        assert query(data_dir, "SELECT status, failure FROM orders") == [
            ("failed", "the payment did not finish before the reservation expired")
        ]
        assert (await quote(bob, "JKT-M"))["stock"] == 3
        await bob.send({"t": "comment", "text": "Back again", "ref": "c"})
        assert (await answer(bob, "c"))["t"] == "ack"
        [comment] = await bob.wait_for("comment")
        assert comment["seq"] == hub.store.last_seq
        await bob.close()


class GatedPayments(SandboxProvider):
    """The real sandbox, answering only once the test opens the gate (a slow provider)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()

    async def charge(
        self, *, amount: Money, payment: str, idempotency_key: str, description: str
    ) -> Charge:
        await self.gate.wait()
        return await super().charge(
            amount=amount,
            payment=payment,
            idempotency_key=idempotency_key,
            description=description,
        )


async def test_a_payment_that_confirms_after_the_reservation_expired_is_no_sale(
    data_dir: Path,
) -> None:
    clock = FakeClock()
    slow = GatedPayments()
    async with running_hub(data_dir, clock, slow) as hub:
        ann = await RawClient.viewer(hub.local_ws_url, "Ann")
        await ann.send(buy_message("JKT-M", "slow-000001", "b"))
        await wait_until(ann, lambda m: m["t"] == "stock" and m["stock"] == 2)
        clock.advance(RESERVATION_SECONDS)
        # The housekeeping puts the units back while the provider still has not answered.
        await wait_until(ann, lambda m: m["t"] == "stock" and m["stock"] == 3)
        slow.gate.set()
        refused = await answer(ann, "b")
        assert refused["t"] == "error" and refused["code"] == "payment_declined", refused
        assert "reservation ran out" in refused["message"]
        assert query(data_dir, "SELECT status FROM orders") == [("failed",)]
        assert query(data_dir, "SELECT COUNT(*) FROM events WHERE type = 'order'") == [(0,)]
        assert query(data_dir, "SELECT stock FROM variants WHERE sku = 'JKT-M'") == [(3,)]
        await ann.close()


# ---------------------------------------------------------------- import


SHOPIFY_CSV = REPO / "tests" / "data" / "shopify_products.csv"


async def test_staff_import_a_shopify_csv_over_the_websocket(shop: Shop) -> None:
    result = await shop.ok(
        {
            "t": "import",
            "format": "shopify_csv",
            "data": SHOPIFY_CSV.read_text(encoding="utf-8"),
            "currency": "EUR",
        }
    )
    assert result["t"] == "import_result"
    assert (result["imported"], result["rows"]) == (3, 22)
    assert [(e["line"], e["handle"]) for e in result["errors"]] == [
        (19, "wool-beanie"),
        (20, "wool-beanie"),
        (22, "silk-scarf"),
        (24, "canvas-tote"),
        (25, "leather-belt"),
        (27, "cord-cap"),
    ]
    assert result["errors"][0]["message"] == (
        "Variant Price 'abc' is not a price; write it like 19.99"
    )
    assert result["errors"][3]["message"] == "duplicate SKU 'MUG-1' (also on line 17)"

    catalogue = await shop.ok({"t": "catalogue"})
    products = {p["id"]: p for p in catalogue["products"]}
    assert list(products) == [
        "logo-tee",
        "denim-jacket",
        "canvas-bag",
        "linen-shirt",
        "trail-backpack",
        "stoneware-mug",
    ]
    backpack = products["trail-backpack"]
    assert backpack["title"] == "Trail Backpack 28L"
    assert [
        (v["sku"], v["price"], v.get("compare_at"), v["stock"]) for v in backpack["variants"]
    ] == [
        ("TB-BLK-28-STD", 12900, None, 5),
        ("TB-BLK-28-PAD", 13950, None, 3),
        ("TB-OCH-32-STD", 124900, 149900, 2),
    ]
    assert [v["stock"] for v in products["linen-shirt"]["variants"]] == [12, 4, 0, 7, 0, 0]
    assert shop.query("SELECT COUNT(*) FROM products WHERE id = 'wool-beanie'") == [(0,)]

    # Imported products are sold like any other.
    await shop.ok({"t": "pin", "product": "MUG-1"})
    ann = await RawClient.viewer(shop.url, "Ann")
    bought = await buy(ann, "MUG-1")
    assert bought["total"] == 1490 + SHIPPING
    assert shop.stock("MUG-1") == 2
    await ann.close()


# ---------------------------------------------------------------- ctl


async def ctl(shop: Shop, *args: str, token: str | None = None) -> tuple[int, str, str]:
    """Run ``python -m console ctl`` against the hub; the hub keeps serving meanwhile."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "console",
        "ctl",
        "--hub",
        shop.url,
        "--token",
        token or shop.token,
        *args,
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode().strip(), err.decode().strip()


async def test_ctl_pins_a_product(shop: Shop) -> None:
    code, out, err = await ctl(shop, "pin", "JKT-M")
    assert (code, out, err) == (0, "Pinned JKT-M.", "")
    assert shop.show()["pinned"]["id"] == "denim-jacket"
    await wait_until(shop.host, pinned_show("denim-jacket"))


async def test_ctl_pin_during_a_deal_is_refused_unless_it_may_end_the_deal(shop: Shop) -> None:
    code, _, err = await ctl(shop, "deal", "JKT-M", "--price", "19.99", "--seconds", "60")
    assert (code, err) == (0, "")
    code, out, err = await ctl(shop, "pin", "BAG-1")
    assert (code, out) == (1, "")
    assert "deal" in err
    assert shop.show()["pinned"]["id"] == "denim-jacket"
    code, out, err = await ctl(shop, "pin", "BAG-1", "--end-deal")
    assert (code, out, err) == (0, "Pinned BAG-1.", "")
    assert shop.show()["pinned"]["id"] == "canvas-bag"
    assert "deal" not in shop.show()


async def test_ctl_with_a_wrong_token_fails_clearly(shop: Shop) -> None:
    code, out, err = await ctl(shop, "pin", "JKT-M", token="not-a-real-token")
    assert code == 1
    assert out == ""
    assert err == (
        "shopcast ctl: This staff token is not known to the hub; check it or ask for a new one."
    )
    assert "pinned" not in shop.show()


async def test_ctl_starts_a_deal(shop: Shop) -> None:
    code, out, err = await ctl(
        shop, "deal", "JKT-M", "--price", "19.99", "--seconds", "60", "--max", "5"
    )
    assert (code, err) == (0, "")
    assert out.startswith("Deal on Denim Jacket: ")
    show = shop.show()
    assert show["pinned"]["id"] == "denim-jacket"
    assert show["deal"] == {
        "product_id": "denim-jacket",
        "price": 1999,
        "currency": "EUR",
        "ends": START + 60,
        "max_units": 5,
    }
    ann = await RawClient.viewer(shop.url, "Ann")
    assert (await quote(ann, "JKT-M"))["unit_price"] == 1999
    await ann.close()
