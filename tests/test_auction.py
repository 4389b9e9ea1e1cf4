"""Auctions by the hub's clock: valid bids, proxy bidding, anti-snipe, one winner, then checkout."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from console.domain.auction import (
    Auction,
    AuctionCancelled,
    AuctionClosed,
    AuctionError,
    AuctionEvent,
    AuctionUnsold,
    Bid,
    BidPlaced,
    Checkout,
    CheckoutLapsed,
    CheckoutOffered,
    CheckoutPaid,
    bid,
    cancel,
    close,
    decline,
    expire_checkout,
    next_bid,
    pay,
    replay,
    start_auction,
)
from console.domain.money import Money
from console.errors import ShopcastError

T0 = 1_800_000_000.0


def through_the_log(event):
    """An event as the room's log would keep it (JSON, with its type beside it) and read it."""
    return msgspec.convert(msgspec.json.decode(msgspec.json.encode(event)), type(event))


def eur(amount: int) -> Money:
    return Money(amount, "EUR")


def opened(seconds: float = 30, anti_snipe: int | None = None) -> Auction:
    """€10.00 to start, €1.00 a step."""
    return start_auction("A1", "LS-M-SAG", eur(1000), eur(100), seconds, T0, anti_snipe).auction


def bids(auction: Auction, *placed: tuple[str, int, float]) -> Auction:
    for viewer, cents, at in placed:
        auction = bid(auction, viewer, eur(cents), at).auction
    return auction


# ---------------------------------------------------------------- starting


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"start_price": eur(0)}, "start price must be an amount more than zero"),
        ({"increment": eur(-5)}, "bid increment must be an amount more than zero"),
        ({"increment": Money(100, "USD")}, "enter both in EUR"),
        ({"seconds": 4}, "5 seconds to an hour"),
        ({"seconds": 3601}, "5 seconds to an hour"),
        ({"anti_snipe": 0}, "choose sudden death"),
        ({"anti_snipe": 61}, "choose sudden death"),
        ({"checkout_seconds": 10}, "to pay"),
    ],
)
def test_an_auction_set_up_wrong_says_what_to_enter(changes, says):
    args: dict[str, object] = {
        "auction_id": "A1",
        "sku": "LS-M-SAG",
        "start_price": eur(1000),
        "increment": eur(100),
        "seconds": 30,
        "now": T0,
    }
    args.update(changes)
    with pytest.raises(AuctionError, match=says):
        start_auction(**args)  # type: ignore[arg-type]


# ---------------------------------------------------------------- bidding


def test_the_first_bid_is_at_least_the_start_price_and_pays_it():
    auction = opened()
    with pytest.raises(AuctionError, match=r"Bid at least €10\.00"):
        bid(auction, "ann", eur(999), T0 + 1)
    decision = bid(auction, "ann", eur(2500), T0 + 1)
    assert decision.events == (
        BidPlaced("A1", Bid("ann", eur(2500), T0 + 1, 1), "ann", eur(1000), T0 + 30),
    )
    assert next_bid(decision.auction, "bob") == eur(1100)


def test_a_maximum_bids_for_the_viewer_up_to_it():
    auction = bids(opened(), ("ann", 2500, T0 + 1), ("bob", 1500, T0 + 2))
    assert (auction.leader, auction.price) == ("ann", eur(1600))
    auction = bids(auction, ("bob", 2000, T0 + 3))
    assert (auction.leader, auction.price) == ("ann", eur(2100))
    auction = bids(auction, ("bob", 3000, T0 + 4))
    assert (auction.leader, auction.price) == ("bob", eur(2600))


def test_an_equal_maximum_later_does_not_take_the_lead():
    auction = bids(opened(), ("ann", 2500, T0 + 1), ("bob", 2500, T0 + 2))
    assert (auction.leader, auction.price) == ("ann", eur(2500))


def test_at_the_same_instant_the_bid_the_hub_took_first_leads():
    auction = bids(opened(), ("ann", 2000, T0 + 5), ("bob", 2000, T0 + 5))
    assert auction.leader == "ann"


