"""The shoppable show: what is pinned, the flash deal, the featured item, and checkout.

The rules (prices, quantities, buyer details, deals, instalments) are the domain's, and
how the host's show commands change the show is the room core's
(:mod:`console.room.stage`); this shell reads what they need from the store, stores
what they decide, and publishes it. Each change is stored before it is published, and
every buy goes through three short transactions (reserve, then pay, then confirm or
release) so that stock is never promised twice and a failed payment puts the units back
on the shelf.

Several hubs may share one show (docs/cluster.md): what one of them changes is stored
and its event comes to every hub over the bus. The show itself is a replica
(:class:`~console.room.show.ShowState`) folded from the show and deal-end events: this
hub's own as it stores them, the others' as the feed takes them (:meth:`Shop.follow`).
A reservation carries an expiry, and the unique order key makes a purchase replayed
through another hub the same order.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import json
import logging
import re
import secrets
import time
from collections.abc import Callable, Sequence
from typing import Final

import msgspec

from console import protocol
from console.bus import RoomEvent
from console.domain.catalogue import (
    Catalogue,
    Product,
    catalogue_to_dict,
    parse_catalogue,
)
from console.domain.chat import ChatRuleError, clean_comment
from console.domain.checkout import (
    RESERVATION_SECONDS,
    CheckoutError,
    Quote,
    check_quantity,
    clean_buyer,
    quote,
    shipping_rule_for,
)
from console.domain.deals import Deal, deal_is_active, record_sale, unit_price
from console.domain.instalments import Instalment, InstalmentError, chosen_plan, offered_plan
from console.domain.money import Money
from console.domain.shopify_csv import parse_shopify_csv
from console.errors import CatalogueError, ProtocolError
from console.hub.auctions import AuctionDesk
from console.hub.claims import ClaimDesk
from console.hub.moderation import Moderation
from console.hub.payments import Charge, PaymentError, PaymentProvider, SandboxProvider
from console.protocol import ErrorCode
from console.room.decision import DealEndReason, Decision, Refuse, SaveShow, StopDeal
from console.room.show import ShowState, show_event
from console.room.stage import (
    MAX_SHELF,
    decide_deal_over,
    decide_end_deal,
    decide_feature,
    decide_pin,
    decide_shelf,
    decide_start_deal,
    decide_unpin,
    decide_withdrawn_comment,
    stop_deal,
)
from console.store.api import Orders, Store
from console.store.records import (
    DuplicateOrderError,
    NewOrder,
    NotReservedError,
    OutOfStockError,
    StoredOrder,
    VariantRow,
    owner_review,
)

log = logging.getLogger(__name__)

#: Characters of a shelf entry's description: the preview's few lines.
SHELF_DESCRIPTION_CHARS: Final = 280
MAX_PRICE: Final = 100_000_000
MAX_STOCK: Final = 1_000_000
_KEY_PATTERN: Final = re.compile(r"^[A-Za-z0-9_-]{8,64}$")

#: The room's: an event's seq, its encoding, and its audience (None: everyone).
Publish = Callable[[int, bytes, str | None], None]

# How the stored events that change what a shop shows but are not the show begin
# (msgspec writes the tag first): ``stock`` changes the pinned product as drawn;
# ``order`` may make an owner.
_STOCK_EVENT: Final = b'{"t":"stock"'
_ORDER_EVENT: Final = b'{"t":"order"'


def _wire_products(products: Sequence[Product]) -> list[protocol.Product]:
    """Domain products in the shape the store and the wire use."""
    data = catalogue_to_dict(Catalogue(tuple(products)))
    return msgspec.convert(data["products"], list[protocol.Product])


def _summary(product: protocol.Product) -> protocol.Product:
    """A shelf entry: a thumbnail, a price and the start of the description for the
    preview, not the reviews. The show state goes to every viewer at each change, so a
    long description is cut at a word."""
    description = product.description
    if len(description) > SHELF_DESCRIPTION_CHARS:
        cut = description[: SHELF_DESCRIPTION_CHARS - 1]
        description = (cut.rsplit(None, 1)[0] if " " in cut else cut).rstrip(" ,.;:") + "…"
    return msgspec.structs.replace(product, reviews=[], description=description)


class Shop:
    def __init__(
        self,
        store: Store,
        publish: Publish,
        *,
        payments: PaymentProvider | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._records = store.orders
        self._room_publish = publish
        self._snapshot: bytes | None = None
        self.payments = payments or SandboxProvider()
        self._clock = clock
        #: The room's show, as this hub folded it (:meth:`follow`).
        self.show = ShowState()
        #: Who bought the pinned product: not in the show's events (a sale's event
        #: names no buyer), so read from the store when the pin or an owner changes.
        self._owners: set[str] = set()
        #: Whether this hub runs the show's timers (the room holds the bus's lease).
        self._runs_timers = False
        self._deal_timer: asyncio.TimerHandle | None = None
        #: The end of the deal the timer is set for.
        self._deal_timer_ends: float | None = None
        #: How long a buyer's units are held while paying (``hub --reservation-seconds``).
        self.reservation_seconds = RESERVATION_SECONDS
        self._inflight: dict[tuple[str, str], asyncio.Future[protocol.OrderConfirmed]] = {}
        #: The product of each variant a buy looked up: a refused buy's funnel drop names it
        #: without reading the variant again (a flash drop refuses hundreds a second).
        self._product_of: dict[str, str] = {}
        #: Comment to claim; the room sets it up with the rest of the room.
        self.claims: ClaimDesk | None = None
        #: Live auctions; set up by the room as claims are.
        self.auctions: AuctionDesk | None = None

    @property
    def records(self) -> Orders:
        return self._records

    @property
    def _pinned(self) -> str | None:
        """The pinned product's id, as the buy path reads it."""
        return self.show.pinned

    @property
    def _deal(self) -> Deal | None:
        """The running deal, as the buy path reads and counts it."""
        return self.show.deal

    @_deal.setter
    def _deal(self, deal: Deal | None) -> None:
        """The buy path counts a sale's deal units at once, before the show saying so is
        stored (and gives them back when the payment fails); that show is then folded
        like any other."""
        self.show = dataclasses.replace(self.show, deal=deal)

    # ------------------------------------------------------------ start and stop

    def resume(self) -> None:
        """Pick up the show where the last run left it (call in the running loop).

        The replica starts from the show the store keeps: the last show event, without
        the deal a later deal end took away and re-signed by any deletion since (a
        deletion edits the stored show, and says so in no event). Every event after it
        folds onto it (:meth:`follow`)."""
        self.release_expired()
        stored = self._records.load_show()
        if stored is not None:
            self._take(ShowState().apply(stored))

    def release_expired(self) -> None:
        """Put back on the shelf the units of reservations past their expiry: a payment
        cut off by a crash of whichever hub took it. At start and from the room's
        housekeeping; never the others', which may be paying on another hub."""
        released = self._records.release_expired(self._clock())
        for event, body in released:
            self.publish(event.seq, body)
        if released:
            log.warning("released %d reservations whose payment did not finish", len(released))

    def follow(self, event: RoomEvent) -> None:
        """A committed event, once the feed has it in seq order (another hub's, or this
        hub's own coming back): the show folds a show or deal-end event, and a deal it
        brings is timed here if this hub holds the timers (:meth:`keep_time`).

        Not the show, and read again from the store: stock changes the pinned product
        the snapshot draws; a sale of it may make an owner (its event names no buyer).
        """
        body = event.body
        folded = show_event(body)
        if folded is not None:
            show = self.show.apply(folded)
            if show is not self.show:
                self._take(show)
                self.keep_time()
        elif body.startswith(_STOCK_EVENT):
            self._snapshot = None
        elif body.startswith(_ORDER_EVENT):
            self._snapshot = None
            placed = msgspec.json.decode(body, type=protocol.OrderPlaced)
            if placed.product_id == self.show.pinned:
                self._owners = self._records.owners(placed.product_id)

    def _take(self, show: ShowState) -> None:
        """Hold ``show``; the owners are read again when the pin changed."""
        if show.pinned != self.show.pinned:
            self._owners = self._records.owners(show.pinned) if show.pinned is not None else set()
        self.show = show
        self._snapshot = None

    # ------------------------------------------------------------ the deal's clock

    def take_timers(self) -> None:
        """This hub now holds the show's timers (the bus's ``timers`` lease): time the
        deal of the show it folded, whichever hub changed it last; a deal that should
        have ended while nobody held the lease ends now, at its end. The store decides
        between hubs that end it: a deal ends once."""
        self._runs_timers = True
        self.keep_time()

    def drop_timers(self) -> None:
        """Another hub may hold the timers now: this one ends no deal by the clock."""
        self._runs_timers = False
        self._cancel_deal_timer()

    def keep_time(self) -> None:
        """Time the deal this hub knows, if it holds the timers: a timer at its end, or
        the end now if it is over. Called at each change of the deal and by the room's
        housekeeping, so a deal that reached this hub another way is timed too."""
        deal = self.show.deal
        if not self._runs_timers or deal is None:
            self._cancel_deal_timer()
            return
        if self._deal_timer is not None and self._deal_timer_ends == deal.ends:
            return
        self._cancel_deal_timer()
        now = self._clock()
        if deal_is_active(deal, now):
            self._deal_timer_ends = deal.ends
            self._deal_timer = asyncio.get_running_loop().call_later(
                deal.ends - now, self._deal_clock_ran_out
            )
        else:
            self._carry_out(decide_deal_over(deal, now))

    def _deal_clock_ran_out(self) -> None:
        """The timer is due: the loop's clock may run a little ahead of the show's, so
        the deal ends only once the show's clock says so (else it is timed again)."""
        self._deal_timer = self._deal_timer_ends = None
        self.keep_time()

    def _cancel_deal_timer(self) -> None:
        if self._deal_timer is not None:
            self._deal_timer.cancel()
        self._deal_timer = self._deal_timer_ends = None

    def close(self) -> None:
        self.drop_timers()

    # ------------------------------------------------------------ what viewers see

    def snapshot(self) -> bytes:
        """The show as it is now, encoded (seq 0: state, not an event of the log).

        Every joining client gets it, so it is built once per change, not per client.
        """
        if self._snapshot is None:
            self._snapshot = protocol.encode(self._drawn(self.show))
        return self._snapshot

    def publish(self, seq: int, body: bytes, audience: str | None = None) -> None:
        """Publish a stored event; stock changes (a claim's too) change the pinned
        product the snapshot carries, so it is built again."""
        self._snapshot = None
        self._room_publish(seq, body, audience)

    def _drawn(self, show: ShowState) -> protocol.ShowState:
        """``show`` as viewers see it (seq 0): its products as the catalogue has them
        now, their price, stock and reviews being the catalogue's, not the show's."""
        pinned = self._records.product(show.pinned) if show.pinned else None
        shelf = self._store.catalogue(product_ids=list(show.shelf)) if show.shelf else []
        order = {pid: i for i, pid in enumerate(show.shelf)}
        shelf.sort(key=lambda p: order[p.id])
        deal = None
        if show.deal is not None:
            deal = protocol.DealInfo(
                product_id=show.deal.product_id,
                price=show.deal.price.amount,
                currency=show.deal.price.currency,
                ends=show.deal.ends,
                max_units=show.deal.max_units,
                sold=show.deal.sold,
            )
        return protocol.ShowState(
            seq=0,
            pinned=pinned,
            shelf=[_summary(p) for p in shelf],
            deal=deal,
            featured=show.featured,
        )

    def _changed(self) -> None:
        """Store the show as this hub holds it (a sale counted on the deal, a price)."""
        self._save(self.show)

    def _save(self, show: ShowState) -> None:
        """Store ``show`` and fold its event before publishing it: the next command here
        sees it at once, and the bus bringing it back changes nothing."""
        event, body = self._records.save_show(self._drawn(show), self._clock())
        self._take(self.show.apply(event))
        self.publish(event.seq, body)

    def _stop_deal(self, step: StopDeal) -> None:
        """End the deal in the store and say so. If another hub ended it first, the store
        says so and nothing is sent: that hub's deal end is on its way here."""
        self._cancel_deal_timer()
        self.show = self.show.without_deal()
        self._snapshot = None
        ended = self._records.deal_ended(step.product_id, step.ends, step.reason, step.ts)
        if ended is None:
            return
        event, body = ended
        self._take(self.show.apply(event))
        self.publish(event.seq, body)
        if step.announce:
            self._changed()

    def _carry_out(self, decision: Decision) -> None:
        """Store what a show decision appends, in order, then raise its refusal if it is
        one; a deal it starts or ends is timed here (if this hub holds the timers)."""
        deal = self.show.deal
        for step in decision.append:
            match step:
                case StopDeal():
                    self._stop_deal(step)
                case SaveShow():
                    self._save(step.show)
        if self.show.deal != deal:
            self.keep_time()
        if isinstance(decision.reply, Refuse):
            raise decision.reply.error()

    @property
    def pinned_id(self) -> str | None:
        return self.show.pinned

    def forget_viewer(self, viewer_id: str) -> None:
        """The viewer's data was deleted: no owner badge for that id any more."""
        self._owners.discard(viewer_id)

    def refresh_after_deletion(self) -> None:
        """A deletion re-signed the stored show: the video and the pinned product's
        reviews say "deleted viewer" at once, not with the next change of the show.

        The featured item is read from the store: the deletion edited it there, and no
        event says so until the show this stores."""
        state = self._records.load_show()
        featured = state.featured if state is not None else None
        if featured != self.show.featured or self.show.pinned is not None:
            self._save(dataclasses.replace(self.show, featured=featured))

    def pinned_product(self) -> protocol.Product | None:
        return self._records.product(self.show.pinned) if self.show.pinned else None

    def is_owner(self, viewer_id: str) -> bool:
        """Whether the viewer bought the pinned product (their comments get a badge)."""
        return viewer_id in self._owners

    # ------------------------------------------------------------ staff commands

    def _deal_title(self) -> str:
        """The running deal's product as a refusal names it (read only while one runs)."""
        deal = self.show.deal
        if deal is None:
            return ""
        on_deal = self._records.product(deal.product_id)
        return on_deal.title if on_deal is not None else deal.product_id

    def pin(self, product_ref: str, end_deal: bool = False) -> None:
        """Pin a product; a running deal on another product ends only with ``end_deal``."""
        self._carry_out(
            decide_pin(
                protocol.Pin(product=product_ref, end_deal=end_deal),
                self.show,
                self._records.resolve_product(product_ref),
                self._deal_title(),
                self._clock(),
            )
        )

    def unpin(self) -> None:
        self._carry_out(decide_unpin(self.show, self._clock()))

    def set_shelf(self, refs: list[str]) -> None:
        """Set the line-up. A list longer than the shelf is refused whatever it names,
        so its references are not looked up."""
        known: dict[str, str] = {}
        if len(refs) <= MAX_SHELF:
            for ref in refs:
                product = self._records.resolve_product(ref)
                if product is not None:
                    known[ref] = product.id
        self._carry_out(decide_shelf(protocol.SetShelf(products=refs), self.show, known))

    def start_deal(self, message: protocol.StartDeal) -> None:
        """A deal on the product the message names, or else on the pin."""
        named = message.product
        product = (
            self._records.resolve_product(named) if named is not None else self.pinned_product()
        )
        self._carry_out(
            decide_start_deal(message, self.show, product, self._deal_title(), self._clock())
        )

    def end_deal(self) -> None:
        self._carry_out(decide_end_deal(self.show, self._clock()))

    def _end_deal(self, reason: DealEndReason, announce: bool = True) -> None:
        """End the running deal: the buy path's, when its last unit sold."""
        deal = self.show.deal
        assert deal is not None
        self._stop_deal(stop_deal(deal, reason, self._clock(), announce=announce))

    def feature(self, message: protocol.Feature) -> None:
        review = self._records.review(message.review_id) if message.review_id is not None else None
        comment = (
            self._store.comment(message.comment_seq)
            if message.review_id is None and message.comment_seq is not None
            else None
        )
        self._carry_out(decide_feature(message, self.show, review, comment))

    def withdraw_comment(self, seq: int) -> None:
        """A moderator deleted comment ``seq``: it leaves the video if it is featured."""
        self._carry_out(decide_withdrawn_comment(seq, self.show))

    def update_variant(self, message: protocol.UpdateVariant) -> None:
        variant = self._records.variant(message.sku)
        if variant is None:
            raise ProtocolError(ErrorCode.NOT_FOUND, f"No variant with SKU {message.sku!r}.")
        if message.price is not None and not 0 < message.price <= MAX_PRICE:
            raise ProtocolError(ErrorCode.INVALID, "A price must be above zero.")
        if message.stock is not None and not 0 <= message.stock <= MAX_STOCK:
            raise ProtocolError(
                ErrorCode.INVALID, f"Stock must be a whole number from 0 to {MAX_STOCK}."
            )
        stock = self._records.update_variant(
            message.sku, message.price, message.stock, self._clock()
        )
        if stock is not None:
            self.publish(stock[0].seq, stock[1])
            if self.claims is not None:
                self.claims.stock_changed(message.sku)
        if message.price is not None and self.show.shows(variant.product_id):
            self._changed()

    def import_catalogue(self, message: protocol.ImportCatalogue) -> protocol.ImportResult:
        try:
            if message.format == "shopify_csv":
                report = parse_shopify_csv(message.data, message.currency)
                products, rows = list(report.products), report.rows
                errors, warnings = (
                    [
                        protocol.ImportRowError(line=e.line, handle=e.handle, message=e.message)
                        for e in found
                    ]
                    for found in (report.errors, report.warnings)
                )
            else:
                catalogue = parse_catalogue(json.loads(message.data))
                products, rows, errors, warnings = list(catalogue), len(catalogue), [], []
        except json.JSONDecodeError as exc:
            raise ProtocolError(
                ErrorCode.INVALID,
                f"Nothing was imported: the file is not valid JSON ({exc.msg} at line "
                f"{exc.lineno}, column {exc.colno}); correct it there, or choose a Shopcast "
                "JSON catalogue or a Shopify CSV export.",
            ) from None
        except CatalogueError as exc:
            raise ProtocolError(ErrorCode.INVALID, f"Nothing was imported: {exc}") from None
        shaped = _wire_products(products)
        self._records.upsert_products(shaped)
        if any(self.show.shows(p.id) for p in shaped):
            self._changed()
        return protocol.ImportResult(
            imported=len(shaped), rows=rows, errors=errors, warnings=warnings, ref=message.ref
        )

    # ------------------------------------------------------------ viewers: quote and buy

    def _claim(self, viewer_id: str, claim_id: str | None) -> protocol.ClaimCard | None:
        if claim_id is None or self.claims is None:
            return None
        return self.claims.held_for(viewer_id, claim_id)

    def _won(self, viewer_id: str, message: protocol.GetQuote | protocol.Buy) -> Money | None:
        """The winning price of the auction lot the viewer pays, if it is one."""
        if message.auction_id is None or self.auctions is None:
            return None
        won = self.auctions.checkout_for(viewer_id, message.auction_id)
        if (message.sku, message.quantity) != (won.sku, 1) or won.price is None:
            raise ProtocolError(
                ErrorCode.INVALID, f"You won one {won.sku} in this auction; pay for that."
            )
        return Money(won.price, won.currency)

    def _quote(
        self, variant: VariantRow, quantity: object, held: int = 0, won: Money | None = None
    ) -> tuple[Quote, int, bool]:
        """The price of ``quantity``; ``held`` units claimed by the buyer count as stock;
        ``won`` is the price of an auction lot the buyer won (no deal applies to it)."""
        count = _checked_quantity(quantity, variant.stock + held)
        regular = Money(variant.price, variant.currency) if won is None else won
        price = (
            won
            if won is not None
            else unit_price(self._deal, variant.product_id, regular, count, self._clock())
        )
        result = quote(price, count, shipping_rule_for(variant.currency), regular)
        return result, variant.stock + held, price != regular

    def _today(self, ts: float | None = None) -> datetime.date:
        when = self._clock() if ts is None else ts
        return datetime.datetime.fromtimestamp(when, datetime.UTC).date()

    def quote(self, message: protocol.GetQuote, viewer_id: str = "") -> protocol.QuoteReply:
        card = self._claim(viewer_id, message.claim_id)
        held = card.quantity if card is not None and card.sku == message.sku else 0
        won = self._won(viewer_id, message)
        if won is not None:
            held = 1  # the lot is the winner's, whatever the shelf has left
        variant = self._records.variant(message.sku)
        if variant is None:
            raise ProtocolError(ErrorCode.NOT_FOUND, f"No product variant {message.sku!r}.")
        result, stock, deal = self._quote(variant, message.quantity, held, won)
        return protocol.QuoteReply(
            sku=message.sku,
            quantity=result.quantity,
            currency=result.total.currency,
            unit_price=result.unit_price.amount,
            regular_unit_price=result.regular_unit_price.amount,
            subtotal=result.subtotal.amount,
            shipping=result.shipping.amount,
            total=result.total.amount,
            stock=stock,
            instalments=_wire_plan(offered_plan(result.total, self._today())),
            deal=deal,
            ref=message.ref,
        )

    async def buy(
        self, viewer_id: str, name: str, message: protocol.Buy
    ) -> protocol.OrderConfirmed:
        """Place an order once per idempotency key, however often it is sent."""
        if not _KEY_PATTERN.match(message.key):
            raise ProtocolError(
                ErrorCode.INVALID, "The purchase key must be 8 to 64 letters, digits, - or _."
            )
        slot = (viewer_id, message.key)
        pending = self._inflight.get(slot)
        if pending is not None:
            # A double tap or a retry while the first attempt is still paying: one order.
            confirmed = await asyncio.shield(pending)
            return msgspec.structs.replace(confirmed, ref=message.ref)
        stored, variant = self._records.order_and_variant(viewer_id, message.key, message.sku)
        if variant is not None:
            self._product_of[variant.sku] = variant.product_id
        if stored is not None and stored.record.status != "reserved":
            return self._replay(stored, message.ref)
        checked = self._check_buy(viewer_id, message, variant) if stored is None else None
        # Placed in this step, not in a task of its own: a task would start only after
        # every other buy that arrived with this one, so in a flash drop the winners
        # waited for all the refusals. A dropped connection does not cancel this
        # handler, so the payment still runs to its end and a retry gets its outcome.
        pending = self._inflight[slot] = asyncio.get_running_loop().create_future()
        try:
            if checked is not None:
                confirmed = await self._place(viewer_id, name, message, checked)
            else:
                assert stored is not None
                confirmed = await self._settle(stored, name, message)
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):
                pending.cancel()
            else:
                pending.set_exception(exc)
                pending.exception()  # whoever else waits sees it; nobody must log it
            raise
        finally:
            del self._inflight[slot]
        pending.set_result(confirmed)
        return msgspec.structs.replace(confirmed, ref=message.ref)

    def product_of(self, sku: str) -> str:
        """The product of ``sku`` as the last buy of it read it ("" if there is none)."""
        product_id = self._product_of.get(sku)
        if product_id is None:
            variant = self._records.variant(sku)
            product_id = variant.product_id if variant is not None else ""
        return product_id

    def _check_buy(
        self, viewer_id: str, message: protocol.Buy, variant: VariantRow | None
    ) -> VariantRow:
        """Stock first: in a flash drop most attempts find it gone, and are answered
        without more work (the full quote comes in ``_place``)."""
        if variant is None:
            raise ProtocolError(ErrorCode.NOT_FOUND, f"No product variant {message.sku!r}.")
        card = self._claim(viewer_id, message.claim_id)
        if self._won(viewer_id, message) is not None:
            return variant  # the lot left the stock when the auction started
        if card is None:
            _checked_quantity(message.quantity, variant.stock)
        elif (card.sku, card.quantity) != (message.sku, message.quantity):
            raise ProtocolError(
                ErrorCode.INVALID,
                f"Claim {card.claim_id} holds {card.quantity} of {card.sku}; pay for that, "
                "or comment again to claim another.",
            )
        return variant

    async def _settle(
        self, stored: StoredOrder, name: str, message: protocol.Buy
    ) -> protocol.OrderConfirmed:
        """The purchase under this key is recorded already, perhaps through another hub.

        Paid or failed, the buyer gets its outcome. Still reserved, its payment was cut
        off (the hub that took it died) or runs there still: this hub asks the provider
        for the same first payment under the same idempotency key, which charges once,
        and whichever hub confirms first records the sale; the other replays it.
        """
        record = stored.record
        if record.status != "reserved":
            return self._replay(stored, message.ref)
        total = Money(record.total, record.currency)
        first = chosen_plan(total, record.plan, self._today(record.ts))[0]
        try:
            charge = await self.payments.charge(
                amount=first.amount,
                payment=message.payment,
                idempotency_key=f"{record.viewer_id}:{message.key}",
                description=f"{record.quantity} x {record.title}",
            )
        except PaymentError as exc:
            # Left reserved: the hub that took it may still be paying; it expires if not.
            raise ProtocolError(ErrorCode.PAYMENT_DECLINED, str(exc)) from None
        paid = self._complete(record.order_id, charge, name, record.viewer_id, message)
        if paid is not None:
            return paid
        if record.product_id == self._pinned:
            self._owners.add(record.viewer_id)
        return self._confirmation(
            record, record.ts, ref=message.ref, token=charge.token, label=charge.label
        )

    def _complete(
        self, order_id: str, charge: Charge, name: str, viewer_id: str, message: protocol.Buy
    ) -> protocol.OrderConfirmed | None:
        """Record the payment and publish the sale (then None).

        An order that is no longer reserved was paid through another hub (its
        confirmation is returned), or its reservation lapsed while the provider took
        the payment: then no order stands, and the buyer is told what to do.
        """
        try:
            placed, body = self._records.complete(
                order_id,
                charge.reference,
                name,
                self._clock(),
                payment_token=charge.token,
                payment_label=charge.label,
            )
        except NotReservedError as exc:
            stored = self._records.order_by_key(viewer_id, message.key)
            if exc.status == "paid" and stored is not None:
                return self._replay(stored, message.ref)
            raise ProtocolError(
                ErrorCode.PAYMENT_DECLINED,
                "Your reservation ran out before the payment confirmed, so no order was "
                f"placed and the units went back on sale. If you were charged (payment "
                f"{charge.reference}), ask the shop to refund it.",
            ) from None
        self.publish(placed.seq, body)
        return None

    def _replay(self, stored: StoredOrder, ref: str | None) -> protocol.OrderConfirmed:
        record = stored.record
        if record.status == "failed":
            raise ProtocolError(
                ErrorCode.PAYMENT_DECLINED,
                f"{stored.failure} (This purchase was already tried; start a new one.)",
            )
        return self._confirmation(
            record, record.ts, ref=ref, token=stored.payment_token, label=stored.payment_label
        )

    def _confirmation(
        self,
        order: NewOrder | protocol.OrderRecord,
        placed: float,
        *,
        ref: str | None = None,
        token: str | None = None,
        label: str | None = None,
    ) -> protocol.OrderConfirmed:
        """What the buyer sees for a stored order, first time or replayed by its key.

        The plan is the one chosen, dated from when the order was placed: a replay days
        later lists the same payments on the same days.
        """
        plan = chosen_plan(Money(order.total, order.currency), order.plan, self._today(placed))
        return protocol.OrderConfirmed(
            order_id=order.order_id,
            sku=order.sku,
            product_id=order.product_id,
            title=order.title,
            quantity=order.quantity,
            currency=order.currency,
            total=order.total,
            instalments=_wire_plan(plan),
            plan=order.plan,
            payment_token=token,
            payment_label=label,
            ref=ref,
        )

    async def _place(
        self, viewer_id: str, name: str, message: protocol.Buy, variant: VariantRow
    ) -> protocol.OrderConfirmed:
        """``variant`` as ``buy`` read it, in this same step of the loop: nothing ran
        since, and the reservation's conditional update is what decides the stock."""
        card = self._claim(viewer_id, message.claim_id)
        held = card.quantity if card is not None else 0
        won = self._won(viewer_id, message)
        if won is not None:
            held = 1
        result, _, on_deal = self._quote(variant, message.quantity, held, won)
        try:
            buyer = clean_buyer(msgspec.to_builtins(message.buyer))
        except CheckoutError as exc:
            raise ProtocolError(
                ErrorCode.INVALID,
                "Check your details: " + " ".join(exc.fields.values() or [exc.message]),
                fields=exc.fields,
            ) from None
        if message.total is not None and message.total != result.total.amount:
            raise ProtocolError(
                ErrorCode.PRICE_CHANGED,
                "The price changed since you looked (the deal may have ended); nothing was "
                "charged. Check the new total and confirm again.",
            )
        now = self._clock()
        try:
            payments = chosen_plan(result.total, message.plan, self._today(now))
        except InstalmentError as exc:
            raise ProtocolError(ErrorCode.INVALID, str(exc), fields={"plan": str(exc)}) from None
        order = NewOrder(
            order_id="SC-" + secrets.token_hex(5).upper(),
            key=message.key,
            viewer_id=viewer_id,
            name=buyer.name,
            email=buyer.email,
            address={
                "address1": buyer.address1,
                "address2": buyer.address2,
                "city": buyer.city,
                "postal_code": buyer.postal_code,
            },
            country=buyer.country,
            product_id=variant.product_id,
            sku=variant.sku,
            title=variant.title,
            quantity=result.quantity,
            unit_price=result.unit_price.amount,
            shipping=result.shipping.amount,
            total=result.total.amount,
            currency=result.total.currency,
            deal=on_deal,
            plan=len(payments),
            expires=now + self.reservation_seconds,
        )
        if card is not None and self.claims is not None:
            # The claim's held units are the ones bought: no second reservation.
            self.claims.check_out(card, order)
        elif won is not None and self.auctions is not None:
            self.auctions.paying(viewer_id, order)
        else:
            try:
                stock, body = self._records.reserve(order, now)
            except OutOfStockError as exc:
                code = ErrorCode.SOLD_OUT if exc.left == 0 else ErrorCode.INVALID
                raise ProtocolError(code, str(exc), fields={"quantity": str(exc)}) from None
            except DuplicateOrderError:
                # The same purchase, placed through another hub since this one looked.
                placed = self._records.order_by_key(viewer_id, message.key)
                assert placed is not None
                return await self._settle(placed, name, message)
            self.publish(stock.seq, body)
        deal_before = self._deal
        if on_deal and self._deal is not None:
            self._deal = record_sale(self._deal, order.quantity)
        try:
            # Paying later, only the first payment is taken now.
            charge = await self.payments.charge(
                amount=payments[0].amount,
                payment=message.payment,
                idempotency_key=f"{viewer_id}:{message.key}",
                description=f"{order.quantity} x {order.title}",
            )
        except PaymentError as exc:
            if on_deal and self._deal is not None and deal_before is not None:
                self._deal = record_sale(self._deal, -order.quantity)
            try:
                released, body = self._records.release(order.order_id, str(exc), self._clock())
            except NotReservedError:
                pass  # it lapsed and was released already, or another hub confirmed it
            else:
                self.publish(released.seq, body)
            if card is not None and self.claims is not None:
                self.claims.stock_changed(order.sku)
            if won is not None and self.auctions is not None:
                self.auctions.payment_failed()
            raise ProtocolError(ErrorCode.PAYMENT_DECLINED, str(exc)) from None
        try:
            paid = self._complete(order.order_id, charge, name, viewer_id, message)
        except ProtocolError:
            if on_deal and self._deal is not None and deal_before is not None:
                self._deal = record_sale(self._deal, -order.quantity)
            raise
        if paid is not None:
            return paid
        if won is not None and self.auctions is not None:
            self.auctions.paid(order.order_id)
        if order.product_id == self._pinned:
            self._owners.add(viewer_id)
        if on_deal and self._deal is not None:
            if not deal_is_active(self._deal, self._clock()):
                self._end_deal("sold")
            else:
                self._changed()
        return self._confirmation(order, now, token=charge.token, label=charge.label)

    def review(
        self,
        viewer_id: str,
        name: str | None,
        message: protocol.SubmitReview,
        moderation: Moderation,
    ) -> bool:
        """Publish an owner's review, or hold it: it passes the same judge as a comment.

        Returns whether it was held for a moderator.
        """
        if not self._records.owns(viewer_id, message.product_id):
            raise ProtocolError(
                ErrorCode.FORBIDDEN,
                "Only buyers of this product can review it, so every review here is from an owner.",
            )
        if self._records.has_reviewed(viewer_id, message.product_id):
            raise ProtocolError(ErrorCode.INVALID, "You already reviewed this product; thanks!")
        if not 1 <= message.rating <= 5:
            raise ProtocolError(
                ErrorCode.INVALID, "Choose 1 to 5 stars.", fields={"rating": "Choose 1 to 5 stars."}
            )
        try:
            text = clean_comment(message.text)
        except ChatRuleError as exc:
            raise ProtocolError(ErrorCode.INVALID, str(exc), fields={"text": str(exc)}) from None
        author = moderation.announced_name(viewer_id, name or "") or "Owner"
        verdict = moderation.judge(viewer_id, False, text, "review")
        if verdict.action == "refuse":
            raise moderation.refuse(verdict, viewer_id, author, text)
        if verdict.action == "hold":
            moderation.hold_review(verdict, viewer_id, author, message, text)
            return True
        now = self._clock()
        review = owner_review("r-" + secrets.token_hex(6), author, message.rating, text, now)
        event, body = self._records.add_review(message.product_id, viewer_id, review, now)
        self.publish(event.seq, body)
        return False

    def review_approved(self) -> None:
        """A moderator published a held review: joining viewers get it with the pin."""
        self._snapshot = None


def _wire_plan(plan: Sequence[Instalment]) -> list[protocol.Instalment]:
    return [
        protocol.Instalment(number=i.number, amount=i.amount.amount, due=i.due.isoformat())
        for i in plan
    ]


def _checked_quantity(quantity: object, stock: int) -> int:
    """The quantity asked for, if the shelf has it; else the buyer's typed error."""
    try:
        return check_quantity(quantity, stock)
    except CheckoutError as exc:
        code = ErrorCode.SOLD_OUT if stock == 0 else ErrorCode.INVALID
        raise ProtocolError(code, str(exc), fields={"quantity": str(exc)}) from None
