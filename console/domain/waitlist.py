"""Stock, claims and the waitlist: one count of every variant, so nothing sells twice.

A variant's units are either free (anyone may claim or buy them) or held by a claim: a
viewer's comment ("sold sage M", :mod:`console.domain.claims`), or an offer to the first
viewer in the waitlist. A claim holds its units for the host's hold time (10 minutes
unless the host sets another) and is then checked out (it becomes an order), released by
the viewer or the host, or expires. When a variant has no free units, a claim comment
joins its waitlist instead; units that come back (a claim that expired or was released,
a restock, a cancelled order) are offered, as a timed claim, to the first in line, and
when that offer lapses, to the next. While anybody waits for a variant, none of its
units are free: a new comment, or a buy with the pin's Buy button, cannot overtake the
line.

Everything here is pure, after :mod:`console.domain.deals`: the hub's clock comes in as
``now``, every function returns the new :class:`Shelf` and the events that led to it,
and :func:`replay` rebuilds the same shelf from those events (the room's log), so a hub
that restarts resumes with every claim and every place in line. Each decision first
expires the claims that are due at ``now``, so the order of things follows the hub's
clock even when a timer fires late.

The store keeps the same count as its conditional ``UPDATE``: units free to sell are the
store's ``stock``; a claim takes them off as a reservation does, and a release puts them
back.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

from console.domain.checkout import MAX_QUANTITY
from console.errors import ShopcastError

__all__ = [
    "DEFAULT_HOLD_SECONDS",
    "MAX_HOLD_SECONDS",
    "MAX_WAITING",
    "MIN_HOLD_SECONDS",
    "Claim",
    "ClaimCheckedOut",
    "ClaimError",
    "ClaimReleased",
    "Claimed",
    "HoldChanged",
    "LeftWaitlist",
    "NotEnoughStockError",
    "Offered",
    "Restocked",
    "Shelf",
    "ShelfDecision",
    "ShelfEvent",
    "Sold",
    "StockCounted",
    "Waiting",
    "Waitlisted",
    "apply",
    "buy",
    "check_out",
    "claim",
    "count_stock",
    "expire",
    "join_waitlist",
    "leave_waitlist",
    "release",
    "replay",
    "restock",
    "set_hold",
]

#: What CommentSold and most live sellers give a claim to be paid: long enough to open
#: the page and pay, short enough that unpaid units go back during the same show.
DEFAULT_HOLD_SECONDS: Final = 600.0
#: Shorter, a viewer who has to find their card loses the claim while paying.
MIN_HOLD_SECONDS: Final = 60.0
#: Longer, unpaid units stay away from the next viewers until the show is over.
MAX_HOLD_SECONDS: Final = 24 * 3600.0
#: Places in one variant's line; beyond them the variant will not come back for them.
MAX_WAITING: Final = 10_000

Release = Literal["expired", "released", "declined"]


class ClaimError(ShopcastError):
    """A claim, a buy or a place in line cannot be had as asked; the message says why."""


class NotEnoughStockError(ClaimError):
    """Fewer units are free than asked for; ``left`` is how many are."""

    def __init__(self, message: str, left: int) -> None:
        super().__init__(message)
        self.left = left


@dataclass(frozen=True, slots=True)
class Claim:
    """Units held for one viewer until ``expires`` (the hub's clock), or until paid."""

    id: str
    viewer_id: str
    sku: str
    quantity: int
    at: float
    expires: float
    #: Offered to the first in the waitlist, rather than claimed by a comment.
    offered: bool = False


@dataclass(frozen=True, slots=True)
class Waiting:
    """A viewer's place in a variant's line, for ``quantity`` units."""

    viewer_id: str
    sku: str
    quantity: int
    at: float


# ---------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class StockCounted:
    """The shelf holds ``units`` of ``sku`` not yet sold (the catalogue, a host's count)."""

    sku: str
    units: int
    at: float


@dataclass(frozen=True, slots=True)
class Restocked:
    """``units`` more of ``sku``: a delivery, or a cancelled order (``order_id``) put back."""

    sku: str
    units: int
    at: float
    order_id: str | None = None


@dataclass(frozen=True, slots=True)
class HoldChanged:
    """Claims made from now on hold their units for ``seconds``."""

    seconds: float
    at: float


@dataclass(frozen=True, slots=True)
class Claimed:
    """A viewer's comment claimed units that were free."""

    claim: Claim


@dataclass(frozen=True, slots=True)
class Offered:
    """Units that came back went to the first in line, as a claim of their own."""

    claim: Claim


@dataclass(frozen=True, slots=True)
class ClaimCheckedOut:
    """The claim became order ``order_id``: its units are sold (or back if it fails)."""

    claim_id: str
    order_id: str
    at: float


@dataclass(frozen=True, slots=True)
class ClaimReleased:
    """The claim's units are free again: it ``expired``, the viewer or the host
    ``released`` it, or the viewer ``declined`` an offer."""

    claim_id: str
    at: float
    why: Release


@dataclass(frozen=True, slots=True)
class Sold:
    """Free units were bought straight away (the pin's Buy button, a deal, a checkout)."""

    sku: str
    quantity: int
    order_id: str
    at: float


@dataclass(frozen=True, slots=True)
class Waitlisted:
    """A viewer joined the end of a variant's line."""

    entry: Waiting


@dataclass(frozen=True, slots=True)
class LeftWaitlist:
    """A viewer gave up their place in line."""

    viewer_id: str
    sku: str
    at: float


ShelfEvent = (
    StockCounted
    | Restocked
    | HoldChanged
    | Claimed
    | Offered
    | ClaimCheckedOut
    | ClaimReleased
    | Sold
    | Waitlisted
    | LeftWaitlist
)


# ---------------------------------------------------------------- the state


@dataclass(frozen=True, slots=True)
class Shelf:
    """Every variant's units, the open claims, and the lines: the one count of stock.

    Treat the mappings as read-only; every change makes a new shelf.
    """

    #: Units of each SKU not yet sold: free, or held by a claim.
    units: Mapping[str, int] = field(default_factory=dict)
    #: Units of each SKU held by open claims (kept with ``claims``, so a lookup is cheap).
    held: Mapping[str, int] = field(default_factory=dict)
    #: Open claims by id, oldest first.
    claims: Mapping[str, Claim] = field(default_factory=dict)
    #: Each SKU's line, first in line first; a SKU nobody waits for has no entry.
    waitlists: Mapping[str, tuple[Waiting, ...]] = field(default_factory=dict)
    hold_seconds: float = DEFAULT_HOLD_SECONDS
    #: The number in the next claim's id ("C1", "C2", ...), so replay gives the same ids.
    next_claim: int = 1

    def free(self, sku: str) -> int:
        """Units anyone may claim or buy now: none while anybody waits in line, since
        every unit that comes back is offered to the line first."""
        return self.units.get(sku, 0) - self.held.get(sku, 0)

    def cart(self, viewer_id: str) -> tuple[Claim, ...]:
        """A viewer's open claims, oldest first: what they can pay for at once."""
        return tuple(c for c in self.claims.values() if c.viewer_id == viewer_id)

    def place(self, viewer_id: str, sku: str) -> int | None:
        """A viewer's place in ``sku``'s line (1 is next), None when not in it."""
        for number, entry in enumerate(self.waitlists.get(sku, ()), start=1):
            if entry.viewer_id == viewer_id:
                return number
        return None

    def next_deadline(self) -> float | None:
        """When the next claim expires: the hub sets its timer for then."""
        return min((c.expires for c in self.claims.values()), default=None)


@dataclass(frozen=True, slots=True)
class ShelfDecision:
    """The shelf after a decision, and the events to log (in order) that make it."""

    shelf: Shelf
    events: tuple[ShelfEvent, ...]


def apply(shelf: Shelf, event: ShelfEvent) -> Shelf:
    """The shelf after one event: the only place the shelf changes, so replay agrees."""
    units, held = dict(shelf.units), dict(shelf.held)
    match event:
        case StockCounted(sku=sku, units=count):
            units[sku] = count
            return dataclasses.replace(shelf, units=units)
        case Restocked(sku=sku, units=more):
            units[sku] = units.get(sku, 0) + more
            return dataclasses.replace(shelf, units=units)
        case HoldChanged(seconds=seconds):
            return dataclasses.replace(shelf, hold_seconds=seconds)
        case Claimed(claim=new) | Offered(claim=new):
            waitlists = dict(shelf.waitlists)
            if isinstance(event, Offered):
                line = waitlists[new.sku]
                assert line[0].viewer_id == new.viewer_id, "an offer goes to the first in line"
                _set_line(waitlists, new.sku, line[1:])
            held[new.sku] = held.get(new.sku, 0) + new.quantity
            claims = {**shelf.claims, new.id: new}
            return dataclasses.replace(
                shelf,
                held=held,
                claims=claims,
                waitlists=waitlists,
                next_claim=shelf.next_claim + 1,
            )
        case ClaimCheckedOut(claim_id=claim_id) | ClaimReleased(claim_id=claim_id):
            claims = dict(shelf.claims)
            gone = claims.pop(claim_id)
            held[gone.sku] -= gone.quantity
            if isinstance(event, ClaimCheckedOut):
                units[gone.sku] -= gone.quantity
            return dataclasses.replace(shelf, units=units, held=held, claims=claims)
        case Sold(sku=sku, quantity=quantity):
            units[sku] -= quantity
            return dataclasses.replace(shelf, units=units)
        case Waitlisted(entry=entry):
            waitlists = dict(shelf.waitlists)
            _set_line(waitlists, entry.sku, (*waitlists.get(entry.sku, ()), entry))
            return dataclasses.replace(shelf, waitlists=waitlists)
        case LeftWaitlist(viewer_id=viewer_id, sku=sku):
            waitlists = dict(shelf.waitlists)
            line = tuple(e for e in waitlists.get(sku, ()) if e.viewer_id != viewer_id)
            _set_line(waitlists, sku, line)
            return dataclasses.replace(shelf, waitlists=waitlists)
    raise TypeError(f"not a shelf event: {event!r}")


def _set_line(
    waitlists: dict[str, tuple[Waiting, ...]], sku: str, line: tuple[Waiting, ...]
) -> None:
    if line:
        waitlists[sku] = line
    else:
        waitlists.pop(sku, None)


def replay(events: Iterable[ShelfEvent], shelf: Shelf | None = None) -> Shelf:
    """The shelf the logged ``events`` lead to, from an empty one (or ``shelf``)."""
    state = shelf if shelf is not None else Shelf()
    for event in events:
        state = apply(state, event)
    return state


class _Steps:
    """Events being decided, applied one by one so each next rule sees the shelf so far."""

    def __init__(self, shelf: Shelf) -> None:
        self.shelf = shelf
        self.events: list[ShelfEvent] = []

    def add(self, event: ShelfEvent) -> None:
        self.shelf = apply(self.shelf, event)
        self.events.append(event)

    def expire(self, now: float) -> None:
        """Release every claim due at ``now`` (the end instant is already over), earliest
        first, and offer what comes back to the line."""
        due = sorted(
            (c for c in self.shelf.claims.values() if c.expires <= now),
            key=lambda c: (c.expires, int(c.id[1:])),
        )
        for gone in due:
            self.add(ClaimReleased(gone.id, gone.expires, "expired"))
            self.serve(gone.sku, now)

    def serve(self, sku: str, now: float) -> None:
        """Offer free units of ``sku`` to the line, first in line first."""
        while (line := self.shelf.waitlists.get(sku)) and (free := self.shelf.free(sku)) > 0:
            first = line[0]
            self.add(
                Offered(self.new_claim(first.viewer_id, sku, min(first.quantity, free), now, True))
            )

    def new_claim(
        self, viewer_id: str, sku: str, quantity: int, now: float, offered: bool
    ) -> Claim:
        shelf = self.shelf
        return Claim(
            id=f"C{shelf.next_claim}",
            viewer_id=viewer_id,
            sku=sku,
            quantity=quantity,
            at=now,
            expires=now + shelf.hold_seconds,
            offered=offered,
        )

    def done(self) -> ShelfDecision:
        return ShelfDecision(self.shelf, tuple(self.events))


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_quantity(quantity: int) -> None:
    if not _is_int(quantity) or not 1 <= quantity <= MAX_QUANTITY:
        raise ClaimError(f"Claim from 1 to {MAX_QUANTITY} at a time, not {quantity!r}.")


def _check_known(shelf: Shelf, sku: str) -> None:
    if sku not in shelf.units:
        raise ClaimError(f"{sku!r} is not on the shelf; count its stock first.")


# ---------------------------------------------------------------- decisions


def count_stock(shelf: Shelf, sku: str, units: int, now: float) -> ShelfDecision:
    """The host (or the catalogue) says how many units of ``sku`` are left to sell.

    Units held by open claims are part of the count; a count below them would sell the
    claimed units twice, so it is refused until the claims are released.
    """
    if not _is_int(units) or units < 0:
        raise ClaimError(f"Stock is a whole number of units, 0 or more, not {units!r}.")
    steps = _Steps(shelf)
    steps.expire(now)
    held = steps.shelf.held.get(sku, 0)
    if units < held:
        raise ClaimError(
            f"{held} units of {sku} are held by claims; enter at least {held}, or release "
            "claims first."
        )
    steps.add(StockCounted(sku, units, now))
    steps.serve(sku, now)
    return steps.done()


def restock(
    shelf: Shelf, sku: str, units: int, now: float, order_id: str | None = None
) -> ShelfDecision:
    """``units`` come back to ``sku`` (a delivery, or cancelled order ``order_id``), and
    go to the line first."""
    _check_known(shelf, sku)
    if not _is_int(units) or units < 1:
        raise ClaimError(f"A restock adds 1 unit or more, not {units!r}.")
    steps = _Steps(shelf)
    steps.expire(now)
    steps.add(Restocked(sku, units, now, order_id))
    steps.serve(sku, now)
    return steps.done()


def set_hold(shelf: Shelf, seconds: float, now: float) -> ShelfDecision:
    """How long claims made from now on hold their units; open claims keep theirs."""
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, int | float)
        or not MIN_HOLD_SECONDS <= seconds <= MAX_HOLD_SECONDS
    ):
        raise ClaimError(
            f"A claim holds its units from {MIN_HOLD_SECONDS / 60:.0f} minute to "
            f"{MAX_HOLD_SECONDS / 3600:.0f} hours; enter minutes in that range, not "
            f"{seconds!r} seconds."
        )
    steps = _Steps(shelf)
    steps.expire(now)
    steps.add(HoldChanged(float(seconds), now))
    return steps.done()