def test_a_bid_below_the_next_step_is_refused_with_the_amount_to_enter():
    auction = bids(opened(), ("ann", 1000, T0 + 1))
    with pytest.raises(AuctionError, match=r"Bid at least €11\.00"):
        bid(auction, "bob", eur(1050), T0 + 2)


def test_the_leader_raises_their_own_maximum_without_raising_the_price():
    auction = bids(opened(), ("ann", 1500, T0 + 1), ("bob", 1200, T0 + 2))
    with pytest.raises(AuctionError, match="highest bidder"):
        bid(auction, "ann", eur(1500), T0 + 3)
    auction = bids(auction, ("ann", 4000, T0 + 3))
    assert (auction.leader, auction.price) == ("ann", eur(1300))
    assert next_bid(auction, "ann") == eur(4100)


def test_a_banned_viewer_cannot_bid():
    with pytest.raises(AuctionError, match="cannot bid"):
        bid(opened(), "bad", eur(5000), T0 + 1, banned=True)


def test_a_bid_in_another_currency_is_refused():
    with pytest.raises(AuctionError, match="Bid in EUR"):
        bid(opened(), "ann", Money(5000, "USD"), T0 + 1)


def test_sudden_death_refuses_a_bid_at_the_end_instant():
    auction = opened(seconds=30)
    assert bid(auction, "ann", eur(1000), T0 + 29.999).auction.ends == T0 + 30
    with pytest.raises(AuctionError, match="ended"):
        bid(auction, "ann", eur(1000), T0 + 30)


def test_anti_snipe_extends_the_end_by_n_for_a_bid_in_the_last_n_seconds():
    auction = opened(seconds=30, anti_snipe=10)
    auction = bids(auction, ("ann", 1000, T0 + 20))
    assert auction.ends == T0 + 30, "10 s left is not inside the last 10 s"
    auction = bids(auction, ("bob", 1100, T0 + 25))
    assert auction.ends == T0 + 40
    auction = bids(auction, ("ann", 1300, T0 + 39))
    assert auction.ends == T0 + 50
    assert auction.seconds_left(T0 + 45) == 5
    assert auction.extended == 20, "what the host is told the late bids added"


# ---------------------------------------------------------------- the close and the checkout


def test_the_close_gives_the_leader_a_checkout_at_the_winning_price():
    auction = bids(opened(), ("ann", 2500, T0 + 1), ("bob", 1500, T0 + 2))
    with pytest.raises(AuctionError, match="close it then"):
        close(auction, T0 + 29)
    decision = close(auction, T0 + 30)
    assert decision.events == (
        AuctionClosed("A1", "ann", eur(1600), T0 + 30),
        CheckoutOffered("A1", Checkout("ann", eur(1600), T0 + 330)),
    )
    paid = pay(decision.auction, "ann", "O1", T0 + 100)
    assert paid.events == (CheckoutPaid("A1", "ann", "O1", T0 + 100),)
    assert paid.auction.status == "sold"


def test_an_unpaid_win_goes_to_the_runner_up_then_the_next():
    auction = bids(opened(), ("cat", 1500, T0 + 1), ("ann", 3000, T0 + 2), ("bob", 2000, T0 + 3))
    assert auction.price == eur(2100)
    auction = close(auction, T0 + 30).auction
    assert expire_checkout(auction, T0 + 329).events == ()
    decision = expire_checkout(auction, T0 + 330)
    assert decision.events == (
        CheckoutLapsed("A1", "ann", T0 + 330),
        CheckoutOffered("A1", Checkout("bob", eur(1600), T0 + 630)),
    )
    with pytest.raises(AuctionError, match="has passed"):
        pay(decision.auction, "ann", "O1", T0 + 331)
    decision = decline(decision.auction, "bob", T0 + 400)
    assert decision.events[-1] == CheckoutOffered("A1", Checkout("cat", eur(1000), T0 + 700))
    decision = expire_checkout(decision.auction, T0 + 700)
    assert decision.events[-1] == AuctionUnsold("A1", T0 + 700)


