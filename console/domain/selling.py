"""What the host's Selling dock shows of claims, auctions and giveaways.

The hub decides (:mod:`console.domain.waitlist`, :mod:`console.domain.auction`,
:mod:`console.domain.giveaway`); these rules only turn its events into what the host
reads: the claims as they land, a cart per viewer, the waitlist, the bid ladder, the
countdowns on the hub's clock, a giveaway's draw and whether it checks out. They live
apart from Qt so that every line the dock shows has a test of its own.

Times are the hub's clock; ``hub_now`` is the hub's time now (the console's clock plus
the offset measured at ``welcome``), so every console counts down to the same instant.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol, get_args

from console.domain.giveaway import Eligibility, commitment_of, winner_of
from console.domain.money import Money, format_money
from console.domain.words import counted

#: The multiplication sign of "2 x M", as the On stream dock wrote it.
TIMES: Final = "\u00d7"
#: How a claim, bid or entry of a viewer without a display name is signed.
NAMELESS: Final = "A viewer"

#: Who may enter a giveaway, as the host reads it; one line for each of the domain's names.
ELIGIBILITY_TEXT: Final[Mapping[str, str]] = {
    "everyone": "Everyone watching",
    "commented": "Viewers who commented",
    "bought": "Buyers of this show",
}


# ---------------------------------------------------------------- what the rules read


class ClaimFacts(Protocol):
    """A ``claim_card``: units held for a viewer until ``expires``."""

    @property
    def claim_id(self) -> str: ...
    @property
    def viewer_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def sku(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def quantity(self) -> int: ...
    @property
    def unit_price(self) -> int: ...
    @property
    def currency(self) -> str: ...
    @property
    def expires(self) -> float: ...
    @property
    def offered(self) -> bool: ...


class WaitFacts(Protocol):
    """A ``claim_wait``: a viewer in line for a sold-out variant."""

    @property
    def viewer_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def sku(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def quantity(self) -> int: ...
    @property
    def at(self) -> float: ...


class AuctionFacts(Protocol):
    """An ``auction`` state, as the hub announces it after every decision."""

    @property
    def auction_id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def currency(self) -> str: ...
    @property
    def start_price(self) -> int: ...
    @property
    def ends(self) -> float: ...
    @property
    def anti_snipe(self) -> int | None: ...
    @property
    def status(self) -> str: ...
    @property
    def why(self) -> str: ...
    @property
    def bids(self) -> int: ...
    @property
    def price(self) -> int | None: ...
    @property
    def next_bid(self) -> int: ...
    @property
    def leader(self) -> str | None: ...
    @property
    def leader_id(self) -> str | None: ...
    @property
    def winner(self) -> str | None: ...
    @property
    def winner_id(self) -> str | None: ...
    @property
    def checkout_until(self) -> float | None: ...
    @property
    def order_id(self) -> str | None: ...
    @property
    def extended(self) -> int: ...
    @property
    def passed_ids(self) -> Sequence[str]: ...


class BidFacts(Protocol):
    """An ``auction_bid``: a bidder's maximum, which staff see and viewers never do."""

    @property
    def auction_id(self) -> str: ...
    @property
    def viewer_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def maximum(self) -> int: ...
    @property
    def at(self) -> float: ...


