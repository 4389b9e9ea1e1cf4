"""Live auctions: a start price, an increment, a clock, and exactly one winner.

Bids are *maximum* bids, as on eBay and Whatnot: a viewer says the most they will pay and
the auction bids for them, one increment at a time, up to it (proxy bidding). A bid by
button is a maximum equal to the next bid. Standing is decided by one rule
(:func:`standing`):

- the leader is the bidder with the highest maximum; between equal maximums, the one
  placed first by the hub's clock (then by the order the hub took them in), so a
  sniper's equal bid one moment later never takes the lead;
- the price is the start price with a single bidder, otherwise the runner-up's maximum
  plus one increment, but never more than the leader's maximum (equal maximums: that
  maximum).

A bid is valid when it is at least the next bid (the price plus an increment; the
start price before any bid), or, for the leader, when it raises their own maximum. The
auction ends at its time (sudden death), or, with anti-snipe N, a valid bid in the last N
seconds extends the end by N seconds. At the close the leader wins at the price and gets
a checkout with a time limit; if they do not pay in time (or decline), the runner-up gets
one, and so on. The next bidder's price is the same rule among the bidders left: what the
auction would have reached had those passed over never bid, so never more than that
bidder's own maximum, never less than the start price, and the start price when nobody
else is left. Not their own maximum, as eBay's Second Chance Offer asks: a maximum is
what a bidder would go up to, not what they agreed to pay. Charging it would let a
bidder who wins and walks away (a seller's friend who saw the maximums) raise what the
next one pays, and would make bidding one's true maximum risky, which proxy bidding
exists to make safe.

The lot's stock leaves the shelf when the auction starts (the hub records it as sold to
order ``auction:<id>`` with :func:`console.domain.waitlist.buy`) and comes back with
:func:`console.domain.waitlist.restock` if nobody pays, so the auction never competes
with claims or the Buy button for the same unit.

Pure, like :mod:`console.domain.deals`: ``now`` comes in, events come out, and
:func:`replay` rebuilds the auction from its events. A bid's maximum is private: the
hub shows viewers only the leader, the price and the end.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

from console.domain.money import MAX_AMOUNT, Money, format_money
from console.errors import ShopcastError

__all__ = [
    "DEFAULT_CHECKOUT_SECONDS",
    "MAX_ANTI_SNIPE_SECONDS",
    "MAX_AUCTION_SECONDS",
    "MIN_AUCTION_SECONDS",
    "Auction",
    "AuctionCancelled",
    "AuctionClosed",
    "AuctionDecision",
    "AuctionError",
    "AuctionEvent",
    "AuctionStarted",
    "AuctionUnsold",
    "Bid",
    "BidPlaced",
    "Checkout",
    "CheckoutLapsed",
    "CheckoutOffered",
    "CheckoutPaid",
    "apply",
    "bid",
    "cancel",
    "close",
    "decline",
    "expire_checkout",
    "next_bid",
    "pay",
    "replay",
    "standing",
    "start_auction",
]

#: Shorter, viewers a few seconds behind the stream cannot bid at all.
MIN_AUCTION_SECONDS: Final = 5
#: An hour: a longer auction is not a live one.
MAX_AUCTION_SECONDS: Final = 3600
#: The anti-snipe window; Whatnot's is a few seconds, a minute is plenty.
MAX_ANTI_SNIPE_SECONDS: Final = 60
#: How long the winner has to pay before the runner-up gets the chance.
DEFAULT_CHECKOUT_SECONDS: Final = 300
MIN_CHECKOUT_SECONDS: Final = 30
MAX_CHECKOUT_SECONDS: Final = 3600

Status = Literal["open", "closed", "sold", "unsold", "cancelled"]


class AuctionError(ShopcastError):
    """An auction cannot start, take a bid or be paid as asked; the message says what to
    enter or do instead."""


@dataclass(frozen=True, slots=True)
class Bid:
    """A viewer's maximum, and when the hub took it (``seq``: its place among the bids)."""

    viewer_id: str
    maximum: Money
    at: float
    seq: int


@dataclass(frozen=True, slots=True)
class Checkout:
    """The viewer who may pay for the lot now, at ``price``, until ``until``."""

    viewer_id: str
    price: Money
    until: float


# ---------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class AuctionStarted:
    auction_id: str
    sku: str
    start_price: Money
    increment: Money
    starts: float
    ends: float
    #: None: sudden death; N: a bid in the last N seconds extends the end by N.
    anti_snipe: int | None
    checkout_seconds: int