@pytest.mark.parametrize(
    ("placed", "offered"),
    [
        # Alone once Ann is passed over, Bob would have won at the start price.
        ([("ann", 3000, T0 + 1), ("bob", 2000, T0 + 2)], eur(1000)),
        # Without Ann, Bob beats Cat by one step: Cat's €19.00 plus €1.00.
        ([("cat", 1900, T0 + 1), ("bob", 2500, T0 + 2), ("ann", 5000, T0 + 3)], eur(2000)),
        # One step over Cat would be €20.50: never more than Bob's own €20.00.
        ([("cat", 1950, T0 + 1), ("bob", 2000, T0 + 2), ("ann", 5000, T0 + 3)], eur(2000)),
        # Bob and Cat both up to €20.00: Bob bid it first, and pays his maximum.
        ([("bob", 2000, T0 + 1), ("cat", 2000, T0 + 2), ("ann", 5000, T0 + 3)], eur(2000)),
    ],
)
def test_the_runner_up_is_offered_what_the_auction_would_have_reached_without_the_winner(
    placed: list[tuple[str, int, float]], offered: Money
) -> None:
    auction = close(bids(opened(), *placed), T0 + 30).auction
    assert auction.checkout is not None and auction.checkout.viewer_id == "ann"
    decision = expire_checkout(auction, T0 + 330)
    assert decision.events[-1] == CheckoutOffered("A1", Checkout("bob", offered, T0 + 630))


def test_a_checkout_is_late_at_its_limit_even_if_paid_then():
    auction = close(bids(opened(), ("ann", 3000, T0 + 1)), T0 + 30).auction
    with pytest.raises(AuctionError, match="has passed"):
        pay(auction, "ann", "O1", T0 + 330)


def test_only_the_viewer_whose_checkout_it_is_can_pay():
    auction = close(bids(opened(), ("ann", 3000, T0 + 1)), T0 + 30).auction
    with pytest.raises(AuctionError, match="not yours"):
        pay(auction, "bob", "O1", T0 + 31)


def test_an_auction_without_bids_closes_unsold():
    decision = close(opened(), T0 + 30)
    assert decision.events == (
        AuctionClosed("A1", None, None, T0 + 30),
        AuctionUnsold("A1", T0 + 30),
    )


def test_a_cancelled_auction_takes_no_bids():
    decision = cancel(opened(), T0 + 5)
    assert decision.events == (AuctionCancelled("A1", T0 + 5),)
    with pytest.raises(AuctionError, match="ended"):
        bid(decision.auction, "ann", eur(5000), T0 + 6)


def test_errors_are_shopcast_errors():
    assert issubclass(AuctionError, ShopcastError)


# ---------------------------------------------------------------- whatever the bids

BIDDERS = ("ann", "bob", "cat", "dan", "eve", "fay")

bursts = st.lists(
    st.tuples(
        st.sampled_from(BIDDERS),
        # Amounts cluster, so equal maximums (ties) come up often.
        st.integers(9, 40).map(lambda n: n * 100),
        # Many bids in the same instant: the hub's clock ties them.
        st.sampled_from([0.0, 0.0, 0.0, 0.25, 1.0, 4.0]),
    ),
    max_size=80,
)


