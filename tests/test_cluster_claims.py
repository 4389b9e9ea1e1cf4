"""Comment to claim across two hubs of one show: one PostgreSQL store, one Redis bus, real
processes (docs/cluster.md). The host turns claims on through one hub; viewers on either
claim, wait in one line, and get the unit that comes back, wherever they are."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from console.store import Store
from tests.support.browser import HubProcess, start_hub
from tests.support.clients import RawClient
from tests.support.postgres import Postgres
from tests.support.redis import redis_url
from tests.support.storedb import rows
from tests.test_cluster_timers import ok, until

__all__ = ["redis_url"]  # the session's redis-server, a fixture

pytestmark = pytest.mark.timeout(90)

#: The demo's card holder: one variant, so "sold 1" claims it without a question.
PRODUCT, SKU = "card-holder", "CH-DEFAULT"


@dataclass
class Cluster:
    """Two hubs on one database and one Redis, and a look at the store."""

    hubs: list[HubProcess]
    database: str
    folder: Path

    def store(self) -> Store:
        """The shared store, opened as one more hub would (only committed rows are seen)."""
        return Store.open(self.folder / "look", database=self.database)


@pytest.fixture
def cluster(redis_url: str, postgres: Postgres, tmp_path: Path) -> Iterator[Cluster]:
    database = postgres.fresh_database()
    shared = ("--database", database, "--redis", redis_url)
    cluster = Cluster([], database, tmp_path)
    try:
        for _ in range(2):
            # One data folder: the show's one host token file (each hub its own port).
            cluster.hubs.append(start_hub(tmp_path / "hubs", extra=shared))
        yield cluster
    finally:
        for hub in cluster.hubs:
            if hub.process.poll() is None:
                hub.stop()


async def test_a_claim_on_one_hub_and_the_line_on_another_are_one_shelf(
    cluster: Cluster,
) -> None:
    a, b = cluster.hubs
    host = await RawClient.staff(a.ws_url, a.token)
    bo = await RawClient.viewer(b.ws_url, "Bo", viewer_id="bo-on-hub-b")
    cy = await RawClient.viewer(a.ws_url, "Cy", viewer_id="cy-on-hub-a")
    try:
        await ok(host, {"t": "update_variant", "sku": SKU, "stock": 1})
        await ok(host, {"t": "pin", "product": PRODUCT})
        await ok(host, {"t": "set_claims", "on": True})
        await until(lambda: any(m.get("on") for m in bo.of_type("claims")), 10, "claims on at B")

        await ok(bo, {"t": "comment", "text": "sold 1"})
        [card] = await bo.wait_for("claim_card", timeout=10)
        assert (card["sku"], card["viewer_id"]) == (SKU, "bo-on-hub-b")
        assert not card.get("offered"), "claimed by the comment, not offered"

        await ok(cy, {"t": "comment", "text": "sold 1"})
        [ask] = await cy.wait_for("claim_ask", timeout=10)
        assert ask["place"] == 1, f"Cy waits behind the claim Bo made on hub B: {ask}"
        assert cy.of_type("claim_card") == []

        await ok(bo, {"t": "release_claim", "claim_id": card["claim_id"]})
        [ended] = await bo.wait_for("claim_end", timeout=10)
        assert ended["why"] == "released"
        [offer] = await cy.wait_for("claim_card", timeout=10)
        assert (offer["viewer_id"], offer["name"], offer["offered"]) == ("cy-on-hub-a", "Cy", True)
        assert offer["claim_id"] != card["claim_id"]
    finally:
        for client in (host, bo, cy):
            await client.close()
    store = cluster.store()
    try:
        assert store.orders.stock(SKU) == 0, "the unit is held for Cy, not back on sale"
        logged = rows(
            store,
            "SELECT type, viewer_id FROM events WHERE type IN "
            "('claim_card', 'claim_end', 'claim_wait') ORDER BY seq",
        )
    finally:
        store.close()
    assert logged == [
        ("claim_card", "bo-on-hub-b"),
        ("claim_wait", "cy-on-hub-a"),
        ("claim_end", "bo-on-hub-b"),
        ("claim_card", "cy-on-hub-a"),
    ], "one claim, one place in line, one release, one offer: each written once"


async def test_a_place_given_up_on_one_hub_is_gone_from_the_line_on_the_other(
    cluster: Cluster,
) -> None:
    a, b = cluster.hubs
    host = await RawClient.staff(a.ws_url, a.token)
    staff_b = await RawClient.staff(b.ws_url, b.token)
    bo = await RawClient.viewer(b.ws_url, "Bo", viewer_id="bo-on-hub-b")
    cy = await RawClient.viewer(a.ws_url, "Cy", viewer_id="cy-on-hub-a")
    dee = await RawClient.viewer(b.ws_url, "Dee", viewer_id="dee-on-hub-b")
    clients = [host, staff_b, bo, cy, dee]
    try:
        await ok(host, {"t": "update_variant", "sku": SKU, "stock": 1})
        await ok(host, {"t": "pin", "product": PRODUCT})
        await ok(host, {"t": "set_claims", "on": True})
        await until(lambda: any(m.get("on") for m in bo.of_type("claims")), 10, "claims on at B")
        await ok(bo, {"t": "comment", "text": "sold 1"})
        [card] = await bo.wait_for("claim_card", timeout=10)
        await ok(cy, {"t": "comment", "text": "sold 1"})
        await cy.wait_for("claim_ask", place=1, timeout=10)
        await ok(dee, {"t": "comment", "text": "sold 1"})
        await dee.wait_for("claim_ask", place=2, timeout=10)

        await ok(cy, {"t": "leave_waitlist", "sku": SKU})
        await cy.wait_for("claim_wait_end", timeout=10)
        await staff_b.wait_for("claim_wait_end", viewer_id="cy-on-hub-a", timeout=10)
        # A console joining hub B now is told the line as B holds it: without Cy.
        late = await RawClient.staff(b.ws_url, b.token)
        clients.append(late)
        restated = [m["viewer_id"] for m in late.of_type("claim_wait") if m["seq"] == 0]
        assert restated == ["dee-on-hub-b"], "hub B followed Cy leaving on hub A"

        await ok(bo, {"t": "release_claim", "claim_id": card["claim_id"]})
        [offer] = await dee.wait_for("claim_card", timeout=10)
        assert (offer["viewer_id"], offer["offered"]) == ("dee-on-hub-b", True)
        assert cy.of_type("claim_card") == [], "not offered to Cy, who left"
    finally:
        for client in clients:
            await client.close()