@dataclass(frozen=True, slots=True)
class BidPlaced:
    """A valid bid, and the standing after it (``ends`` moves with anti-snipe)."""

    auction_id: str
    bid: Bid
    leader: str
    price: Money
    ends: float


@dataclass(frozen=True, slots=True)
class AuctionClosed:
    """Bidding is over: ``winner`` (None without bids) pays ``price``."""

    auction_id: str
    winner: str | None
    price: Money | None
    at: float


@dataclass(frozen=True, slots=True)
class CheckoutOffered:
    auction_id: str
    checkout: Checkout


@dataclass(frozen=True, slots=True)
class CheckoutPaid:
    auction_id: str
    viewer_id: str
    order_id: str
    at: float


@dataclass(frozen=True, slots=True)
class CheckoutLapsed:
    """The viewer did not pay in time, or ``declined``; the next bidder may."""

    auction_id: str
    viewer_id: str
    at: float
    declined: bool = False


@dataclass(frozen=True, slots=True)
class AuctionUnsold:
    """Nobody bid, or nobody who bid paid: the lot goes back on the shelf."""

    auction_id: str
    at: float


@dataclass(frozen=True, slots=True)
class AuctionCancelled:
    auction_id: str
    at: float


AuctionEvent = (
    AuctionStarted
    | BidPlaced
    | AuctionClosed
    | CheckoutOffered
    | CheckoutPaid
    | CheckoutLapsed
    | AuctionUnsold
    | AuctionCancelled
)


# ---------------------------------------------------------------- the state


@dataclass(frozen=True, slots=True)
class Auction:
    """One auction of one unit of ``sku``, from its start to its sale (or not)."""

    id: str
    sku: str
    start_price: Money
    increment: Money
    starts: float
    ends: float
    anti_snipe: int | None
    checkout_seconds: int
    #: Each bidder's highest maximum (the bid that set it), never shown to viewers.
    maxima: Mapping[str, Bid] = field(default_factory=dict)
    bids: int = 0
    leader: str | None = None
    #: The current price: the start price until somebody bids.
    price: Money | None = None
    status: Status = "open"
    checkout: Checkout | None = None
    #: Bidders whose checkout lapsed, in order: they are passed over.
    passed: tuple[str, ...] = ()
    winner: str | None = None
    #: Seconds late bids added to the end (anti-snipe), so the host can tell viewers why
    #: the countdown jumped. Counted in whole extensions: the difference of two instants
    #: near 1.8e9 s is off by a fraction of a microsecond, and the countdown rounds up.
    extended: int = 0

    def is_open(self, now: float) -> bool:
        """Bids count until ``ends`` (the end instant is already over)."""
        return self.status == "open" and self.starts <= now < self.ends

    def seconds_left(self, now: float) -> float:
        """What the countdown shows (each page corrects it for its own delay)."""
        if self.status != "open":
            return 0.0
        return max(0.0, self.ends - max(now, self.starts))


@dataclass(frozen=True, slots=True)
class AuctionDecision:
    """The auction after a decision, and the events to log that make it."""

    auction: Auction
    events: tuple[AuctionEvent, ...]


def standing(
    maxima: Iterable[Bid], start_price: Money, increment: Money
) -> tuple[str | None, Money | None]:
    """The leader and the price, by the rule in this module's docstring."""
    ranked = sorted(maxima, key=lambda b: (-b.maximum.amount, b.at, b.seq))
    if not ranked:
        return None, None
    first = ranked[0]
    if len(ranked) == 1:
        return first.viewer_id, start_price
    return first.viewer_id, min(first.maximum, ranked[1].maximum + increment)