def claim(shelf: Shelf, viewer_id: str, sku: str, quantity: int, now: float) -> ShelfDecision:
    """A viewer's claim comment: hold free units, or take a place in line when none are.

    A viewer already in the line keeps their place (no event). A viewer may hold at most
    :data:`~console.domain.checkout.MAX_QUANTITY` units of a variant, as one order may.
    """
    _check_known(shelf, sku)
    _check_quantity(quantity)
    steps = _Steps(shelf)
    steps.expire(now)
    state = steps.shelf
    holding = sum(c.quantity for c in state.cart(viewer_id) if c.sku == sku)
    if holding + quantity > MAX_QUANTITY:
        raise ClaimError(
            f"You already hold {holding} of these; one viewer may claim up to "
            f"{MAX_QUANTITY}. Pay for your claims, or claim {MAX_QUANTITY - holding} or fewer."
        )
    free = state.free(sku)
    if free <= 0:
        if state.place(viewer_id, sku) is None:
            _join(steps, viewer_id, sku, quantity, now)
        return steps.done()
    if free < quantity:
        raise NotEnoughStockError(
            f'Only {free} left; claim {free} or fewer, e.g. "sold {free}".', free
        )
    steps.add(Claimed(steps.new_claim(viewer_id, sku, quantity, now, offered=False)))
    return steps.done()


