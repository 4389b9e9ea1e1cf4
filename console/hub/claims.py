"""Comment to claim, in the hub: "sold M" under the pinned product holds a unit for the viewer.

The rules are the domain's: :func:`console.domain.claims.read_claim` reads the comment,
:mod:`console.domain.waitlist` decides who holds what until when. This shell keeps the
store's ``stock`` equal to the free units: a claim (or an offer to the first in line)
takes its units off with the store's conditional ``UPDATE``, in the transaction that
logs the claim's card for the viewer; an expiry or a release puts them back with the
claim's end. A claim's card and end are private to the claimer (and seen by staff), so
a page that reconnects, or the hub after a restart, finds every open claim again.

The hubs of a cluster keep one shelf, and the log arbitrates between them, as an event
store's expected version does: a desk remembers the seq of the last claim event it
applied, and the store writes a decision only if no claim event came after that one
(:class:`~console.store.records.StaleClaimsError`); else the desk catches up from the log
and decides again. So two hubs never hand out one claim id, never expire one claim twice
(its units back on sale twice), and a sold-out variant has one line. Another hub's claim
event heard on the bus brings the shelf up to date the same way (:meth:`ClaimDesk.follow`).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Final

import msgspec

from console import protocol
from console.domain import waitlist
from console.domain.catalogue import Product
from console.domain.claims import ClaimQuestion, ClaimRequest, read_claim
from console.errors import ProtocolError
from console.hub.fanout import private_to
from console.protocol import ErrorCode
from console.store.api import Orders
from console.store.records import (
    ClaimEvent,
    ClaimMove,
    NewOrder,
    OutOfStockError,
    StaleClaimsError,
)

log = logging.getLogger(__name__)

Publish = Callable[[int, bytes, str | None], None]
Decide = Callable[[waitlist.Shelf], waitlist.ShelfDecision]

#: How the log's claim events begin (msgspec writes the tag first): the claims mode, a
#: card, its end, a place in line, a place given up. The room hands those another hub
#: wrote to the desk.
CLAIM_EVENTS: Final = (
    b'{"t":"claims"',
    b'{"t":"claim_card"',
    b'{"t":"claim_end"',
    b'{"t":"claim_wait"',
    b'{"t":"claim_wait_end"',
)
#: Tries of one decision. Each retry first catches up, so it loses again only to claims
#: committed in the few milliseconds it takes; that many losses in a row means the
#: show's other hubs write claims faster than this one follows (a bound, not measured).
ATTEMPTS: Final = 5


class ClaimDesk:
    """Claims on the pinned product: the shelf of open claims and the lines, and the
    claims mode the host set. Used from the hub's loop thread only."""

    def __init__(
        self,
        records: Orders,
        publish: Publish,
        clock: Callable[[], float],
        to_product: Callable[[protocol.Product], Product],
    ) -> None:
        self._records = records
        self._publish = publish
        self._clock = clock
        self._to_product = to_product
        self._shelf = waitlist.Shelf()
        self._product_id: str | None = None
        #: The claims product as the domain reads comments against it (built from the
        #: store when first needed after the claims mode changed, here or on another hub).
        self._product: Product | None = None
        self._cards: dict[str, protocol.ClaimCard] = {}
        #: Places in line by (viewer, SKU), first come first.
        self._waits: dict[tuple[str, str], protocol.ClaimWaiting] = {}
        #: Display names of viewers in line, for the card of an offer made to them.
        self._names: dict[str, str] = {}
        #: The seq of the last claim event applied here (this desk's, or read from the
        #: log): a decision is stored only if the log has none after it.
        self._seen = 0
        #: The highest claim number the show handed out, so the next id is a new one.
        self._issued = 0

    # ------------------------------------------------------------ state

    def resume(self) -> None:
        """Rebuild the claims mode, the open claims and the lines from the room's log."""
        self._shelf = waitlist.Shelf()
        self._product_id = self._product = None
        self._cards, self._waits = {}, {}
        self._seen = self._issued = 0
        self.catch_up()

    def follow(self, seq: int) -> None:
        """A claim event from the bus: one another hub logged after the last applied here
        brings the shelf up to date from the log. This desk's own are applied already."""
        if seq > self._seen:
            self.catch_up()

    def catch_up(self) -> None:
        """Apply the claim events logged since the last one applied here (other hubs'),
        and count the shelf again from the open claims, the lines and the store's stock."""
        events = self._records.claim_log(after=self._seen)
        if not events:
            return
        for event in events:
            self._apply(event)
        now = self._clock()
        cards, waits = self._cards.values(), self._waits.values()
        steps: list[waitlist.ShelfEvent] = []
        for sku in {c.sku for c in cards} | {w.sku for w in waits}:
            held = sum(c.quantity for c in cards if c.sku == sku)
            steps.append(waitlist.StockCounted(sku, (self._records.stock(sku) or 0) + held, now))
        for card in cards:
            claim = waitlist.Claim(
                card.claim_id,
                card.viewer_id,
                card.sku,
                card.quantity,
                now,
                card.expires,
                card.offered,
            )
            steps.append(waitlist.Claimed(claim))
        for wait in waits:
            entry = waitlist.Waiting(wait.viewer_id, wait.sku, wait.quantity, wait.at)
            steps.append(waitlist.Waitlisted(entry))
        shelf = waitlist.replay(steps, waitlist.Shelf(hold_seconds=self._shelf.hold_seconds))
        self._shelf = dataclasses.replace(shelf, next_claim=self._issued + 1)

    def _apply(self, event: ClaimEvent) -> None:
        """One logged claim event, into the claims mode, the open cards and the lines."""
        match event:
            case protocol.ClaimsMode():
                self._product_id = event.product_id if event.on else None
                self._product = None
                self._shelf = dataclasses.replace(self._shelf, hold_seconds=event.hold_seconds)
            case protocol.ClaimCard():
                self._cards[event.claim_id] = event
                number = event.claim_id[1:]
                self._issued = max(self._issued, int(number) if number.isdigit() else 0)
                if event.offered:
                    self._waits.pop((event.viewer_id, event.sku), None)
            case protocol.ClaimEnded():
                self._cards.pop(event.claim_id, None)
            case protocol.ClaimWaiting():
                self._waits[(event.viewer_id, event.sku)] = event
                self._names[event.viewer_id] = event.name
            case protocol.ClaimWaitEnded():
                self._waits.pop((event.viewer_id, event.sku), None)
        self._seen = max(self._seen, event.seq)

    def _claims_product(self) -> Product | None:
        """The claims product for reading comments; read from the store once the mode
        changed (a mode another hub set arrives with only the product's id)."""
        if self._product is None and self._product_id is not None:
            product = self._records.product(self._product_id)
            self._product = self._to_product(product) if product is not None else None
        return self._product

    def mode(self, seq: int = 0) -> protocol.ClaimsMode:
        return protocol.ClaimsMode(
            seq=seq,
            on=self._product_id is not None,
            product_id=self._product_id,
            hold_seconds=self._shelf.hold_seconds,
        )

    def open_cards(
        self, viewer_id: str | None = None
    ) -> list[protocol.ClaimCard | protocol.ClaimWaiting]:
        """Open claims and places in line (of one viewer, or all for staff), restated
        with ``seq`` 0."""
        return [
            msgspec.structs.replace(c, seq=0)
            for c in (*self._cards.values(), *self._waits.values())
            if viewer_id is None or c.viewer_id == viewer_id
        ]

    # ------------------------------------------------------------ the host

    def set_claims(self, message: protocol.SetClaims, pinned: protocol.Product | None) -> None:
        """Claims on for the pinned product (with the hold time), or off."""
        now = self._clock()
        if message.on and pinned is None:
            raise ProtocolError(
                ErrorCode.INVALID, "Pin a product first; comments claim the pinned product."
            )
        product_id = pinned.id if message.on and pinned is not None else None
        minutes = message.hold_minutes

        def decide(shelf: waitlist.Shelf) -> waitlist.ShelfDecision:
            if minutes is None:
                return waitlist.expire(shelf, now)
            return waitlist.set_hold(shelf, minutes * 60, now)

        def mode(shelf: waitlist.Shelf) -> ClaimMove:
            made = protocol.ClaimsMode(
                seq=0,
                on=product_id is not None,
                product_id=product_id,
                hold_seconds=shelf.hold_seconds,
            )
            return ClaimMove(
                "", "", 0, "claims", None, lambda seq: msgspec.structs.replace(made, seq=seq), None
            )

        try:
            self._settle(decide, now, also=mode)
        except waitlist.ClaimError as exc:
            raise ProtocolError(ErrorCode.INVALID, str(exc)) from None
        log.info("claims %s (hold %.0f s)", "on" if product_id else "off", self._shelf.hold_seconds)

    # ------------------------------------------------------------ viewers

    def consider(
        self, viewer_id: str, name: str, text: str, pinned_id: str | None
    ) -> protocol.ClaimAsk | None:
        """A published comment: claim if it claims, else None; what to ask back privately."""
        product = self._claims_product()
        if product is None or pinned_id != self._product_id:
            return None
        reading = read_claim(text, product)
        if isinstance(reading, ClaimQuestion):
            return protocol.ClaimAsk(message=reading.message, choices=list(reading.choices))
        if not isinstance(reading, ClaimRequest):
            return None
        sku, quantity = reading.sku, reading.quantity
        now = self._clock()
        self.expire()
        self._count(sku, now)
        self._names[viewer_id] = name
        try:
            decision = self._settle(
                lambda shelf: waitlist.claim(shelf, viewer_id, sku, quantity, now), now, sku=sku
            )
        except waitlist.ClaimError as exc:
            return protocol.ClaimAsk(message=str(exc))
        return _in_line(decision.shelf.place(viewer_id, sku))

    def join_waitlist(
        self, viewer_id: str, name: str, sku: str, quantity: int
    ) -> protocol.ClaimAsk | None:
        """The page's "Join the waitlist": a place in ``sku``'s line, or units at once
        when some are free and nobody is ahead; what to tell the viewer of their place."""
        variant = self._records.variant(sku)
        if self._product_id is None or variant is None or variant.product_id != self._product_id:
            raise ProtocolError(
                ErrorCode.INVALID,
                "The waitlist is for the product the host takes claims on; "
                "wait for the host to open claims, then try again.",
            )
        now = self._clock()
        self.expire()
        self._count(sku, now)
        self._names[viewer_id] = name
        try:
            decision = self._settle(
                lambda shelf: waitlist.join_waitlist(shelf, viewer_id, sku, quantity, now),
                now,
                sku=sku,
            )
        except waitlist.ClaimError as exc:
            raise ProtocolError(ErrorCode.INVALID, str(exc)) from None
        return _in_line(decision.shelf.place(viewer_id, sku))

    def leave_waitlist(self, viewer_id: str, sku: str) -> None:
        """The page's "Leave the line": the viewer's place in ``sku``'s line is given up,
        in the log, so no hub offers them a unit later. Not in line: nothing changes."""
        now = self._clock()
        self._settle(lambda shelf: waitlist.leave_waitlist(shelf, viewer_id, sku, now), now)

    def let_go(
        self, viewer_id: str, message: protocol.ReleaseClaim | protocol.LeaveWaitlist
    ) -> None:
        """What a viewer gives up: a claim ("Let it go") or a place in line."""
        if isinstance(message, protocol.LeaveWaitlist):
            self.leave_waitlist(viewer_id, message.sku)
        else:
            self.release(viewer_id, message.claim_id)

    def release(self, viewer_id: str, claim_id: str) -> None:
        """The viewer lets their claim go: its units go to the line first."""
        now = self._clock()
        try:
            self._settle(lambda shelf: waitlist.release(shelf, claim_id, now, viewer_id), now)
        except waitlist.ClaimError as exc:
            raise ProtocolError(ErrorCode.INVALID, str(exc)) from None

    def held_for(self, viewer_id: str, claim_id: str) -> protocol.ClaimCard:
        """The viewer's open claim, for its checkout; a typed error when it is gone."""
        self.expire()
        card = self._cards.get(claim_id)
        if card is None or card.viewer_id != viewer_id:
            raise ProtocolError(
                ErrorCode.INVALID,
                "This claim has expired or was released, and its units went back on sale; "
                "comment again to claim.",
            )
        return card

    def check_out(self, card: protocol.ClaimCard, order: NewOrder) -> None:
        """Record the claim's order and its end in one transaction: the claimed units
        are the ones bought."""
        now = self._clock()
        try:
            self._settle(
                lambda shelf: waitlist.check_out(
                    shelf, card.claim_id, card.viewer_id, order.order_id, now
                ),
                now,
                order=order,
            )
        except waitlist.ClaimError as exc:
            raise ProtocolError(ErrorCode.INVALID, str(exc)) from None

    def stock_changed(self, sku: str) -> None:
        """``sku``'s stock changed in the store (the host set it, or a claim's payment
        failed and its units came back): units back go to the line first, before a
        pin-buy can take them."""
        if sku in self._shelf.units:
            self.expire()
            self._count(sku, self._clock())

    def expire(self) -> None:
        """The hub's timer: unpaid claims due by its clock go back on sale (or to the line).
        Every hub of a cluster runs it; the log lets one of them end each claim."""
        due = self._shelf.next_deadline()
        now = self._clock()
        if due is None or due > now:
            return
        self._settle(lambda shelf: waitlist.expire(shelf, now), now)

    # ------------------------------------------------------------ store

    def _count(self, sku: str, now: float) -> None:
        """Align the shelf's units of ``sku`` with the store, and offer those back to the
        line, even when the decision that follows is refused."""
        self._settle(lambda shelf: waitlist.ShelfDecision(shelf, ()), now, sku=sku)

    def _counted(self, sku: str, now: float) -> waitlist.ShelfDecision:
        """The shelf with ``sku``'s units as the store counts them: its stock (the free
        units, which pin-buys, lapsed reservations and the host's edits change too) and
        the units the shelf's claims hold."""
        shelf = self._shelf
        free = self._records.stock(sku)
        units = None if free is None else free + shelf.held.get(sku, 0)
        if units is None or shelf.units.get(sku) == units:
            return waitlist.ShelfDecision(shelf, ())
        return waitlist.count_stock(shelf, sku, units, now)

    def _moves(self, decision: waitlist.ShelfDecision) -> list[ClaimMove]:
        moves: list[ClaimMove] = []
        claims = dict(self._shelf.claims)
        for event in decision.events:
            match event:
                case waitlist.Claimed(claim=new) | waitlist.Offered(claim=new):
                    claims[new.id] = new
                    moves.append(self._held(new))
                case waitlist.ClaimReleased(claim_id=claim_id, why=why):
                    gone = claims.pop(claim_id)
                    moves.append(self._ended(gone, why, None, gone.quantity))
                case waitlist.ClaimCheckedOut(claim_id=claim_id, order_id=order_id):
                    gone = claims.pop(claim_id)
                    moves.append(self._ended(gone, "checkout", order_id, 0))
                case waitlist.Waitlisted(entry=entry):
                    moves.append(self._waiting(entry))
                case waitlist.LeftWaitlist(viewer_id=viewer_id, sku=sku, at=at):
                    moves.append(self._left(viewer_id, sku, at))
        return moves

    def _held(self, new: waitlist.Claim) -> ClaimMove:
        variant = self._records.variant(new.sku)
        assert variant is not None, "the shelf counts only variants of the store"
        product = self._records.product(variant.product_id)
        card = protocol.ClaimCard(
            seq=0,
            claim_id=new.id,
            viewer_id=new.viewer_id,
            name=self._names.get(new.viewer_id, ""),
            product_id=variant.product_id,
            sku=new.sku,
            title=variant.title,
            label=" / ".join(variant.options.values()),
            quantity=new.quantity,
            unit_price=variant.price,
            currency=variant.currency,
            expires=new.expires,
            offered=new.offered,
            image=product.image if product is not None else None,
        )
        return ClaimMove(
            variant.product_id,
            new.sku,
            -new.quantity,
            "claim_card",
            new.viewer_id,
            lambda seq: msgspec.structs.replace(card, seq=seq),
            private_to(new.viewer_id),
        )

    def _waiting(self, entry: waitlist.Waiting) -> ClaimMove:
        variant = self._records.variant(entry.sku)
        assert variant is not None, "the shelf counts only variants of the store"
        wait = protocol.ClaimWaiting(
            seq=0,
            viewer_id=entry.viewer_id,
            name=self._names.get(entry.viewer_id, ""),
            product_id=variant.product_id,
            sku=entry.sku,
            title=variant.title,
            label=" / ".join(variant.options.values()),
            quantity=entry.quantity,
            at=entry.at,
        )
        return ClaimMove(
            variant.product_id,
            entry.sku,
            0,
            "claim_wait",
            entry.viewer_id,
            lambda seq: msgspec.structs.replace(wait, seq=seq),
            private_to(entry.viewer_id),
        )

    def _left(self, viewer_id: str, sku: str, at: float) -> ClaimMove:
        """A place given up: no units move, so no product's stock is announced."""
        return ClaimMove(
            "",
            sku,
            0,
            "claim_wait_end",
            viewer_id,
            lambda seq: protocol.ClaimWaitEnded(seq=seq, viewer_id=viewer_id, sku=sku, at=at),
            private_to(viewer_id),
        )

    def _ended(self, gone: waitlist.Claim, why: str, order_id: str | None, units: int) -> ClaimMove:
        card = self._cards.get(gone.id)
        return ClaimMove(
            card.product_id if card is not None else "",
            gone.sku,
            units,
            "claim_end",
            gone.viewer_id,
            lambda seq: protocol.ClaimEnded(
                seq=seq, claim_id=gone.id, viewer_id=gone.viewer_id, why=why, order_id=order_id
            ),
            private_to(gone.viewer_id),
        )

    def _settle(
        self,
        decide: Decide,
        now: float,
        *,
        sku: str | None = None,
        order: NewOrder | None = None,
        also: Callable[[waitlist.Shelf], ClaimMove] | None = None,
    ) -> waitlist.ShelfDecision:
        """Take a decision on the shelf (``sku``'s units counted first), store its moves
        and adopt the shelf it leads to, or neither (the store refused: a typed error).

        A decision taken from an older log than the store's (another hub's claim events
        came first) is taken again once caught up, at most :data:`ATTEMPTS` times.
        ``also`` is one more move to store, made from the shelf decided (the claims mode).
        """
        for _ in range(ATTEMPTS):
            counted = waitlist.ShelfDecision(self._shelf, ())
            if sku is not None:
                counted = self._counted(sku, now)
            decided = decide(counted.shelf)
            decision = waitlist.ShelfDecision(decided.shelf, counted.events + decided.events)
            moves = self._moves(decision)
            if also is not None:
                moves.append(also(decision.shelf))
            if not moves:
                self._shelf = decision.shelf
                return decision
            try:
                published = self._records.record_claims(moves, now, order, decided_from=self._seen)
            except StaleClaimsError as exc:
                log.debug("claim event %s came from another hub first; deciding again", exc.newer)
                self.catch_up()
                continue
            except OutOfStockError as exc:
                raise ProtocolError(ErrorCode.SOLD_OUT, str(exc)) from None
            self._shelf = decision.shelf
            for seq, body, _ in published:
                if body.startswith(CLAIM_EVENTS):
                    self._apply(msgspec.json.decode(body, type=ClaimEvent))
                self._seen = max(self._seen, seq)
            for seq, body, audience in published:
                self._publish(seq, body, audience)
            return decision
        raise ProtocolError(
            ErrorCode.CONFLICT,
            "So many claims are coming in at once that this one could not be settled; "
            "nothing changed: try again in a moment.",
        )


def _in_line(place: int | None) -> protocol.ClaimAsk | None:
    """What a viewer in a sold-out variant's line is told (None: not in line)."""
    if place is None:
        return None
    return protocol.ClaimAsk(
        message=f"Sold out: you are number {place} in line; if one comes back it is "
        "held for you and its card appears here.",
        place=place,
    )