class GiveawayFacts(Protocol):
    """A ``giveaway`` state: its start, its draw (with the seed), or its cancellation."""

    @property
    def giveaway_id(self) -> str: ...
    @property
    def prize(self) -> str: ...
    @property
    def eligibility(self) -> str: ...
    @property
    def keyword(self) -> str | None: ...
    @property
    def ends(self) -> float: ...
    @property
    def commitment(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def entrants(self) -> int: ...
    @property
    def seed(self) -> str | None: ...
    @property
    def entries(self) -> Sequence[str]: ...
    @property
    def winner_id(self) -> str | None: ...
    @property
    def winner(self) -> str | None: ...


class EntryFacts(Protocol):
    """A ``giveaway_entry``: one viewer entered (staff see each one)."""

    @property
    def giveaway_id(self) -> str: ...
    @property
    def viewer_id(self) -> str: ...


# ---------------------------------------------------------------- refusals

#: The hub's error codes a selling command meets, in the host's words.
_REFUSALS: Final[Mapping[str, str]] = {
    "invalid": "not accepted",
    "conflict": "one is already running",
    "sold_out": "sold out",
    "not_found": "nothing to act on",
    "forbidden": "your role may not do this",
    "rate_limited": "too fast, try again",
    "unavailable": "the hub could not store it",
    "internal": "the hub failed",
}


def refusal(what: str, code: str | None, message: str) -> str:
    """A refused command as the dock says it: "Auction not started (one is already
    running): An auction is running; …". ``code`` None: the command never reached the hub."""
    words = _REFUSALS.get(code, code) if code is not None else "not sent"
    return f"{what} ({words}): {message}"


# ---------------------------------------------------------------- time


def countdown(ends: float, hub_now: float) -> str:
    """The time left until ``ends`` as a countdown reads it: "1:35", "1:02:05", "0:00".

    Rounded up, so "0:00" shows only once the time is over, as on the viewers' page.
    """
    left = math.ceil(max(0.0, ends - hub_now))
    hours, rest = divmod(left, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{seconds:02d}"
    return f"{minutes}:{seconds:02d}"


def clock_time(at: float, offset: float) -> str:
    """The hub's instant ``at`` on this console's clock, "14:05:09" (``offset``: the
    hub's clock minus this machine's)."""
    return time.strftime("%H:%M:%S", time.localtime(at - offset))


def _money(amount: int, currency: str) -> str:
    return format_money(Money(amount, currency))


def _totals(amounts: Mapping[str, int]) -> str:
    """One sum per currency: a cart in two currencies has two totals."""
    return " + ".join(_money(amount, currency) for currency, amount in sorted(amounts.items()))


# ---------------------------------------------------------------- claims


def _what(card: ClaimFacts | WaitFacts) -> str:
    return card.label or card.title


def claims_mode_text(
    on: bool,
    product_id: str | None,
    hold_seconds: float,
    pinned: tuple[str, str] | None,
    summary: str,
) -> str:
    """The claims mode in a sentence. ``pinned``: the pinned product's id and title.

    The hub reads claims only on the product claims were turned on for, and only while
    it is pinned: pinning another leaves claims on but claiming nothing.
    """
    if not on:
        return f"Claims are off (pinned: {pinned[1] if pinned else 'nothing'})."
    if pinned is None or pinned[0] != product_id:
        return (
            f"Claims are on for {product_id}, which is not pinned: comments claim nothing "
            f"until it is pinned again; untick and tick to claim the pinned one. {summary}."
        )
    minutes = round(hold_seconds / 60)
    return f"Claims on for {pinned[1]}: a claim holds its units {minutes} min. {summary}."


def cart_line(card: ClaimFacts) -> str:
    """A claim inside its viewer's cart: "2 x M / White · €25.00" (with a times sign)."""
    total = _money(card.quantity * card.unit_price, card.currency)
    return f"{card.quantity} {TIMES} {_what(card)} · {total}"


def claim_line(card: ClaimFacts, hub_now: float) -> str:
    """One claim as it lands: "Ann · 2 x M / White · €25.00 · 9:41 to pay"; an offered
    one says it came from the waitlist."""
    left = f"{countdown(card.expires, hub_now)} to pay" if card.expires > hub_now else "time up"
    waited = " · from the waitlist" if card.offered else ""
    return f"{card.name or NAMELESS} · {cart_line(card)} · {left}{waited}"


@dataclass(frozen=True, slots=True)
class Cart:
    """A viewer's open claims: what they hold, and what paying for it all comes to."""

    viewer_id: str
    name: str
    claims: tuple[ClaimFacts, ...]

    @property
    def units(self) -> int:
        return sum(c.quantity for c in self.claims)

    def totals(self) -> dict[str, int]:
        sums: dict[str, int] = {}
        for claim in self.claims:
            sums[claim.currency] = sums.get(claim.currency, 0) + claim.quantity * claim.unit_price
        return sums

    def heading(self) -> str:
        """ "Ann — 3 units · €37.50"."""
        return f"{self.name or NAMELESS} — {counted(self.units, 'unit')} · {_totals(self.totals())}"


@dataclass(frozen=True, slots=True)
class Line:
    """The waitlist of one variant, first in line first."""

    sku: str
    what: str
    waiting: tuple[WaitFacts, ...]

    def text(self) -> str:
        """ "M / White — 2 waiting: Bob (1), Cid (2)": each with the units they asked."""
        names = ", ".join(f"{w.name or NAMELESS} ({w.quantity})" for w in self.waiting)
        return f"{self.what} — {len(self.waiting)} waiting: {names}"


@dataclass(slots=True)
class ClaimBoard:
    """The open claims and the waitlist, from the hub's ``claim_card``, ``claim_end``,
    ``claim_wait`` and ``claim_wait_end`` (each open one restated after ``welcome``, so a
    reconnect rebuilds the board)."""

    claims: dict[str, ClaimFacts] = field(default_factory=dict)
    waits: dict[tuple[str, str], WaitFacts] = field(default_factory=dict)

    def land(self, card: ClaimFacts) -> None:
        """A claim landed; an ``offered`` one is the first in line served, who leaves it."""
        self.claims.pop(card.claim_id, None)
        self.claims[card.claim_id] = card
        if card.offered:
            self.waits.pop((card.viewer_id, card.sku), None)

    def end(self, claim_id: str) -> None:
        """Paid, expired, released or declined: the claim is no longer held."""
        self.claims.pop(claim_id, None)

    def wait(self, entry: WaitFacts) -> None:
        self.waits[(entry.viewer_id, entry.sku)] = entry

    def leave(self, viewer_id: str, sku: str) -> None:
        """The viewer gave up their place in ``sku``'s line; those behind move up."""
        self.waits.pop((viewer_id, sku), None)

    def clear(self) -> None:
        self.claims.clear()
        self.waits.clear()

    def landed(self) -> list[ClaimFacts]:
        """Newest first: the claim that just landed is at the top."""
        return list(reversed(self.claims.values()))

    def carts(self) -> list[Cart]:
        """One cart per viewer holding claims, the largest first (then by name)."""
        grouped: dict[str, list[ClaimFacts]] = {}
        for card in self.claims.values():
            grouped.setdefault(card.viewer_id, []).append(card)
        carts = [Cart(vid, cards[-1].name, tuple(cards)) for vid, cards in grouped.items()]
        return sorted(carts, key=lambda c: (-c.units, (c.name or NAMELESS).casefold()))

    def lines(self) -> list[Line]:
        """The waitlist per variant, in the order viewers joined it."""
        grouped: dict[str, list[WaitFacts]] = {}
        for entry in sorted(self.waits.values(), key=lambda w: w.at):
            grouped.setdefault(entry.sku, []).append(entry)
        return [Line(sku, _what(entries[0]), tuple(entries)) for sku, entries in grouped.items()]

    def summary(self) -> str:
        """ "3 claims from 2 viewers · 1 waiting"."""
        viewers = len({c.viewer_id for c in self.claims.values()})
        text = f"{counted(len(self.claims), 'claim')} from {counted(viewers, 'viewer')}"
        if self.waits:
            text += f" · {len(self.waits)} waiting"
        return text


# ---------------------------------------------------------------- auctions


@dataclass(frozen=True, slots=True)
class LadderRow:
    """One bid as staff see it: who, up to what, when, and where it stands now."""

    name: str
    maximum: str
    at: float
    #: Beside a bidder's highest bid: "leads" while bidding is open; "to pay" for the
    #: one whose checkout runs, "paid" once they did, "did not pay" for those passed
    #: over; empty for every other bid.
    mark: str


@dataclass(slots=True)
class AuctionBoard:
    """The latest ``auction`` state and the bids (``auction_bid``) on it.

    Everything shown comes from the latest state (how long late bids extended the end,
    who was passed over) and the bids, which the hub restates after ``welcome``: a
    console that joins late, or after a lapse, shows what one that watched shows.
    """

    state: AuctionFacts | None = None
    #: Per auction, its bids by bidder and instant, in the order they came.
    bids: dict[str, dict[tuple[str, float], BidFacts]] = field(default_factory=dict)

    def update(self, state: AuctionFacts) -> None:
        if self.state is None or self.state.auction_id != state.auction_id:
            self.bids = {k: v for k, v in self.bids.items() if k == state.auction_id}
        self.state = state

    def add_bid(self, bid: BidFacts) -> None:
        """A bid taken. One seen before is the hub restating every bid after ``welcome``
        in the order it took them: it moves to the end, so that order stands between
        bids of the same instant, whatever the history on joining brought first."""
        mine = self.bids.setdefault(bid.auction_id, {})
        mine.pop((bid.viewer_id, bid.at), None)
        mine[(bid.viewer_id, bid.at)] = bid

    def passed(self) -> list[str]:
        """The names of the bidders passed over, in order, as they signed their bids."""
        state = self.state
        if state is None:
            return []
        names = {b.viewer_id: b.name for b in self.bids.get(state.auction_id, {}).values()}
        return [names.get(viewer_id) or NAMELESS for viewer_id in state.passed_ids]

    def ladder(self) -> list[LadderRow]:
        """The bids newest first, each bidder's highest marked with where they stand."""
        state = self.state
        if state is None:
            return []
        bids = sorted(self.bids.get(state.auction_id, {}).values(), key=lambda b: b.at)
        marks: dict[str, str] = dict.fromkeys(state.passed_ids, "did not pay")
        if state.status == "open" and state.leader_id is not None:
            marks[state.leader_id] = "leads"
        elif state.status in ("closed", "sold") and state.winner_id is not None:
            marks[state.winner_id] = "to pay" if state.status == "closed" else "paid"
        highest: dict[str, BidFacts] = {}
        for b in bids:
            if b.viewer_id not in highest or b.maximum > highest[b.viewer_id].maximum:
                highest[b.viewer_id] = b
        return [
            LadderRow(
                b.name or NAMELESS,
                _money(b.maximum, state.currency),
                b.at,
                marks.get(b.viewer_id, "") if highest[b.viewer_id] is b else "",
            )
            for b in reversed(bids)
        ]

    def headline(self, hub_now: float) -> str:
        """:func:`auction_headline` with what this board remembers."""
        if self.state is None:
            return "No auction yet."
        return auction_headline(
            self.state, hub_now, extended=self.state.extended, passed=self.passed()
        )

    def is_open(self) -> bool:
        """Bidding is open: the host may call it off."""
        return self.state is not None and self.state.status == "open"

    def is_running(self) -> bool:
        """Open, or closed with a winner still to pay: the hub refuses another start."""
        return self.state is not None and self.state.status in ("open", "closed")


def auction_headline(
    state: AuctionFacts, hub_now: float, *, extended: float = 0.0, passed: Sequence[str] = ()
) -> str:
    """The lot and where it stands: price, leader, bids, time left; or how it ended.

    ``extended``: the seconds late bids added to the end, said beside the countdown so the
    host can tell viewers why it jumped. ``passed``: the names of winners whose time to
    pay ran out, before the bidder whose checkout runs now.
    """
    lot = f"{state.title} {state.label}".strip()
    money = _money(state.price if state.price is not None else state.start_price, state.currency)
    if state.status == "open":
        left = f"{countdown(state.ends, hub_now)} left"
        if extended > 0:
            left += f" (extended by {math.ceil(extended)} s)"
        if not state.bids:
            return f"{lot}: opens at {money} · no bids yet · {left}"
        leader = state.leader or NAMELESS
        return f"{lot}: {money} · {leader} leads · {counted(state.bids, 'bid')} · {left}"
    if state.status == "closed":
        if state.winner is None or state.checkout_until is None:
            return f"{lot}: bidding ended at {money}"
        left = countdown(state.checkout_until, hub_now)
        if passed:
            return (
                f"{lot}: {' then '.join(passed)} did not pay in time; offered to "
                f"{state.winner} at {money} · {left} left to pay"
            )
        return f"{lot}: won by {state.winner} at {money} · {left} left to pay"
    if state.status == "sold":
        order = f" (order {state.order_id})" if state.order_id else ""
        return f"{lot}: sold to {state.winner or NAMELESS} for {money} · paid{order}"
    if state.status == "unsold":
        why = "no bids" if not state.bids else "no bidder paid in time"
        return f"{lot}: unsold, {why}; the unit is back on sale"
    return f"{lot}: called off; the unit is back on sale"


def auction_detail(state: AuctionFacts, offset: float) -> str:
    """The line under the headline: what a viewer must bid now, and whether a late bid
    extends the end, while bidding is open; until when the winner may pay (on this
    console's clock) once it closed."""
    if state.status == "open":
        rule = (
            f"a bid in the last {state.anti_snipe} s adds {state.anti_snipe} s"
            if state.anti_snipe
            else "sudden death"
        )
        return f"Next bid: {_money(state.next_bid, state.currency)} · {rule}"
    if state.status == "closed" and state.checkout_until is not None:
        until = clock_time(state.checkout_until, offset)
        return f"Checkout until {until}; then the next bidder may pay."
    return ""


# ---------------------------------------------------------------- giveaways


@dataclass(slots=True)
class GiveawayBoard:
    """The latest ``giveaway`` state and who entered it (``giveaway_entry``): the
    public state counts entrants only at its start and draw, staff see each entry."""

    state: GiveawayFacts | None = None
    entered: dict[str, set[str]] = field(default_factory=dict)

    def update(self, state: GiveawayFacts) -> None:
        self.state = state
        self.entered = {state.giveaway_id: self.entered.get(state.giveaway_id, set())}

    def enter(self, entry: EntryFacts) -> None:
        self.entered.setdefault(entry.giveaway_id, set()).add(entry.viewer_id)

    def entrants(self) -> int:
        state = self.state
        if state is None:
            return 0
        return max(state.entrants, len(self.entered.get(state.giveaway_id, ())))

    def can_draw(self, hub_now: float) -> bool:
        """The hub draws once entries closed (``invalid`` before)."""
        state = self.state
        return state is not None and state.status == "open" and hub_now >= state.ends

    def is_open(self) -> bool:
        return self.state is not None and self.state.status == "open"


def giveaway_headline(board: GiveawayBoard, hub_now: float) -> str:
    """Where the giveaway stands: entrants and time left, closed and ready, or drawn."""
    state = board.state
    if state is None:
        return "No giveaway yet."
    entrants = counted(board.entrants(), "entrant")
    if state.status == "open":
        if hub_now < state.ends:
            return f"{state.prize}: {entrants} · {countdown(state.ends, hub_now)} left to enter"
        return f"{state.prize}: entries closed · {entrants} · draw the winner"
    if state.status == "drawn":
        if state.winner_id is None:
            return f"{state.prize}: drawn with no entrants, no winner"
        return f"{state.prize}: {state.winner or NAMELESS} won (of {entrants})"
    return f"{state.prize}: cancelled"


def giveaway_terms(state: GiveawayFacts) -> str:
    """Who may enter and how: "Everyone watching · comment “win” or tap Enter"."""
    who = ELIGIBILITY_TEXT.get(state.eligibility, state.eligibility)
    how = f"comment “{state.keyword}” or tap Enter" if state.keyword else "tap Enter"
    return f"{who} · {how}"


def draw_check(state: GiveawayFacts) -> str:
    """Whether the seed the draw revealed matches the commitment published at the start
    and gives the announced winner (the check every viewer's page makes). The seed and
    the commitment are cut to their first 16 digits: 64 unbroken hex digits would widen
    the dock, and with it the window; the dock shows the full seed in a field to copy."""
    if state.seed is None:
        return f"Commitment {state.commitment[:16]}…: the seed stays secret until the draw."
    try:
        seed = bytes.fromhex(state.seed)
    except ValueError:
        return f"Seed {state.seed[:16]}…: not hex; the draw cannot be checked."
    fair = commitment_of(seed) == state.commitment and winner_of(seed, state.entries) == (
        state.winner_id
    )
    verdict = "matches the commitment and the winner" if fair else "does NOT check out"
    return f"Seed {state.seed[:16]}…: {verdict}."


def eligibility_choices() -> list[tuple[Eligibility, str]]:
    """The choices of who may enter, in the domain's order, with their text."""
    return [(name, ELIGIBILITY_TEXT[name]) for name in get_args(Eligibility)]