def _join(steps: _Steps, viewer_id: str, sku: str, quantity: int, now: float) -> None:
    if len(steps.shelf.waitlists.get(sku, ())) >= MAX_WAITING:
        raise ClaimError(
            f"{MAX_WAITING:,} viewers are already waiting for this one; it will not come "
            "back for everyone."
        )
    steps.add(Waitlisted(Waiting(viewer_id, sku, quantity, now)))
    steps.serve(sku, now)


def join_waitlist(
    shelf: Shelf, viewer_id: str, sku: str, quantity: int, now: float
) -> ShelfDecision:
    """The page's "Join the waitlist" button: a place at the end of ``sku``'s line.

    Units free by the time the button is pressed go to the viewer at once, as an offer,
    when nobody is ahead of them. Pressing it again keeps the place (no event).
    """
    _check_known(shelf, sku)
    _check_quantity(quantity)
    steps = _Steps(shelf)
    steps.expire(now)
    if steps.shelf.place(viewer_id, sku) is None:
        _join(steps, viewer_id, sku, quantity, now)
    return steps.done()


def leave_waitlist(shelf: Shelf, viewer_id: str, sku: str, now: float) -> ShelfDecision:
    """The viewer gives up their place; those behind move up. Not in line: no event."""
    steps = _Steps(shelf)
    steps.expire(now)
    if steps.shelf.place(viewer_id, sku) is not None:
        steps.add(LeftWaitlist(viewer_id, sku, now))
    return steps.done()


