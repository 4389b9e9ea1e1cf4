"""Comment to claim, in the hub: "sold M" under the pinned product holds a unit for the viewer.

The rules are the domain's: :func:`console.domain.claims.read_claim` reads the comment,
:mod:`console.domain.waitlist` decides who holds what until when. This shell keeps the
store's ``stock`` equal to the free units: a claim (or an offer to the first in line)
takes its units off with the store's conditional ``UPDATE``, in the transaction that
logs the claim's card for the viewer; an expiry or a release puts them back with the
claim's end. A claim's card and end are private to the claimer (and seen by staff), so
a page that reconnects, or the hub after a restart, finds every open claim again.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

import msgspec

from console import protocol
from console.domain import waitlist
from console.domain.catalogue import Product
from console.domain.claims import ClaimQuestion, ClaimRequest, read_claim
from console.errors import ProtocolError
from console.hub.fanout import private_to
from console.protocol import ErrorCode
from console.store.api import Orders
from console.store.records import ClaimMove, NewOrder, OutOfStockError

log = logging.getLogger(__name__)

Publish = Callable[[int, bytes, str | None], None]
_Private = protocol.ClaimCard | protocol.ClaimEnded | protocol.ClaimWaiting


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
        #: The claims product as the domain reads comments against it (built once).
        self._product: Product | None = None
        self._cards: dict[str, protocol.ClaimCard] = {}
        #: Places in line by (viewer, SKU), first come first.
        self._waits: dict[tuple[str, str], protocol.ClaimWaiting] = {}
        #: Display names of viewers in line, for the card of an offer made to them.
        self._names: dict[str, str] = {}

    # ------------------------------------------------------------ state

    def resume(self) -> None:
        """Rebuild the claims mode and the open claims from the room's log."""
        cards: dict[str, protocol.ClaimCard] = {}
        waits: dict[tuple[str, str], protocol.ClaimWaiting] = {}
        for event in self._records.claim_log():
            match event:
                case protocol.ClaimsMode():
                    self._product_id = event.product_id if event.on else None
                    self._shelf = dataclasses.replace(self._shelf, hold_seconds=event.hold_seconds)
                case protocol.ClaimCard():
                    cards[event.claim_id] = event
                    if event.offered:
                        waits.pop((event.viewer_id, event.sku), None)
                case protocol.ClaimEnded():
                    cards.pop(event.claim_id, None)
                case protocol.ClaimWaiting():
                    waits[(event.viewer_id, event.sku)] = event
        now = self._clock()
        events: list[waitlist.ShelfEvent] = []
        for sku in {c.sku for c in cards.values()} | {w.sku for w in waits.values()}:
            held = sum(c.quantity for c in cards.values() if c.sku == sku)
            events.append(waitlist.StockCounted(sku, (self._records.stock(sku) or 0) + held, now))
        for card in cards.values():
            events.append(
                waitlist.Claimed(
                    waitlist.Claim(
                        card.claim_id,
                        card.viewer_id,
                        card.sku,
                        card.quantity,
                        now,
                        card.expires,
                        card.offered,
                    )
                )
            )
        for wait in waits.values():
            events.append(
                waitlist.Waitlisted(
                    waitlist.Waiting(wait.viewer_id, wait.sku, wait.quantity, wait.at)
                )
            )
            self._names[wait.viewer_id] = wait.name
        shelf = waitlist.replay(events, self._shelf)
        numbers = [int(c[1:]) for c in cards if c[1:].isdigit()]
        self._shelf = dataclasses.replace(shelf, next_claim=max(numbers, default=0) + 1)
        self._cards = cards
        self._waits = waits

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
        if message.hold_minutes is not None:
            try:
                self._shelf = waitlist.set_hold(self._shelf, message.hold_minutes * 60, now).shelf
            except waitlist.ClaimError as exc:
                raise ProtocolError(ErrorCode.INVALID, str(exc)) from None
        self._product_id = pinned.id if message.on and pinned is not None else None
        self._product = self._to_product(pinned) if message.on and pinned is not None else None
        mode = self.mode()
        self._commit([ClaimMove("", "", 0, "claims", None, lambda seq: self.mode(seq), None)], now)
        log.info("claims %s (hold %.0f s)", "on" if mode.on else "off", mode.hold_seconds)

    # ------------------------------------------------------------ viewers

    def consider(
        self, viewer_id: str, name: str, text: str, pinned_id: str | None
    ) -> protocol.ClaimAsk | None:
        """A published comment: claim if it claims, else None; what to ask back privately."""
        if self._product is None or pinned_id != self._product_id:
            return None
        reading = read_claim(text, self._product)
        if isinstance(reading, ClaimQuestion):
            return protocol.ClaimAsk(message=reading.message, choices=list(reading.choices))
        if not isinstance(reading, ClaimRequest):
            return None
        now = self._clock()
        self.expire()
        self._count(reading.sku, now)
        try:
            decision = waitlist.claim(self._shelf, viewer_id, reading.sku, reading.quantity, now)
        except waitlist.ClaimError as exc:
            return protocol.ClaimAsk(message=str(exc))
        self._names[viewer_id] = name
        self._commit(self._moves(decision), now, decision.shelf)
        return _in_line(decision.shelf.place(viewer_id, reading.sku))

    def join_waitlist(
        self, viewer_id: str, name: str, sku: str, quantity: int
    ) -> protocol.ClaimAsk | None:
        """The page's "Join the waitlist": a place in ``sku``'s line, or units at once
        when some are free and nobody is ahead; what to tell the viewer of their place."""
        variant = self._records.variant(sku)
        if self._product is None or variant is None or variant.product_id != self._product_id:
            raise ProtocolError(
                ErrorCode.INVALID,
                "The waitlist is for the product the host takes claims on; "
                "wait for the host to open claims, then try again.",
            )
        now = self._clock()
        self.expire()
        self._count(sku, now)
        try:
            decision = waitlist.join_waitlist(self._shelf, viewer_id, sku, quantity, now)
        except waitlist.ClaimError as exc:
            raise ProtocolError(ErrorCode.INVALID, str(exc)) from None
        self._names[viewer_id] = name
        self._commit(self._moves(decision), now, decision.shelf)
        return _in_line(decision.shelf.place(viewer_id, sku))

    def release(self, viewer_id: str, claim_id: str) -> None:
        """The viewer lets their claim go: its units go to the line first."""
        now = self._clock()
        try:
            decision = waitlist.release(self._shelf, claim_id, now, viewer_id)
        except waitlist.ClaimError as exc:
            raise ProtocolError(ErrorCode.INVALID, str(exc)) from None
        self._commit(self._moves(decision), now, decision.shelf)

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
            decision = waitlist.check_out(
                self._shelf, card.claim_id, card.viewer_id, order.order_id, now
            )
        except waitlist.ClaimError as exc:
            raise ProtocolError(ErrorCode.INVALID, str(exc)) from None
        self._commit(self._moves(decision), now, decision.shelf, order)

    def came_back(self, sku: str, quantity: int, order_id: str) -> None:
        """A claim's payment failed and the store put its units back: the line first."""
        if sku not in self._shelf.units:
            return
        now = self._clock()
        self._count(sku, now, returned=quantity)
        decision = waitlist.restock(self._shelf, sku, quantity, now, order_id)
        self._commit(self._moves(decision), now, decision.shelf)

    def stock_changed(self, sku: str) -> None:
        """The host set ``sku``'s stock: units that came back go to the line first, before
        a pin-buy can take them."""
        if sku in self._shelf.units:
            self.expire()
            self._count(sku, self._clock())

    def expire(self) -> None:
        """The hub's timer: unpaid claims due by its clock go back on sale (or to the line)."""
        due = self._shelf.next_deadline()
        now = self._clock()
        if due is None or due > now:
            return
        decision = waitlist.expire(self._shelf, now)
        self._commit(self._moves(decision), now, decision.shelf)

    # ------------------------------------------------------------ store

    def _count(self, sku: str, now: float, returned: int = 0) -> None:
        """Align the shelf's units of ``sku`` with the store, whose stock (the free
        units) pin-buys and the host's edits change too; ``returned`` units are back in
        the store already and come back through the shelf's restock."""
        free = self._records.stock(sku)
        if free is None:
            return
        units = free - returned + self._shelf.held.get(sku, 0)
        if self._shelf.units.get(sku) != units:
            decision = waitlist.count_stock(self._shelf, sku, units, now)
            self._commit(self._moves(decision), now, decision.shelf)

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

    def _commit(
        self,
        moves: list[ClaimMove],
        now: float,
        shelf: waitlist.Shelf | None = None,
        order: NewOrder | None = None,
    ) -> None:
        """Store the moves and adopt ``shelf``, or neither (the store refused)."""
        try:
            published = self._records.record_claims(moves, now, order)
        except OutOfStockError as exc:
            raise ProtocolError(ErrorCode.SOLD_OUT, str(exc)) from None
        if shelf is not None:
            self._shelf = shelf
        for seq, body, audience in published:
            if audience is not None:
                event = msgspec.json.decode(body, type=_Private)
                if isinstance(event, protocol.ClaimCard):
                    self._cards[event.claim_id] = event
                    if event.offered:
                        self._waits.pop((event.viewer_id, event.sku), None)
                elif isinstance(event, protocol.ClaimWaiting):
                    self._waits[(event.viewer_id, event.sku)] = event
                else:
                    self._cards.pop(event.claim_id, None)
            self._publish(seq, body, audience)


def _in_line(place: int | None) -> protocol.ClaimAsk | None:
    """What a viewer in a sold-out variant's line is told (None: not in line)."""
    if place is None:
        return None
    return protocol.ClaimAsk(
        message=f"Sold out: you are number {place} in line; if one comes back it is "
        "held for you and its card appears here.",
        place=place,
    )
