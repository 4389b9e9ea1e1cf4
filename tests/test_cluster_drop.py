"""A flash drop on three hubs behind nginx: one PostgreSQL store, one Redis bus, buyers
on every hub (docs/cluster.md, "Stock, reservations and replayed buys"). Real processes
and servers throughout; the payments are each hub's sandbox."""

from __future__ import annotations

import asyncio
import itertools
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from console.store import Store
from console.store.records import NewOrder
from tests.support.browser import HubProcess, start_hub
from tests.support.clients import RawClient
from tests.support.nginx import nginx_in_front
from tests.support.postgres import Postgres
from tests.support.redis import redis_url
from tests.support.storedb import rows, value
from tests.test_shop_hub import BUYER

__all__ = ["redis_url"]  # the session's redis-server, a fixture

pytestmark = pytest.mark.timeout(240)

#: The drop: units on the shelf, and many more buyers than units.
UNITS = 20
BUYERS = 60
SKU = "LS-M-WHT"  # the demo catalogue's linen shirt, M, white
PRODUCT = "linen-shirt"
DEAL_PRICE = 2900
#: Short, so the test sees a dead hub's reservations expire; a sandbox payment takes
#: milliseconds, and one that overran would be refused, never confirmed.
RESERVATION_SECONDS = 5
CARD = "4242424242424242"
_refs = itertools.count()


class Cluster:
    """Three hubs on one database and one Redis, nginx in front, and a look at the store."""

    def __init__(self, hubs: list[HubProcess], edge: str, database: str, data: Path) -> None:
        self.hubs = hubs
        self.edge = edge
        self.database = database
        self._data = data

    def store(self) -> Store:
        """The shared store, opened as one more hub would (only committed rows are seen)."""
        return Store.open(self._data, database=self.database)


@pytest.fixture
def cluster(redis_url: str, postgres: Postgres, tmp_path: Path) -> Iterator[Cluster]:
    database = postgres.fresh_database()
    shared = ("--database", database, "--redis", redis_url, "--trusted-proxy", "127.0.0.1",
              "--reservation-seconds", str(RESERVATION_SECONDS))  # fmt: skip
    hubs: list[HubProcess] = []
    try:
        for _ in range(3):
            hubs.append(start_hub(tmp_path / "hubs", extra=shared))
        edge = [f"127.0.0.1:{hub.port}" for hub in hubs]
        with nginx_in_front(edge, tmp_path / "nginx") as address:
            yield Cluster(hubs, f"ws://{address}/ws", database, tmp_path / "look")
    finally:
        for hub in hubs:
            if hub.process.poll() is None:
                hub.stop()


async def _answer(client: RawClient, ref: str, timeout: float = 30.0) -> dict[str, Any] | None:
    """The hub's answer to ``ref``; None if the connection closed first (its hub died)."""
    async with asyncio.timeout(timeout):
        while True:
            for message in client.messages:
                if message.get("ref") == ref:
                    return message
            if client.ws.close_code is not None:
                return None
            await asyncio.sleep(0.01)


async def _ask(client: RawClient, message: dict[str, Any]) -> dict[str, Any]:
    ref = f"ask-{next(_refs)}"
    await client.send({**message, "ref": ref})
    answer = await _answer(client, ref)
    assert answer is not None, "the hub closed the connection"
    return answer


def _buy(key: str, ref: str | None = None, total: int | None = None) -> dict[str, Any]:
    """A viewer page's ``buy`` of one unit (``ref`` none: :func:`_ask` gives one)."""
    message: dict[str, Any] = {"t": "buy", "key": key, "sku": SKU, "quantity": 1,
                               "buyer": BUYER, "payment": CARD, "ref": ref}  # fmt: skip
    if total is not None:
        message["total"] = total
    return message


async def _until(check: Any, timeout: float = 20.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.05)


def _refs_answered(client: RawClient) -> set[str]:
    return {m["ref"] for m in client.messages if m.get("ref")}


def _stock_seen(client: RawClient) -> list[int]:
    return [m["stock"] for m in client.of_type("stock") if m["sku"] == SKU]


