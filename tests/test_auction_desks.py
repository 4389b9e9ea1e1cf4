"""Two auction desks on one store, as two hubs of one show hold them, with the bus
played by hand: each event one desk publishes is handed to the other's ``follow`` when
the test says, late if it likes, as Redis does after a broken link (the hub that
published it sends it again once Redis is back, while the other has already read the
log on resubscribing).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from console import protocol
from console.hub.auctions import AUCTION_EVENT_PREFIX, AuctionDesk
from console.store import Store
from tests.support.storedb import Engine

START = 1_790_000_000.0
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
    """One hub's auction desk and the events it published, for the bus to deliver."""

    store: Store
    desk: AuctionDesk
    published: list[tuple[int, bytes]] = field(default_factory=list)

    def deliver_to(self, other: Hub) -> None:
        """The bus brings this hub's auction events to ``other`` (and to itself), as the
        room hands them to its desk."""
        for seq, body in self.published:
            if not body.startswith(AUCTION_EVENT_PREFIX):
                continue
            other.desk.follow(seq, body)
            self.desk.follow(seq, body)

    def standing(self) -> tuple[int, str | None, int | None]:
        state = self.desk.current()
        assert state is not None
        return state.bids, state.leader, state.price


@pytest.fixture
def hubs(engine: Engine) -> Iterator[tuple[Hub, Hub, Clock]]:
    clock = Clock()
    stores = [engine.open() for _ in range(2)]
    stores[0].replace_catalogue([MUG])
    made: list[Hub] = []
    for store in stores:
        published: list[tuple[int, bytes]] = []
        desk = AuctionDesk(
            store.orders,
            lambda seq, body, audience, out=published: out.append((seq, body)),
            clock,
            lambda viewer_id: False,
        )
        desk.resume()
        made.append(Hub(store, desk, published))
    try:
        yield made[0], made[1], clock
    finally:
        for store in stores:
            store.close()


def open_with_two_bids(a: Hub, clock: Clock) -> str:
    """An auction started on ``a`` and bid on there by Ann (up to €15) and Bob (€12)."""
    pinned = a.store.orders.product("mug")
    a.desk.start(protocol.StartAuction(start_price=1000, increment=50, seconds=60), pinned)
    state = a.desk.current()
    assert state is not None
    clock.now = START + 10
    a.desk.bid("ann", "Ann", protocol.PlaceBid(auction_id=state.auction_id, maximum=1500))
    clock.now = START + 20
    a.desk.bid("bob", "Bob", protocol.PlaceBid(auction_id=state.auction_id, maximum=1200))
    return state.auction_id


def test_events_a_resume_read_from_the_log_are_not_applied_again_when_the_bus_brings_them(
    hubs: tuple[Hub, Hub, Clock],
) -> None:
    a, b, clock = hubs
    auction_id = open_with_two_bids(a, clock)
    b.desk.resume()  # B resubscribed after a broken link and read the log
    assert b.standing() == (2, "Ann", 1250)
    clock.now = START + 30
    b.desk.bid("cy", "Cy", protocol.PlaceBid(auction_id=auction_id, maximum=2000))
    a.deliver_to(b)  # A's events, sent again once its own link to Redis is back
    assert b.standing() == (3, "Cy", 1550), "A's start came late: Cy's bid on B stays"
    b.deliver_to(a)
    assert a.standing() == b.standing()


def test_a_desk_that_resumed_still_skips_its_own_events_coming_back(
    hubs: tuple[Hub, Hub, Clock],
) -> None:
    a, b, clock = hubs
    auction_id = open_with_two_bids(a, clock)
    a.desk.resume()  # A took the show's timers over and read the log again
    clock.now = START + 30
    a.desk.bid("cy", "Cy", protocol.PlaceBid(auction_id=auction_id, maximum=2000))
    a.deliver_to(b)  # everything A published, Cy's bid last
    assert a.standing() == (3, "Cy", 1550), "Cy's bid on A stays"
    assert b.standing() == a.standing()


def test_a_console_that_joins_is_told_every_bid_and_who_was_passed_over_even_after_a_restart(
    hubs: tuple[Hub, Hub, Clock],
) -> None:
    a, b, clock = hubs
    open_with_two_bids(a, clock)
    clock.now = START + 60
    a.desk.tick()  # closed: Ann has five minutes to pay
    clock.now = START + 360
    a.desk.tick()  # she did not: Bob's turn
    b.desk.resume()  # another hub, or this one restarted, reads the log
    for desk in (a.desk, b.desk):
        state, *bids = desk.restated(None)
        assert isinstance(state, protocol.AuctionState)
        assert (state.why, state.winner, state.passed_ids) == ("lapse", "Bob", ["ann"])
        assert [(x.name, x.maximum, x.seq) for x in bids] == [("Ann", 1500, 0), ("Bob", 1200, 0)]
        assert [type(x) for x in desk.restated("bob")] == [
            protocol.AuctionState,
            protocol.AuctionBid,
        ], "a viewer hears only their own bid"
