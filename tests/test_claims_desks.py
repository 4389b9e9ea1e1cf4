"""Two claims desks on one store, as two hubs of one show hold them: the log arbitrates.

No bus joins them here, so neither hears the other's claims as they are made; each
learns them only when the store refuses a decision taken from an older log
(``StaleClaimsError``) and it catches up. That is the worst a cluster sees (a bus
message still on its way), on both engines, without processes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import msgspec
import pytest

from console import protocol
from console.errors import ProtocolError
from console.hub.claims import ATTEMPTS, ClaimDesk
from console.room.stage import domain_product
from console.store import Store
from tests.support.storedb import Engine, rows

START = 1_790_000_000.0
#: One unit of a product without options: "sold" claims it, a second "sold" waits.
MUG = protocol.Product(
    id="mug",
    title="Mug",
    currency="EUR",
    options=["Default"],
    variants=[protocol.Variant(sku="MUG", options={"Default": "Default"}, price=900, stock=1)],
)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@dataclass
class Hub:
    """One hub's desk and what it published (its private cards included)."""

    store: Store
    desk: ClaimDesk
    published: list[dict[str, object]] = field(default_factory=list)

    def comment(self, viewer_id: str, text: str = "sold") -> protocol.ClaimAsk | None:
        return self.desk.consider(viewer_id, viewer_id.title(), text, "mug")

    def cards(self) -> list[dict[str, object]]:
        return [m for m in self.published if m["t"] == "claim_card"]


@pytest.fixture
def hubs(engine: Engine) -> Iterator[tuple[Hub, Hub, Clock]]:
    clock = Clock()
    stores = [engine.open() for _ in range(2)]
    stores[0].replace_catalogue([MUG])
    made: list[Hub] = []
    for store in stores:
        published: list[dict[str, object]] = []
        desk = ClaimDesk(
            store.orders,
            lambda seq, body, audience, out=published: out.append(msgspec.json.decode(body)),
            clock,
            domain_product,
        )
        desk.resume()
        made.append(Hub(store, desk, published))
    try:
        yield made[0], made[1], clock
    finally:
        for store in stores:
            store.close()


def claims_on(a: Hub, b: Hub, hold_minutes: float = 10) -> None:
    """The host turns claims on through ``a``; ``b`` reads the log, as a hub starting
    now does. From there on only the store's refusals tell ``b`` of ``a``'s claims."""
    a.desk.set_claims(
        protocol.SetClaims(on=True, hold_minutes=hold_minutes), a.store.orders.product("mug")
    )
    b.desk.resume()


def stored(store: Store, kind: str) -> list[dict[str, object]]:
    found = rows(store, "SELECT body FROM events WHERE type = ? ORDER BY seq", kind)
    return [msgspec.json.decode(bytes(body)) for (body,) in found]


def test_two_hubs_never_hand_out_the_same_claim_id(hubs: tuple[Hub, Hub, Clock]) -> None:
    a, b, _ = hubs
    a.store.orders.update_variant("MUG", None, 2, START)
    claims_on(a, b)
    assert a.comment("ann") is None
    assert b.comment("bob") is None, "B decided again from A's claim, not from its old log"
    assert [c["claim_id"] for c in stored(a.store, "claim_card")] == ["C1", "C2"]
    assert [c["viewer_id"] for c in b.cards()] == ["bob"]
    assert a.store.orders.stock("MUG") == 0


def test_a_hub_started_after_every_claim_ended_hands_out_a_new_id(
    hubs: tuple[Hub, Hub, Clock],
) -> None:
    a, b, _ = hubs
    claims_on(a, b)
    a.comment("ann")
    a.desk.release("ann", "C1")
    b.desk.resume()  # a hub (re)started now finds no open claim in the log
    b.comment("bob")
    assert [c["claim_id"] for c in stored(a.store, "claim_card")] == ["C1", "C2"]


def test_a_claim_expired_on_two_hubs_puts_its_unit_back_once(
    hubs: tuple[Hub, Hub, Clock],
) -> None:
    a, b, clock = hubs
    claims_on(a, b, hold_minutes=1)
    a.comment("ann")
    b.desk.resume()  # B knows the claim, and times it too
    clock.now = START + 61
    a.desk.expire()
    b.desk.expire()
    assert [e["why"] for e in stored(a.store, "claim_end")] == ["expired"]
    assert a.store.orders.stock("MUG") == 1, "the unit came back once: not two on sale"


def test_a_line_joined_on_two_hubs_is_one_line(hubs: tuple[Hub, Hub, Clock]) -> None:
    a, b, _ = hubs
    claims_on(a, b)
    a.comment("ann")
    ask = b.comment("bob")
    assert ask is not None and ask.place == 1
    ask = a.comment("cy")
    assert ask is not None and ask.place == 2, "behind Bob, whose place A did not know"
    [card] = a.cards()
    a.desk.release("ann", str(card["claim_id"]))
    [offer] = stored(a.store, "claim_card")[1:]
    assert (offer["viewer_id"], offer["offered"], offer["claim_id"]) == ("bob", True, "C2")
    assert a.store.orders.stock("MUG") == 0, "the unit is held for Bob"


def test_a_place_given_up_on_one_hub_is_gone_from_the_line_on_the_other(
    hubs: tuple[Hub, Hub, Clock],
) -> None:
    a, b, _ = hubs
    claims_on(a, b)
    a.comment("ann")
    assert b.comment("bob") is not None and a.comment("cy") is not None
    b.desk.leave_waitlist("bob", "MUG")
    [left] = stored(a.store, "claim_wait_end")
    assert (left["viewer_id"], left["sku"]) == ("bob", "MUG")
    [card] = a.cards()
    a.desk.release("ann", str(card["claim_id"]))  # A knew Bob's place, not that he left
    [offer] = stored(a.store, "claim_card")[1:]
    assert (offer["viewer_id"], offer["offered"]) == ("cy", True), "not to Bob, who left"


def test_a_hub_that_keeps_losing_to_another_asks_the_viewer_to_try_again(
    hubs: tuple[Hub, Hub, Clock], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b, _ = hubs
    a.store.orders.update_variant("MUG", None, 10, START)
    claims_on(a, b)
    record = a.store.orders.record_claims
    rivals = iter(range(10))

    def another_hub_first(*args: object, **kwargs: object) -> object:
        b.comment(f"rival-{next(rivals)}")  # B's claim commits first, every time
        return record(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(a.store.orders, "record_claims", another_hub_first)
    with pytest.raises(ProtocolError) as busy:
        a.comment("ann")
    assert busy.value.code == "conflict" and "try again" in busy.value.message
    cards = stored(a.store, "claim_card")
    assert [c["viewer_id"] for c in cards] == [f"rival-{n}" for n in range(ATTEMPTS)]
    assert len({c["claim_id"] for c in cards}) == ATTEMPTS, "every id handed out once"
    assert a.store.orders.stock("MUG") == 10 - ATTEMPTS, "nothing taken for Ann"