def apply(auction: Auction | None, event: AuctionEvent) -> Auction:
    """The auction after one event: the only place it changes, so replay agrees."""
    if isinstance(event, AuctionStarted):
        return Auction(
            id=event.auction_id,
            sku=event.sku,
            start_price=event.start_price,
            increment=event.increment,
            starts=event.starts,
            ends=event.ends,
            anti_snipe=event.anti_snipe,
            checkout_seconds=event.checkout_seconds,
        )
    if auction is None or auction.id != event.auction_id:
        raise AuctionError(f"event {event!r} is for another auction than {auction!r}")
    match event:
        case BidPlaced(bid=placed, leader=leader, price=price, ends=ends):
            late = (auction.anti_snipe or 0) if ends > auction.ends else 0
            return dataclasses.replace(
                auction,
                maxima={**auction.maxima, placed.viewer_id: placed},
                bids=auction.bids + 1,
                leader=leader,
                price=price,
                ends=ends,
                extended=auction.extended + late,
            )
        case AuctionClosed(winner=winner, price=price):
            return dataclasses.replace(auction, status="closed", winner=winner, price=price)
        case CheckoutOffered(checkout=checkout):
            return dataclasses.replace(
                auction, checkout=checkout, winner=checkout.viewer_id, price=checkout.price
            )
        case CheckoutPaid():
            return dataclasses.replace(auction, status="sold", checkout=None)
        case CheckoutLapsed(viewer_id=viewer_id):
            return dataclasses.replace(
                auction, checkout=None, winner=None, passed=(*auction.passed, viewer_id)
            )
        case AuctionUnsold():
            return dataclasses.replace(auction, status="unsold", checkout=None, winner=None)
        case AuctionCancelled():
            return dataclasses.replace(auction, status="cancelled")
    raise TypeError(f"not an auction event: {event!r}")


def replay(events: Iterable[AuctionEvent]) -> Auction | None:
    """The auction the logged ``events`` lead to; None before one started."""
    auction: Auction | None = None
    for event in events:
        auction = apply(auction, event)
    return auction


class _Steps:
    def __init__(self, auction: Auction) -> None:
        self.auction = auction
        self.events: list[AuctionEvent] = []

    def add(self, event: AuctionEvent) -> None:
        self.auction = apply(self.auction, event)
        self.events.append(event)

    def offer_next(self, now: float) -> None:
        """The checkout to the best bidder not passed over, at the price without those
        passed over; nobody left: unsold."""
        state = self.auction
        left = [b for v, b in state.maxima.items() if v not in state.passed]
        leader, price = standing(left, state.start_price, state.increment)
        if leader is None or price is None:
            self.add(AuctionUnsold(state.id, now))
            return
        self.add(CheckoutOffered(state.id, Checkout(leader, price, now + state.checkout_seconds)))

    def lapse(self, now: float) -> None:
        checkout = self.auction.checkout
        if self.auction.status == "closed" and checkout is not None and checkout.until <= now:
            self.add(CheckoutLapsed(self.auction.id, checkout.viewer_id, checkout.until))
            self.offer_next(now)

    def done(self) -> AuctionDecision:
        return AuctionDecision(self.auction, tuple(self.events))


def _is_whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_amount(what: str, money: object) -> Money:
    if not isinstance(money, Money) or not 0 < money.amount < MAX_AMOUNT:
        raise AuctionError(f"The {what} must be an amount more than zero, not {money!r}.")
    return money


# ---------------------------------------------------------------- decisions


def start_auction(
    auction_id: str,
    sku: str,
    start_price: Money,
    increment: Money,
    seconds: float,
    now: float,
    anti_snipe: int | None = None,
    checkout_seconds: int = DEFAULT_CHECKOUT_SECONDS,
) -> AuctionDecision:
    """Check what the host asked for and open bidding at ``now``."""
    _check_amount("start price", start_price)
    _check_amount("bid increment", increment)
    if increment.currency != start_price.currency:
        raise AuctionError(
            f"The increment is in {increment.currency} but the start price in "
            f"{start_price.currency}; enter both in {start_price.currency}."
        )
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, int | float)
        or not MIN_AUCTION_SECONDS <= seconds <= MAX_AUCTION_SECONDS
    ):
        raise AuctionError(
            f"An auction runs from {MIN_AUCTION_SECONDS} seconds to an hour; enter a "
            f"duration in that range, not {seconds!r}."
        )
    if anti_snipe is not None and (
        not _is_whole(anti_snipe) or not 1 <= anti_snipe <= MAX_ANTI_SNIPE_SECONDS
    ):
        raise AuctionError(
            f"Anti-snipe extends by 1 to {MAX_ANTI_SNIPE_SECONDS} seconds; enter a number "
            f"in that range, or choose sudden death. Not {anti_snipe!r}."
        )
    if not _is_whole(checkout_seconds) or not (
        MIN_CHECKOUT_SECONDS <= checkout_seconds <= MAX_CHECKOUT_SECONDS
    ):
        raise AuctionError(
            f"The winner has {MIN_CHECKOUT_SECONDS} seconds to an hour to pay; enter a time "
            f"in that range, not {checkout_seconds!r}."
        )
    started = AuctionStarted(
        auction_id=auction_id,
        sku=sku,
        start_price=start_price,
        increment=increment,
        starts=now,
        ends=now + seconds,
        anti_snipe=anti_snipe,
        checkout_seconds=checkout_seconds,
    )
    return AuctionDecision(apply(None, started), (started,))