async def _viewers(urls: list[str], prefix: str) -> list[RawClient]:
    return [
        await RawClient.viewer(url, f"Buyer {n}", viewer_id=f"{prefix}-{n:04d}")
        for n, url in enumerate(urls)
    ]


async def test_a_flash_drop_across_three_hubs_sells_each_unit_once(cluster: Cluster) -> None:
    a, b, c = cluster.hubs
    host = await RawClient.staff(a.ws_url, a.token)
    watchers = [await RawClient.viewer(hub.ws_url, "Watcher") for hub in (a, b, c)]
    buyers: list[RawClient] = []
    try:
        # The host sets the drop up through hub A alone.
        assert (await _ask(host, {"t": "update_variant", "sku": SKU, "stock": UNITS}))["t"] == "ack"
        assert (await _ask(host, {"t": "pin", "product": PRODUCT}))["t"] == "ack"
        started = await _ask(host, {"t": "start_deal", "price": DEAL_PRICE, "seconds": 600})
        assert started["t"] == "ack", started

        def dealt(client: RawClient) -> bool:
            return any(m["t"] == "show" and "deal" in m for m in client.messages)

        await _until(lambda: all(dealt(w) for w in watchers))
        # A quarter of the buyers on each hub's own port, a quarter through nginx.
        urls = [hub.ws_url for hub in (a, b, c) for _ in range(BUYERS // 4)]
        urls += [cluster.edge] * (BUYERS - len(urls))
        buyers = await _viewers(urls, "drop")
        for buyer in buyers:
            [show] = [m for m in buyer.messages if m["t"] == "show" and m["seq"] == 0]
            assert show["pinned"]["id"] == PRODUCT, "every hub shows what A pinned"
            assert show["deal"]["price"] == DEAL_PRICE, "and the deal A started"
        on_c = await _ask(buyers[2 * (BUYERS // 4)], {"t": "quote", "sku": SKU, "quantity": 1})
        assert on_c["unit_price"] == DEAL_PRICE, on_c
        total = on_c["total"]

        refs = [f"buy-{n}" for n in range(BUYERS)]
        keys = [f"drop-key-{n:04d}" for n in range(BUYERS)]
        await asyncio.gather(
            *(
                buyer.send(_buy(key, ref, total))
                for buyer, key, ref in zip(buyers, keys, refs, strict=True)
            )
        )
        answers = await asyncio.gather(
            *(_answer(buyer, ref) for buyer, ref in zip(buyers, refs, strict=True))
        )
        assert all(answer is not None for answer in answers)
        confirmed = [m for m in answers if m is not None and m["t"] == "order_confirmed"]
        refused = [m for m in answers if m is not None and m["t"] == "error"]
        assert len(confirmed) == UNITS, "exactly the units on the shelf are sold"
        assert {m["code"] for m in refused} == {"sold_out"}, refused
        assert len({m["order_id"] for m in confirmed}) == UNITS

        # The same buy replayed through another hub is the same order, not a second.
        first = next(
            n for n, m in enumerate(answers) if m is not None and m["t"] == "order_confirmed"
        )
        again = await RawClient.viewer(
            c.ws_url if urls[first] != c.ws_url else b.ws_url,
            "Again",
            viewer_id=f"drop-{first:04d}",
        )
        try:
            replay = await _ask(again, _buy(keys[first], total=total))
        finally:
            await again.close()
        assert replay["t"] == "order_confirmed", replay
        assert replay["order_id"] == answers[first]["order_id"]  # type: ignore[index]

        store = cluster.store()
        try:
            assert store.orders.stock(SKU) == 0
            paid = rows(store, "SELECT id FROM orders WHERE status = 'paid'")
            assert {order_id for (order_id,) in paid} == {m["order_id"] for m in confirmed}
            assert value(store, "SELECT COUNT(*) FROM orders WHERE status = 'reserved'") == 0
        finally:
            store.close()
        await _until(lambda: all(_stock_seen(w)[-1:] == [0] for w in watchers))
        assert all(min(_stock_seen(w)) >= 0 for w in watchers), "stock never below zero"
    finally:
        for client in (host, *watchers, *buyers):
            await client.close()


def _stranded(viewer_id: str, key: str, now: float) -> NewOrder:
    """An order as a hub reserves it before the payment, for the hub that dies there."""
    return NewOrder(order_id="SC-STRANDED", key=key, viewer_id=viewer_id, name="Cut Off",
                    email="cut@example.com", address={"address1": "Hauptstraße 1"},
                    country="DE", product_id=PRODUCT, sku=SKU, title="Linen shirt",
                    quantity=1, unit_price=4900, shipping=0, total=4900, currency="EUR",
                    deal=False, expires=now + RESERVATION_SECONDS)  # fmt: skip


async def test_a_hub_killed_mid_drop_loses_no_confirmed_order_and_leaks_no_stock(
    cluster: Cluster,
) -> None:
    """kill -9 of hub C once it sold a unit, its other buyers' purchases in flight. They
    buy again with the same keys through nginx; every confirmation anyone got is a paid
    order, and once the reservations of the dead (C's, and one cut off right after its
    reserve) expire, the shelf and the paid orders add up to the units of the drop."""
    a, b, c = cluster.hubs
    host = await RawClient.staff(a.ws_url, a.token)
    watchers = [await RawClient.viewer(hub.ws_url, "Watcher") for hub in (a, b)]
    buyers: list[RawClient] = []
    again: list[RawClient] = []
    try:
        assert (await _ask(host, {"t": "update_variant", "sku": SKU, "stock": UNITS}))["t"] == "ack"
        store = cluster.store()
        try:
            # As a hub that took this reservation and died before paying it leaves it.
            now = time.time()
            store.orders.reserve(_stranded("cut-off-0001", "cut-key-0001", now), now)
        finally:
            store.close()
        urls = [hub.ws_url for _ in range(BUYERS // 3) for hub in (c, a, b)]
        buyers = await _viewers(urls, "kill")
        keys = [f"kill-key-{n:04d}" for n in range(BUYERS)]
        refs = [f"buy-{n}" for n in range(BUYERS)]
        on_c = [n for n, url in enumerate(urls) if url == c.ws_url]

        def c_sold() -> bool:
            return any(
                m.get("ref") == refs[n] and m["t"] == "order_confirmed"
                for n in on_c
                for m in buyers[n].messages
            )

        await asyncio.gather(
            *(
                buyer.send(_buy(key, ref))
                for buyer, key, ref in zip(buyers, keys, refs, strict=True)
            )
        )
        # C dies mid-drop: once it confirmed a sale, while others of its buyers wait (or,
        # on a machine so slow that A and B sold everything first, once it answered all).
        await _until(lambda: c_sold() or all(refs[n] in _refs_answered(buyers[n]) for n in on_c))
        c.process.send_signal(signal.SIGKILL)
        c.process.wait(10)
        answers = await asyncio.gather(
            *(_answer(buyer, ref) for buyer, ref in zip(buyers, refs, strict=True))
        )
        assert all(answers[n] is not None for n in range(BUYERS) if n not in on_c), "A, B answer"
        # Every buyer of C buys again, with the same key, through nginx (to A or B).
        cut_off = [n for n, answer in enumerate(answers) if answer is None]
        replays: dict[int, dict[str, Any]] = {}
        again = [
            await RawClient.viewer(cluster.edge, f"Buyer {n}", viewer_id=f"kill-{n:04d}")
            for n in cut_off
        ]
        for client, n in zip(again, cut_off, strict=True):
            replays[n] = await _ask(client, _buy(keys[n]))

        outcome = {n: answer for n, answer in enumerate(answers) if answer is not None}
        outcome.update(replays)
        assert len(outcome) == BUYERS
        confirmed = {f"kill-{n:04d}": m["order_id"] for n, m in outcome.items()
                     if m["t"] == "order_confirmed"}  # fmt: skip
        refused = [m for n, m in outcome.items() if m["t"] == "error" and n not in replays]
        assert {m["code"] for m in refused} <= {"sold_out"}, refused
        # A replay finds its order paid, or pays it now, or finds C's reservation lapsed.
        replayed = {m["code"] for m in replays.values() if m["t"] == "error"}
        assert replayed <= {"sold_out", "payment_declined"}, replays

        def reserved() -> int:
            store = cluster.store()
            try:
                return int(value(store, "SELECT COUNT(*) FROM orders WHERE status = 'reserved'"))
            finally:
                store.close()

        # The live hubs' housekeeping releases what the dead left, once it expires.
        await _until(lambda: reserved() == 0, timeout=60)
        store = cluster.store()
        try:
            paid = rows(store, "SELECT viewer_id, id, quantity FROM orders WHERE status = 'paid'")
            assert {viewer: order_id for viewer, order_id, _ in paid} == confirmed, (
                "every confirmation is a paid order, and every paid order was confirmed"
            )
            assert len(paid) == len(confirmed), "one order per buyer"
            stock = store.orders.stock(SKU)
            assert stock is not None and stock >= 0
            assert stock + sum(quantity for _, _, quantity in paid) == UNITS, "nothing leaked"
            [(status, failure)] = rows(
                store, "SELECT status, failure FROM orders WHERE id = 'SC-STRANDED'"
            )
            assert status == "failed" and "expired" in failure
        finally:
            store.close()
        await _until(lambda: all(_stock_seen(w)[-1:] == [stock] for w in watchers))
    finally:
        for client in (host, *watchers, *buyers, *again):
            await client.close()


async def test_a_buy_cut_off_mid_payment_is_paid_by_the_hub_it_is_replayed_on(
    cluster: Cluster,
) -> None:
    """A hub reserved the order and died before its payment: the buyer's page sends the
    same buy again, nginx takes it to a live hub, and that hub pays the reserved order
    under the same key instead of reserving a second unit or replaying an unpaid one."""
    store = cluster.store()
    try:
        before = store.orders.stock(SKU)
        now = time.time()
        store.orders.reserve(_stranded("cut-off-0002", "cut-key-0002", now), now)
    finally:
        store.close()
    again = await RawClient.viewer(cluster.edge, "Cut Off", viewer_id="cut-off-0002")
    try:
        replay = await _ask(again, _buy("cut-key-0002"))
        assert replay["t"] == "order_confirmed", replay
        assert replay["order_id"] == "SC-STRANDED"
        assert (await _ask(again, _buy("cut-key-0002")))["order_id"] == "SC-STRANDED"
    finally:
        await again.close()
    store = cluster.store()
    try:
        statuses = rows(store, "SELECT id, status FROM orders WHERE viewer_id = 'cut-off-0002'")
        assert statuses == [("SC-STRANDED", "paid")]
        assert store.orders.stock(SKU) == before - 1, "one unit, taken once"
        assert value(store, "SELECT COUNT(*) FROM events WHERE type = 'order'") == 1
    finally:
        store.close()


async def test_the_same_buy_sent_to_two_hubs_at_once_is_one_order(cluster: Cluster) -> None:
    """A page that reconnected through nginx resends its buy while the first copy is still
    on its way through the old hub: both hubs answer with the one order the unique key
    allows."""
    a, b, _ = cluster.hubs
    pairs = [
        (
            await RawClient.viewer(a.ws_url, "Twice", viewer_id=f"twice-{n:04d}"),
            await RawClient.viewer(b.ws_url, "Twice", viewer_id=f"twice-{n:04d}"),
        )
        for n in range(10)
    ]
    try:
        await asyncio.gather(
            *(
                client.send(_buy(f"twice-key-{n:04d}", f"twice-{n}"))
                for n, pair in enumerate(pairs)
                for client in pair
            )
        )
        for n, pair in enumerate(pairs):
            answers = [await _answer(client, f"twice-{n}") for client in pair]
            assert all(m is not None and m["t"] == "order_confirmed" for m in answers), answers
            assert answers[0]["order_id"] == answers[1]["order_id"]  # type: ignore[index]
    finally:
        for pair in pairs:
            for client in pair:
                await client.close()
    store = cluster.store()
    try:
        paid = rows(store, "SELECT viewer_id, status FROM orders WHERE viewer_id LIKE 'twice-%'")
        assert sorted(paid) == [(f"twice-{n:04d}", "paid") for n in range(10)], "one order each"
    finally:
        store.close()