def _open_claim(steps: _Steps, claim_id: str, viewer_id: str | None) -> Claim:
    held = steps.shelf.claims.get(claim_id)
    if held is None or (viewer_id is not None and held.viewer_id != viewer_id):
        raise ClaimError(
            "This claim has expired or was released, and its units went back on sale; "
            "comment again to claim."
        )
    return held


def check_out(
    shelf: Shelf, claim_id: str, viewer_id: str, order_id: str, now: float
) -> ShelfDecision:
    """The viewer pays for their claim: its units become order ``order_id``.

    A claim due at ``now`` has expired, whatever the viewer's page still showed. If the
    payment then fails, the hub puts the units back with :func:`restock` and the order id.
    """
    steps = _Steps(shelf)
    steps.expire(now)
    _open_claim(steps, claim_id, viewer_id)
    steps.add(ClaimCheckedOut(claim_id, order_id, now))
    return steps.done()


def release(shelf: Shelf, claim_id: str, now: float, viewer_id: str | None = None) -> ShelfDecision:
    """A viewer (``viewer_id``) or the host (None) lets a claim go; the units go to the
    line first. Letting an offer go is declining it, and the next in line gets it."""
    steps = _Steps(shelf)
    steps.expire(now)
    gone = _open_claim(steps, claim_id, viewer_id)
    steps.add(ClaimReleased(claim_id, now, "declined" if gone.offered else "released"))
    steps.serve(gone.sku, now)
    return steps.done()


def buy(shelf: Shelf, sku: str, quantity: int, order_id: str, now: float) -> ShelfDecision:
    """A buy of free units without a claim (the pin's Buy button, a deal, a checkout)."""
    _check_known(shelf, sku)
    _check_quantity(quantity)
    steps = _Steps(shelf)
    steps.expire(now)
    free = max(0, steps.shelf.free(sku))
    if free < quantity:
        if free == 0:
            raise NotEnoughStockError("Sold out; join the waitlist to get the next one.", 0)
        raise NotEnoughStockError(f"Only {free} left; lower the quantity.", free)
    steps.add(Sold(sku, quantity, order_id, now))
    return steps.done()


def expire(shelf: Shelf, now: float) -> ShelfDecision:
    """The hub's timer: release the claims due at ``now`` and offer their units on."""
    steps = _Steps(shelf)
    steps.expire(now)
    return steps.done()