def next_bid(auction: Auction, viewer_id: str) -> Money:
    """The bid the page's Bid button offers ``viewer_id`` now.

    For the others it is the least they may bid: the price plus an increment, or the
    start price before any bid. The leader may raise their maximum by any amount; the
    button offers one increment more.
    """
    own = auction.maxima.get(viewer_id)
    if own is not None and auction.leader == viewer_id:
        return own.maximum + auction.increment
    if auction.price is None:
        return auction.start_price
    return auction.price + auction.increment


def bid(
    auction: Auction, viewer_id: str, maximum: Money, now: float, banned: bool = False
) -> AuctionDecision:
    """A viewer bids up to ``maximum`` at ``now`` (the hub's clock, as it takes the bid)."""
    if banned:
        raise AuctionError("You cannot bid in this room.")
    if not auction.is_open(now):
        raise AuctionError("Bidding has ended.")
    if not isinstance(maximum, Money) or maximum.currency != auction.start_price.currency:
        raise AuctionError(f"Bid in {auction.start_price.currency}.")
    if maximum.amount >= MAX_AMOUNT:
        raise AuctionError("That bid is too large; enter a smaller amount.")
    least = next_bid(auction, viewer_id)
    own = auction.maxima.get(viewer_id)
    if auction.leader == viewer_id and own is not None:
        if maximum <= own.maximum:
            raise AuctionError(
                f"You are the highest bidder, up to {format_money(own.maximum)}; to raise "
                f"your maximum, bid more than that."
            )
    elif maximum < least:
        raise AuctionError(f"Bid at least {format_money(least)}.")
    placed = Bid(viewer_id, maximum, now, auction.bids + 1)
    leader, price = standing(
        [*(b for v, b in auction.maxima.items() if v != viewer_id), placed],
        auction.start_price,
        auction.increment,
    )
    assert leader is not None and price is not None
    ends = auction.ends
    if auction.anti_snipe is not None and ends - now < auction.anti_snipe:
        ends += auction.anti_snipe
    event = BidPlaced(auction.id, placed, leader, price, ends)
    return AuctionDecision(apply(auction, event), (event,))


def close(auction: Auction, now: float) -> AuctionDecision:
    """The hub's timer at the end: the leader wins at the price and gets the checkout."""
    if auction.status != "open":
        raise AuctionError(f"This auction is already {auction.status}.")
    if now < auction.ends:
        raise AuctionError(
            f"Bidding is open for {auction.ends - now:.0f} more seconds; close it then."
        )
    steps = _Steps(auction)
    steps.add(AuctionClosed(auction.id, auction.leader, auction.price, now))
    steps.offer_next(now)
    return steps.done()


def expire_checkout(auction: Auction, now: float) -> AuctionDecision:
    """The hub's timer at a checkout's limit: the next bidder gets their chance."""
    steps = _Steps(auction)
    steps.lapse(now)
    return steps.done()


def pay(auction: Auction, viewer_id: str, order_id: str, now: float) -> AuctionDecision:
    """The viewer whose checkout it is pays, before its limit, at its price."""
    steps = _Steps(auction)
    steps.lapse(now)
    checkout = steps.auction.checkout
    if checkout is None or checkout.viewer_id != viewer_id:
        raise AuctionError(
            "The time to pay for this lot has passed, and it went to the next bidder."
            if viewer_id in steps.auction.passed
            else "This lot is not yours to pay for."
        )
    steps.add(CheckoutPaid(auction.id, viewer_id, order_id, now))
    return steps.done()


def decline(auction: Auction, viewer_id: str, now: float) -> AuctionDecision:
    """The viewer whose checkout it is lets it go to the next bidder now."""
    steps = _Steps(auction)
    steps.lapse(now)
    checkout = steps.auction.checkout
    if checkout is None or checkout.viewer_id != viewer_id:
        raise AuctionError("This lot is not yours to pay for.")
    steps.add(CheckoutLapsed(auction.id, viewer_id, now, declined=True))
    steps.offer_next(now)
    return steps.done()


def cancel(auction: Auction, now: float) -> AuctionDecision:
    """The host calls the auction off while bidding is open; nobody wins."""
    if auction.status != "open":
        raise AuctionError(f"This auction is already {auction.status}.")
    event = AuctionCancelled(auction.id, now)
    return AuctionDecision(apply(auction, event), (event,))