@settings(max_examples=500, deadline=None)
@given(bursts, st.sampled_from([None, 3, 10]))
def test_concurrent_bids_give_exactly_one_winner_the_highest_valid_bid_ties_to_the_earliest(
    burst, anti_snipe
):
    started = start_auction("A1", "LS-M-SAG", eur(1000), eur(100), 10, T0, anti_snipe)
    auction = started.auction
    log: list[AuctionEvent] = list(started.events)
    now = T0
    #: Each bidder's accepted maximum and when the hub took it: (amount, at, order).
    best: dict[str, tuple[int, float, int]] = {}
    taken = 0
    for viewer, cents, dt in burst:
        now += dt
        if now >= auction.ends:
            break
        # Whether the rule says the bid is valid, worked out apart from the module.
        ranked = sorted(best.items(), key=lambda item: (-item[1][0], item[1][1], item[1][2]))
        leader = ranked[0][0] if ranked else None
        if leader == viewer:
            valid = cents > best[viewer][0]
        elif not ranked:
            valid = cents >= 1000
        else:
            price = 1000 if len(ranked) == 1 else min(ranked[0][1][0], ranked[1][1][0] + 100)
            valid = cents >= price + 100
        try:
            decision = bid(auction, viewer, eur(cents), now)
        except AuctionError:
            assert not valid, f"a valid bid of {cents} by {viewer} was refused"
            continue
        assert valid, f"an invalid bid of {cents} by {viewer} was taken"
        taken += 1
        best[viewer] = (cents, now, taken)
        ends_before = auction.ends
        auction = decision.auction
        log += decision.events
        extended = anti_snipe is not None and ends_before - now < anti_snipe
        assert auction.ends == (ends_before + anti_snipe if extended else ends_before)
    decision = close(auction, auction.ends)
    log += decision.events
    closed = [e for e in log if isinstance(e, AuctionClosed)]
    assert len(closed) == 1
    if not best:
        assert closed[0].winner is None
        assert decision.auction.status == "unsold"
        return
    top = max(amount for amount, _, _ in best.values())
    earliest = min((at, order, v) for v, (amount, at, order) in best.items() if amount == top)
    assert closed[0].winner == earliest[2]
    others = [amount for v, (amount, _, _) in best.items() if v != earliest[2]]
    expected = 1000 if not others else min(top, max(others) + 100)
    assert closed[0].price == eur(expected)
    offered = [e for e in log if isinstance(e, CheckoutOffered)]
    assert [o.checkout for o in offered] == [
        Checkout(earliest[2], eur(expected), auction.ends + 300)
    ]
    assert replay(log) == decision.auction
    assert replay([through_the_log(e) for e in log]) == decision.auction


#: Bids spread over a long auction, so that none comes after its end and each bid valid
#: with everybody in is valid without the bidders passed over (their absence only ever
#: lowers the price).
ladders = st.lists(
    st.tuples(
        st.sampled_from(BIDDERS),
        st.integers(9, 40).map(lambda n: n * 100),
        st.sampled_from([0.0, 0.0, 0.25, 1.0]),
    ),
    max_size=40,
)


def run(placed: list[tuple[str, int, float]]) -> tuple[Auction, list[tuple[str, int, float]]]:
    """An hour-long sudden-death auction, and the bids of ``placed`` that it took."""
    auction = start_auction("A1", "LS-M-SAG", eur(1000), eur(100), 3600, T0).auction
    taken = []
    for viewer, cents, at in placed:
        try:
            auction = bid(auction, viewer, eur(cents), at).auction
        except AuctionError:
            continue
        taken.append((viewer, cents, at))
    return auction, taken


@settings(max_examples=300, deadline=None)
@given(ladders)
def test_each_next_bidder_is_offered_the_price_of_the_auction_without_those_passed_over(burst):
    placed, now = [], T0
    for viewer, cents, dt in burst:
        now += dt
        placed.append((viewer, cents, now))
    auction, taken = run(placed)
    auction = close(auction, T0 + 3600).auction
    while auction.checkout is not None:
        checkout = auction.checkout
        own = auction.maxima[checkout.viewer_id].maximum
        assert eur(1000) <= checkout.price <= own
        rest = [b for b in taken if b[0] not in auction.passed]
        without, retaken = run(rest)
        assert retaken == rest, "a bid taken with everybody in is taken without those passed"
        assert (without.leader, without.price) == (checkout.viewer_id, checkout.price)
        auction = expire_checkout(auction, checkout.until).auction
    assert auction.status == "unsold"
    assert set(auction.passed) == set(auction.maxima)
