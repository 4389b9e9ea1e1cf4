"""Live auctions, in the hub: the host auctions a unit of the pinned product, viewers bid.

The rules are :mod:`console.domain.auction`'s (proxy bids, anti-snipe, one winner, the
runner-up when the winner does not pay). This shell keeps them on the hub's clock and in
the room's log, as :class:`console.hub.claims.ClaimDesk` does for claims:

- the lot leaves the store's free stock in the transaction that logs the auction's start
  (the conditional ``UPDATE`` of :meth:`Commerce.record_claims`), so no pin-buy, claim or
  deal can sell it meanwhile, and comes back with an unsold or cancelled auction;
- every decision is logged as a public ``auction`` event (what everyone sees) and each
  bid as a private ``auction_bid`` (the maximum, for the bidder and staff): a restarted
  hub replays the decisions from them and finds the same standing;
- a timer closes the auction at its end and hands the lot to the next bidder when a
  checkout lapses; the room's housekeeping checks the same deadlines, for a clock the
  loop does not know (tests move a fake one). Both run only in the hub that holds the
  show's timers (the bus's lease), which replays the auction from the log when it
  takes them over.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass

import msgspec

from console import protocol
from console.domain import auction as rules
from console.domain.money import Money
from console.errors import ProtocolError
from console.hub.fanout import private_to
from console.protocol import ErrorCode
from console.store.api import Orders
from console.store.records import ClaimMove, NewOrder, OutOfStockError

log = logging.getLogger(__name__)

#: Bids' standing is announced to everyone at most this often (the last one wins). In a
#: closing rush of 2,000 bids/s, one ``auction`` per bid would send every viewer 2,000
#: states a second; 20 a second is as smooth as a price and a countdown need. Each bid
#: is still logged (``auction_bid``) and answered at once.
ANNOUNCE_EVERY = 0.05

Publish = Callable[[int, bytes, str | None], None]


@dataclass(frozen=True, slots=True)
class _Lot:
    """What the auction sells, as the page shows it (fixed at the start)."""

    product_id: str
    title: str
    label: str
    currency: str
    image: str | None


class AuctionDesk:
    """The room's auction (one at a time) and its timer. Used from the hub's loop only."""

    def __init__(
        self,
        records: Orders,
        publish: Publish,
        clock: Callable[[], float],
        is_banned: Callable[[str], bool],
    ) -> None:
        self._records = records
        self._publish = publish
        self._clock = clock
        self._is_banned = is_banned
        self._auction: rules.Auction | None = None
        self._lot: _Lot | None = None
        self._names: dict[str, str] = {}
        #: Every bid on the auction (``seq`` 0), restated to a staff console that joins.
        self._bids: list[protocol.AuctionBid] = []
        self._last: protocol.AuctionState | None = None
        #: The viewer whose payment is running: their checkout does not lapse meanwhile.
        self._paying: str | None = None
        self._timer: asyncio.TimerHandle | None = None
        #: Whether this hub runs the show's timers (the room holds the bus's lease).
        self._runs_timers = False
        #: The next announcement of the standing after bids, while one is due.
        self._announce: asyncio.TimerHandle | None = None
        #: Seqs of the events this desk wrote since it last read the log, not yet heard
        #: back from the bus.
        self._own: set[int] = set()
        #: The seq of the last auction event the last replay read from the log. The bus
        #: may bring it, or one before it, afterwards (a hub sends again what it could
        #: not publish while Redis was away); the replay applied it already.
        self._replayed = 0

    # ------------------------------------------------------------ state

    def resume(self) -> None:
        """Replay the last auction's decisions from the room's log.

        Every event this desk wrote is in the log, so its own seqs are forgotten: the
        replay's last seq stands for all of them when the bus brings them back.
        """
        self._auction = None
        self._bids = []
        events = self._records.auction_log()
        for event in events:
            try:
                self._replay(event)
            except rules.AuctionError:
                log.exception("auction event %s does not replay; left as it was", event.seq)
        self._replayed = max((e.seq for e in events), default=0)
        self._own.clear()
        self._arm()

    def follow(self, seq: int, body: bytes) -> None:
        """An auction event from the bus: one another hub wrote is applied here as on a
        replay, so every hub of a cluster holds the same auction (its standing, its end
        moved by anti-snipe, its close) and the timers' holder closes it on time. The
        desk's own events, and those its last replay read from the log, are already
        applied: a start applied again would wipe the bids that came after it."""
        if seq <= self._replayed or seq in self._own:
            self._own.discard(seq)
            return
        try:
            event = _AUCTION_EVENT(body)
            self._replay(event)
        except (msgspec.ValidationError, msgspec.DecodeError, rules.AuctionError):
            log.exception("auction event %s from another hub does not apply; replaying", seq)
            self.resume()
            return
        self._arm()

    def _replay(self, event: protocol.AuctionState | protocol.AuctionBid) -> None:
        if isinstance(event, protocol.AuctionBid):
            if self._auction is not None and event.auction_id == self._auction.id:
                self._names[event.viewer_id] = event.name
                maximum = Money(event.maximum, self._auction.start_price.currency)
                self._auction = rules.bid(self._auction, event.viewer_id, maximum, event.at).auction
                self._bids.append(msgspec.structs.replace(event, seq=0))
            return
        self._last = event
        if event.why == "start":
            self._lot = _Lot(
                event.product_id, event.title, event.label, event.currency, event.image
            )
            self._names = {}
            self._bids = []
            started = rules.AuctionStarted(
                auction_id=event.auction_id,
                sku=event.sku,
                start_price=Money(event.start_price, event.currency),
                increment=Money(event.increment, event.currency),
                starts=event.starts,
                ends=event.ends,
                anti_snipe=event.anti_snipe,
                checkout_seconds=event.checkout_seconds,
            )
            self._auction = rules.apply(None, started)
            return
        state = self._auction
        if state is None or state.id != event.auction_id:
            return
        if event.why == "close":
            self._auction = rules.close(state, event.at).auction
        elif event.why == "lapse":
            self._auction = rules.expire_checkout(state, event.at).auction
        elif event.why == "paid" and state.checkout is not None:
            paid = rules.pay(state, state.checkout.viewer_id, event.order_id or "", event.at)
            self._auction = paid.auction
        elif event.why == "cancel":
            self._auction = rules.cancel(state, event.at).auction

    def current(self) -> protocol.AuctionState | None:
        """The auction for a page or console that joins (``seq`` 0), None if none ran."""
        if self._auction is None or self._last is None:
            return None
        return self._state(self._last.why, self._last.at)

    def restated(self, viewer_id: str | None) -> list[protocol.AuctionState | protocol.AuctionBid]:
        """What a page (``viewer_id``) or a staff console (None) that joins is told of the
        last auction, with ``seq`` 0: its state, then the viewer's own highest bid, or for
        staff every bid. The room's history on joining holds only its latest events; with
        these a console that joins after the close shows the ladder and its marks as one
        that watched."""
        current = self.current()
        if current is None:
            return []
        if viewer_id is None:
            return [current, *self._bids]
        mine = self.own_bid(viewer_id)
        return [current] if mine is None else [current, mine]

    def own_bid(self, viewer_id: str | None) -> protocol.AuctionBid | None:
        """The viewer's highest maximum in the running auction, restated with ``seq`` 0."""
        state = self._auction
        if state is None or viewer_id is None or viewer_id not in state.maxima:
            return None
        mine = state.maxima[viewer_id]
        return protocol.AuctionBid(
            seq=0,
            auction_id=state.id,
            viewer_id=viewer_id,
            name=self._names.get(viewer_id, ""),
            maximum=mine.maximum.amount,
            at=mine.at,
        )

    def _state(self, why: str, at: float, seq: int = 0) -> protocol.AuctionState:
        state, lot = self._auction, self._lot
        assert state is not None and lot is not None
        checkout = state.checkout
        winner = checkout.viewer_id if checkout is not None else state.winner
        return protocol.AuctionState(
            seq=seq,
            auction_id=state.id,
            product_id=lot.product_id,
            sku=state.sku,
            title=lot.title,
            label=lot.label,
            currency=lot.currency,
            start_price=state.start_price.amount,
            increment=state.increment.amount,
            starts=state.starts,
            ends=state.ends,
            checkout_seconds=state.checkout_seconds,
            status=state.status,
            why=why,
            at=at,
            next_bid=rules.next_bid(state, "").amount,
            anti_snipe=state.anti_snipe,
            bids=state.bids,
            price=state.price.amount if state.price is not None else None,
            leader=self._names.get(state.leader) if state.leader else None,
            leader_id=state.leader,
            winner=self._names.get(winner) if winner else None,
            winner_id=winner,
            checkout_until=checkout.until if checkout is not None else None,
            order_id=self._last.order_id if self._last and why == "paid" else None,
            image=lot.image,
            extended=state.extended,
            passed_ids=list(state.passed),
        )

    # ------------------------------------------------------------ the host

    def start(self, message: protocol.StartAuction, pinned: protocol.Product | None) -> None:
        """Open bidding on one unit of the pinned product: the unit leaves the stock."""
        if self._auction is not None and self._auction.status in ("open", "closed"):
            raise ProtocolError(
                ErrorCode.CONFLICT,
                "An auction is running; wait for its sale or cancel it before starting another.",
            )
        if pinned is None:
            raise ProtocolError(ErrorCode.INVALID, "Pin a product first; the auction sells it.")
        variants = [v for v in pinned.variants if message.sku in (None, v.sku)]
        variant = next((v for v in variants if v.stock > 0), None)
        if variant is None:
            which = message.sku or pinned.title
            raise ProtocolError(
                ErrorCode.SOLD_OUT, f"{which} is sold out; restock it or auction another."
            )
        now = self._clock()
        try:
            decision = rules.start_auction(
                "A-" + secrets.token_hex(4).upper(),
                variant.sku,
                Money(message.start_price, pinned.currency),
                Money(message.increment, pinned.currency),
                message.seconds,
                now,
                anti_snipe=message.anti_snipe,
                checkout_seconds=message.checkout_seconds,
            )
        except rules.AuctionError as exc:
            raise ProtocolError(ErrorCode.INVALID, str(exc)) from None
        before = (self._auction, self._lot, self._names, self._bids, self._last)
        self._auction = decision.auction
        self._lot = _Lot(
            pinned.id,
            pinned.title,
            " / ".join(variant.options.values()),
            pinned.currency,
            pinned.image,
        )
        self._names, self._bids = {}, []
        try:
            self._commit("start", now, units=-1)
        except ProtocolError:
            self._auction, self._lot, self._names, self._bids, self._last = before
            raise
        log.info("auction %s of %s opened", decision.auction.id, variant.sku)

    def cancel(self) -> None:
        state = self._running()
        now = self._clock()
        try:
            self._auction = rules.cancel(state, now).auction
        except rules.AuctionError as exc:
            raise ProtocolError(ErrorCode.INVALID, str(exc)) from None
        self._commit("cancel", now, units=1)

    # ------------------------------------------------------------ viewers

    def bid(self, viewer_id: str, name: str, message: protocol.PlaceBid) -> protocol.AuctionBid:
        """Take a bid at the hub's clock now; the standing and the end follow the rules."""
        state = self._running()
        if message.auction_id != state.id:
            raise ProtocolError(ErrorCode.INVALID, "That auction is over; bid in the one shown.")
        now = self._clock()
        self.tick()
        state = self._running()
        try:
            decision = rules.bid(
                state,
                viewer_id,
                Money(message.maximum, state.start_price.currency),
                now,
                banned=self._is_banned(viewer_id),
            )
        except rules.AuctionError as exc:
            raise ProtocolError(ErrorCode.INVALID, str(exc)) from None
        self._names[viewer_id] = name
        self._auction = decision.auction
        mine = protocol.AuctionBid(
            seq=0,
            auction_id=state.id,
            viewer_id=viewer_id,
            name=name,
            maximum=message.maximum,
            at=now,
        )
        self._commit("bid", now, bid=mine)
        self._bids.append(mine)
        return mine

    def _announce_soon(self) -> None:
        if self._announce is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._announce = loop.call_later(ANNOUNCE_EVERY, self._announce_standing)

    def _announce_standing(self) -> None:
        self._announce = None
        if self._auction is not None and self._auction.status == "open":
            try:
                self._commit("bid", self._clock())
            except Exception:
                log.exception("announcing the auction's standing failed")

    def checkout_for(self, viewer_id: str, auction_id: str) -> protocol.AuctionState:
        """The auction ``viewer_id`` won and may pay now; a typed error otherwise."""
        self.tick()
        state = self._auction
        checkout = state.checkout if state is not None and state.id == auction_id else None
        if checkout is None or checkout.viewer_id != viewer_id:
            passed = state is not None and viewer_id in state.passed
            raise ProtocolError(
                ErrorCode.INVALID,
                "The time to pay for this lot has passed, and it went to the next bidder."
                if passed
                else "This lot is not yours to pay for.",
            )
        return self._state("close", checkout.until)

    def paying(self, viewer_id: str, order: NewOrder) -> None:
        """The winner pays: record the order (its unit left the stock at the start)."""
        self._paying = viewer_id
        try:
            self._records.record_claims([], self._clock(), order)
        except BaseException:
            self._paying = None
            raise

    def paid(self, order_id: str) -> None:
        """The winner's payment went through: the lot is sold."""
        state = self._running()
        self._paying = None
        assert state.checkout is not None
        now = self._clock()
        # At the checkout's limit at the latest: the payment started before it lapsed.
        at = min(now, state.checkout.until - 1e-6)
        self._auction = rules.pay(state, state.checkout.viewer_id, order_id, at).auction
        self._commit("paid", at, order_id=order_id)

    def payment_failed(self) -> None:
        """The store put the declined order's unit back: take it off again for the lot,
        which stays the winner's to pay until the limit."""
        self._paying = None
        self._commit("held", self._clock(), units=-1)
        self._arm()

    # ------------------------------------------------------------ the clock

    def take_timers(self) -> None:
        """This hub now holds the show's timers: replay the auction as the log has it
        (another hub may have run it) and time its end or its checkout."""
        self._runs_timers = True
        self.resume()

    def drop_timers(self) -> None:
        self._runs_timers = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def tick(self) -> None:
        """Close at the end; hand a lapsed checkout to the next bidder."""
        state = self._auction
        if state is None:
            return
        now = self._clock()
        if state.status == "open" and now >= state.ends:
            self._auction = rules.close(state, now).auction
            self._commit("close", now, units=1 if self._auction.status == "unsold" else 0)
        elif (
            state.status == "closed"
            and state.checkout is not None
            and state.checkout.until <= now
            and self._paying is None
        ):
            self._auction = rules.expire_checkout(state, now).auction
            self._commit("lapse", now, units=1 if self._auction.status == "unsold" else 0)
        self._arm()

    def _arm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        state = self._auction
        if state is None or not self._runs_timers:
            return
        if state.status == "open":
            due = state.ends
        elif state.status == "closed" and state.checkout is not None:
            due = state.checkout.until
        else:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # not serving yet: the hub arms it again when it starts
        self._timer = loop.call_later(max(0.0, due - self._clock()), self._due)

    def _due(self) -> None:
        self._timer = None
        try:
            self.tick()
        except Exception:
            log.exception("closing the auction on time failed")

    def stop(self) -> None:
        for handle in (self._timer, self._announce):
            if handle is not None:
                handle.cancel()
        self._timer = self._announce = None

    # ------------------------------------------------------------ store

    def _running(self) -> rules.Auction:
        if self._auction is None or self._auction.status not in ("open", "closed"):
            raise ProtocolError(ErrorCode.NOT_FOUND, "No auction is running.")
        return self._auction

    def _commit(
        self,
        why: str,
        at: float,
        *,
        units: int = 0,
        bid: protocol.AuctionBid | None = None,
        order_id: str | None = None,
    ) -> None:
        """Log the decision (and the bid) in one transaction with the lot's stock move."""
        state, lot = self._auction, self._lot
        assert state is not None and lot is not None
        public = self._state(why, at)
        if order_id is not None:
            public = msgspec.structs.replace(public, order_id=order_id)
        moves: list[ClaimMove] = []
        if bid is not None:
            # The standing goes out with the next announcement (``ANNOUNCE_EVERY``).
            self._announce_soon()
            moves.append(
                ClaimMove(
                    lot.product_id,
                    state.sku,
                    0,
                    "auction_bid",
                    bid.viewer_id,
                    lambda seq: msgspec.structs.replace(bid, seq=seq),
                    private_to(bid.viewer_id),
                )
            )
        else:
            if self._announce is not None:
                self._announce.cancel()  # this state carries the bids' standing too
                self._announce = None
            moves.append(
                ClaimMove(
                    lot.product_id,
                    state.sku,
                    units,
                    "auction",
                    None,
                    lambda seq: msgspec.structs.replace(public, seq=seq),
                    None,
                )
            )
        try:
            published = self._records.record_claims(moves, at)
        except OutOfStockError as exc:
            raise ProtocolError(ErrorCode.SOLD_OUT, str(exc)) from None
        if bid is None:
            self._last = public
        self._own.update(s for s, body, _ in published if body.startswith(AUCTION_EVENT_PREFIX))
        for seq, body, audience in published:
            self._publish(seq, body, audience)
        self._arm()


#: An auction event as the log stores it (its standing, or a bid).
_AUCTION_EVENT = msgspec.json.Decoder(protocol.AuctionState | protocol.AuctionBid).decode
#: How a stored auction event begins (``auction`` or ``auction_bid``).
AUCTION_EVENT_PREFIX = b'{"t":"auction'
