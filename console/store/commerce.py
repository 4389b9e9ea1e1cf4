"""Orders, stock, owners' reviews and the show state, in the same store as the room.

Stock is reserved by one conditional ``UPDATE`` inside the transaction that records the
order, so two buyers can never both get the last unit: the second update finds too
little stock and changes nothing, whichever hub it runs on (writers queue on SQLite's
write lock, or on PostgreSQL's ``room_seq`` row). The order's unique (viewer, key) makes
a replayed buy the same order, and a reservation's expiry lets any hub release the units
of a payment cut off by a crash, never those of one still running.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from console import protocol
from console.store.records import (
    AuctionEvent,
    ClaimEvent,
    ClaimMove,
    DuplicateOrderError,
    GiveawayEvent,
    NewOrder,
    NotReservedError,
    OutOfStockError,
    Published,
    StaleClaimsError,
    StoredOrder,
    VariantRow,
)

_ORDER_COLUMNS = (
    "id, created, viewer_id, name, email, product_id, sku, title, quantity, unit_price, "
    "shipping, total, currency, status, deal, country, payment_ref, failure, payment_token, "
    "payment_label, plan"
)

_VARIANT_COLUMNS = (
    "v.product_id, v.sku, p.title, p.currency, v.price, v.compare_at, v.stock, v.options"
)
_VARIANT = (
    f"SELECT {_VARIANT_COLUMNS} FROM variants v JOIN products p ON p.id = v.product_id "
    "WHERE v.sku = ?"
)
#: One row whether or not the variant or the order exists: the variant's columns, then
#: the order's.
_ORDER_AND_VARIANT = (
    f"SELECT {_VARIANT_COLUMNS}, "
    + ", ".join(f"o.{column.strip()}" for column in _ORDER_COLUMNS.split(","))
    + " FROM (SELECT 1) AS one "
    "LEFT JOIN variants AS v ON v.sku = ? LEFT JOIN products AS p ON p.id = v.product_id "
    "LEFT JOIN orders AS o ON o.viewer_id = ? AND o.idempotency_key = ?"
)
_VARIANT_WIDTH = len(_VARIANT_COLUMNS.split(","))

if TYPE_CHECKING:
    from console.store.sqlite import EventWriter, Store


def _variant(row: tuple) -> VariantRow:
    return VariantRow(*row[:7], options=json.loads(row[7]))


def _order(row: tuple) -> StoredOrder:
    record = protocol.OrderRecord(
        order_id=row[0],
        ts=row[1],
        viewer_id=row[2],
        name=row[3],
        email=row[4],
        product_id=row[5],
        sku=row[6],
        title=row[7],
        quantity=row[8],
        unit_price=row[9],
        shipping=row[10],
        total=row[11],
        currency=row[12],
        status=row[13],
        deal=bool(row[14]),
        country=row[15],
        plan=row[20],
    )
    return StoredOrder(record, row[16], row[17], row[18], row[19])


class Commerce:
    """The shop's records; like :class:`Store`, used from the hub's loop thread only."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._db = store.db

    # ------------------------------------------------------------ catalogue reads

    def variant(self, sku: str) -> VariantRow | None:
        row = self._db.execute(_VARIANT, (sku,)).fetchone()
        return None if row is None else _variant(row)

    def stock(self, sku: str) -> int | None:
        """Units left of ``sku`` (None: no such variant); the cheap look-up a flash drop's
        thousand refused attempts need, without the product join of :meth:`variant`."""
        row = self._db.execute("SELECT stock FROM variants WHERE sku = ?", (sku,)).fetchone()
        return None if row is None else int(row[0])

    def product(self, product_id: str) -> protocol.Product | None:
        products = self._store.catalogue(product_ids=(product_id,))
        return products[0] if products else None

    def resolve_product(self, product_or_sku: str) -> protocol.Product | None:
        """The product with this id, or the product that has this SKU."""
        product = self.product(product_or_sku)
        if product is None:
            variant = self.variant(product_or_sku)
            if variant is not None:
                product = self.product(variant.product_id)
        return product

    # ------------------------------------------------------------ orders

    def order_by_key(self, viewer_id: str, key: str) -> StoredOrder | None:
        row = self._db.execute(
            f"SELECT {_ORDER_COLUMNS} FROM orders WHERE viewer_id = ? AND idempotency_key = ?",
            (viewer_id, key),
        ).fetchone()
        return _order(row) if row else None

    def order_and_variant(
        self, viewer_id: str, key: str, sku: str
    ) -> tuple[StoredOrder | None, VariantRow | None]:
        row = self._db.execute(_ORDER_AND_VARIANT, (sku, viewer_id, key)).fetchone()
        variant = _variant(row) if row[0] is not None else None
        order = row[_VARIANT_WIDTH:]
        return (_order(order) if order[0] is not None else None), variant

    def orders(self, limit: int = 500) -> list[protocol.OrderRecord]:
        """The latest orders that were paid, newest first."""
        rows = self._db.execute(
            f"SELECT {_ORDER_COLUMNS} FROM orders WHERE status = 'paid' "
            "ORDER BY created DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [_order(r).record for r in rows]

    def reserve(self, order: NewOrder, now: float) -> tuple[protocol.Stock, bytes]:
        """Record the order as reserved and take its units off the shelf, or neither.

        The order row and the stock's update go together (PostgreSQL: one round trip
        with the BEGIN and the room's lock). A second order under the same viewer and key
        (a replay through another hub) meets the table's unique key and is not written,
        and :class:`DuplicateOrderError` rolls the units' update back with it.
        """
        with self._store.events() as writer:
            inserted, taking = writer.db.execute_all(
                [
                    _order_row(order, now),
                    (
                        "UPDATE variants SET stock = stock - ? WHERE sku = ? AND stock >= ? "
                        "RETURNING stock",
                        (order.quantity, order.sku, order.quantity),
                    ),
                ]
            )
            if inserted.rowcount != 1:
                raise DuplicateOrderError(order.viewer_id, order.key)
            taken = taking.fetchone()
            if taken is None:
                row = writer.db.execute(
                    "SELECT stock FROM variants WHERE sku = ?", (order.sku,)
                ).fetchone()
                left = row[0] if row else 0
                raise OutOfStockError(
                    "Sold out." if left == 0 else f"Only {left} left; lower the quantity.", left
                )
            return self._stock_event(writer, order.product_id, order.sku, now, taken[0])

    def record_claims(
        self,
        moves: Sequence[ClaimMove],
        now: float,
        order: NewOrder | None = None,
        *,
        decided_from: int | None = None,
    ) -> list[Published]:
        """Take claimed units off the free stock, put released ones back, and log each
        change, all in one transaction: if one claim finds too little stock (a pin-buy
        took it meanwhile), nothing changes and :class:`OutOfStockError` says so.

        ``order`` is the order of a claim being paid, recorded with the claim's end. Its
        units left the stock when they were claimed: they are the ones bought, so the
        stock does not change for it (a failed payment releases them as any order's).

        ``decided_from`` is the seq of the last claim event the claims desk had applied
        when it decided: a later one in the log (another hub's, committed first, since
        writers take the room's lock in seq order) makes the decision stale, and
        :class:`StaleClaimsError` is raised before anything is written. Auctions and
        giveaways, which move stock this way but decide from their own events, give None.
        """
        published: list[Published] = []
        with self._store.events() as writer:
            if decided_from is not None:
                newer = writer.db.execute(
                    f"SELECT seq FROM events WHERE seq > ? AND type IN {_CLAIM_TYPES} "
                    "ORDER BY seq LIMIT 1",
                    (decided_from,),
                ).fetchone()
                if newer is not None:
                    raise StaleClaimsError(decided_from, int(newer[0]))
            if order is not None:
                _insert_order(writer, order, now)
            for move in moves:
                if move.units < 0:
                    cur = writer.db.execute(
                        "UPDATE variants SET stock = stock - ? WHERE sku = ? AND stock >= ?",
                        (-move.units, move.sku, -move.units),
                    )
                    if cur.rowcount != 1:
                        left = self.stock(move.sku) or 0
                        raise OutOfStockError(
                            "Sold out." if left == 0 else f"Only {left} left.", left
                        )
                elif move.units > 0:
                    writer.db.execute(
                        "UPDATE variants SET stock = stock + ? WHERE sku = ?",
                        (move.units, move.sku),
                    )
                event, body = writer.add(move.kind, move.viewer_id, now, move.make, move.audience)
                published.append((event.seq, body, move.audience))
                if move.units:
                    stock, body = self._stock_event(writer, move.product_id, move.sku, now)
                    published.append((stock.seq, body, None))
        return published

    def claim_log(self, after: int = 0) -> list[ClaimEvent]:
        """The claim events after seq ``after``, oldest first: a restarted hub rebuilds its
        open claims, their expiries and the claims mode from all of them, and a hub of a
        cluster catches up with those another hub logged since the last it applied."""
        rows = self._db.execute(
            f"SELECT body FROM events WHERE seq > ? AND type IN {_CLAIM_TYPES} ORDER BY seq",
            (after,),
        ).fetchall()
        return [msgspec.json.decode(bytes(r[0]), type=ClaimEvent) for r in rows]

    def auction_log(self) -> list[AuctionEvent]:
        """Every auction event in the log, oldest first: a restarted hub replays the last
        auction's decisions from them."""
        rows = self._db.execute(
            "SELECT body FROM events WHERE type IN ('auction', 'auction_bid') ORDER BY seq"
        ).fetchall()
        return [msgspec.json.decode(bytes(r[0]), type=AuctionEvent) for r in rows]

    def giveaway_log(self) -> list[GiveawayEvent]:
        """Every giveaway event in the log, oldest first: a restarted hub rebuilds the
        last giveaway and its entries from them."""
        rows = self._db.execute(
            "SELECT body FROM events WHERE type IN ('giveaway', 'giveaway_entry') ORDER BY seq"
        ).fetchall()
        return [msgspec.json.decode(bytes(r[0]), type=GiveawayEvent) for r in rows]

    def complete(
        self,
        order_id: str,
        payment_ref: str,
        display_name: str,
        now: float,
        *,
        payment_token: str | None = None,
        payment_label: str | None = None,
    ) -> tuple[protocol.OrderPlaced, bytes]:
        """Mark a reserved order paid and announce the sale under the buyer's chat name.

        The announcement goes to every viewer, so it carries the display name the buyer
        chose for the chat, never the name and address typed at checkout. An order that is
        no longer reserved raises :class:`NotReservedError` and announces nothing.
        """
        with self._store.events() as writer:
            row = writer.db.execute(
                "UPDATE orders SET status = 'paid', payment_ref = ?, payment_token = ?, "
                "payment_label = ?, updated = ? WHERE id = ? AND status = 'reserved' "
                "RETURNING viewer_id, product_id, sku, title, quantity, total, currency, deal",
                (payment_ref, payment_token, payment_label, now, order_id),
            ).fetchone()
            if row is None:
                # Paid through another hub already, or lapsed: never a second sale.
                raise NotReservedError(order_id, _status(writer, order_id))
            return writer.add(
                "order",
                row[0],
                now,
                lambda seq: protocol.OrderPlaced(
                    seq=seq,
                    order_id=order_id,
                    product_id=row[1],
                    sku=row[2],
                    title=row[3],
                    quantity=row[4],
                    total=row[5],
                    currency=row[6],
                    name=display_name,
                    ts=now,
                    deal=bool(row[7]),
                ),
            )

    def release(self, order_id: str, failure: str, now: float) -> tuple[protocol.Stock, bytes]:
        """A reserved order failed (payment): put its units back on the shelf."""
        with self._store.events() as writer:
            released = _release(writer, order_id, failure, now, None)
            if released is None:
                raise NotReservedError(order_id, _status(writer, order_id))
            product_id, sku = released
            return self._stock_event(writer, product_id, sku, now)

    def release_expired(self, now: float) -> list[tuple[protocol.Stock, bytes]]:
        """Put the units of reservations past their expiry back on the shelf.

        Only expired ones: the others may be paying on another hub right now. Each is
        checked again in its own transaction, so two hubs releasing at once release it
        once. Returns the stock events: each took a seq, so the room must publish them,
        or its next event would leave a gap in the log.
        """
        rows = self._db.execute(
            "SELECT id FROM orders WHERE status = 'reserved' AND expires <= ?", (now,)
        ).fetchall()
        published: list[tuple[protocol.Stock, bytes]] = []
        for (order_id,) in rows:
            with self._store.events() as writer:
                released = _release(writer, order_id, _EXPIRED, now, now)
                if released is not None:
                    published.append(self._stock_event(writer, *released, now))
        return published

    @staticmethod
    def _stock_event(
        writer: EventWriter, product_id: str, sku: str, now: float, stock: int | None = None
    ) -> tuple[protocol.Stock, bytes]:
        """The variant's stock announced; ``stock``: as the change just returned it."""
        if stock is None:
            (stock,) = writer.db.execute(
                "SELECT stock FROM variants WHERE sku = ?", (sku,)
            ).fetchone()
        return writer.add(
            "stock",
            None,
            now,
            lambda seq: protocol.Stock(seq=seq, product_id=product_id, sku=sku, stock=stock),
        )

    # ------------------------------------------------------------ staff edits

    def update_variant(
        self, sku: str, price: int | None, stock: int | None, now: float
    ) -> tuple[protocol.Stock, bytes] | None:
        """Change a variant's price and/or stock; a stock change is announced."""
        with self._store.events() as writer:
            if price is not None:
                writer.db.execute("UPDATE variants SET price = ? WHERE sku = ?", (price, sku))
            if stock is None:
                return None
            writer.db.execute("UPDATE variants SET stock = ? WHERE sku = ?", (stock, sku))
            (product_id,) = writer.db.execute(
                "SELECT product_id FROM variants WHERE sku = ?", (sku,)
            ).fetchone()
            return self._stock_event(writer, product_id, sku, now)

    def upsert_products(self, products: Sequence[protocol.Product]) -> None:
        """Add or update products by id in one transaction; other products stay.

        A product's variants become exactly the given ones. Reviews are added or
        updated by id and never dropped: viewers' reviews survive a re-import.
        """
        with self._store.events() as writer:
            db = writer.db
            (position,) = db.execute("SELECT COALESCE(MAX(position), -1) FROM products").fetchone()
            for p in products:
                position += 1
                db.execute(
                    "INSERT INTO products (id, position, title, description, vendor, image, "
                    "currency, options) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO "
                    "UPDATE SET title = excluded.title, description = excluded.description, "
                    "vendor = excluded.vendor, image = excluded.image, "
                    "currency = excluded.currency, options = excluded.options",
                    (
                        p.id,
                        position,
                        p.title,
                        p.description,
                        p.vendor,
                        p.image,
                        p.currency,
                        json.dumps(p.options),
                    ),
                )
                skus = [v.sku for v in p.variants]
                kept = f" AND sku NOT IN ({','.join('?' * len(skus))})" if skus else ""
                db.execute(f"DELETE FROM variants WHERE product_id = ?{kept}", (p.id, *skus))
                db.executemany(
                    "INSERT INTO variants (sku, product_id, position, options, price, "
                    "compare_at, stock) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (sku) DO "
                    "UPDATE SET product_id = excluded.product_id, position = excluded.position, "
                    "options = excluded.options, price = excluded.price, "
                    "compare_at = excluded.compare_at, stock = excluded.stock",
                    [
                        (v.sku, p.id, i, json.dumps(v.options), v.price, v.compare_at, v.stock)
                        for i, v in enumerate(p.variants)
                    ],
                )
                db.executemany(
                    "INSERT INTO reviews (id, product_id, author, rating, text, "
                    "verified_owner, created) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO "
                    "UPDATE SET product_id = excluded.product_id, author = excluded.author, "
                    "rating = excluded.rating, text = excluded.text, "
                    "verified_owner = excluded.verified_owner, created = excluded.created",
                    [
                        (r.id, p.id, r.author, r.rating, r.text, int(r.verified_owner), r.created)
                        for r in p.reviews
                    ],
                )

    # ------------------------------------------------------------ owners and reviews

    def owners(self, product_id: str) -> set[str]:
        """Viewer ids that bought (and paid for) this product."""
        rows = self._db.execute(
            "SELECT DISTINCT viewer_id FROM orders WHERE product_id = ? AND status = 'paid'",
            (product_id,),
        )
        return {r[0] for r in rows}

    def owns(self, viewer_id: str, product_id: str) -> bool:
        return (
            self._db.execute(
                "SELECT 1 FROM orders WHERE viewer_id = ? AND product_id = ? AND status = 'paid' "
                "LIMIT 1",
                (viewer_id, product_id),
            ).fetchone()
            is not None
        )

    def is_buyer(self, viewer_id: str) -> bool:
        """Whether the viewer ever paid for an order here (for buyers-only chat)."""
        row = self._db.execute(
            "SELECT 1 FROM orders WHERE viewer_id = ? AND status = 'paid' LIMIT 1", (viewer_id,)
        ).fetchone()
        return row is not None

    def has_reviewed(self, viewer_id: str, product_id: str) -> bool:
        """A review of theirs is up, or waits in the Held queue: one per owner either way."""
        return (
            self._db.execute(
                "SELECT 1 FROM reviews WHERE viewer_id = ? AND product_id = ? UNION ALL "
                "SELECT 1 FROM held WHERE viewer_id = ? AND product_id = ? AND status = 'held'",
                (viewer_id, product_id, viewer_id, product_id),
            ).fetchone()
            is not None
        )

    def add_review(
        self, product_id: str, viewer_id: str, review: protocol.Review, now: float
    ) -> tuple[protocol.ReviewAdded, bytes]:
        with self._store.events() as writer:
            return write_review(writer, product_id, viewer_id, review, now)

    def review(self, review_id: str) -> tuple[str, protocol.Review] | None:
        row = self._db.execute(
            "SELECT product_id, id, author, rating, text, verified_owner, created FROM reviews "
            "WHERE id = ?",
            (review_id,),
        ).fetchone()
        if row is None:
            return None
        return row[0], protocol.Review(
            id=row[1],
            author=row[2],
            rating=row[3],
            text=row[4],
            verified_owner=bool(row[5]),
            created=row[6],
        )

    # ------------------------------------------------------------ the show

    def save_show(self, state: protocol.ShowState, now: float) -> tuple[protocol.ShowState, bytes]:
        """Store the show's new state as an event, and as the state a restart resumes."""
        with self._store.events() as writer:
            event, body = writer.add(
                "show",
                None,
                now,
                lambda seq: protocol.ShowState(
                    seq=seq,
                    pinned=state.pinned,
                    shelf=state.shelf,
                    deal=state.deal,
                    featured=state.featured,
                ),
            )
            writer.db.execute(
                "INSERT INTO show_state (id, body) VALUES (1, ?) "
                "ON CONFLICT (id) DO UPDATE SET body = excluded.body",
                (body,),
            )
        return event, body

    def load_show(self) -> protocol.ShowState | None:
        row = self._db.execute("SELECT body FROM show_state WHERE id = 1").fetchone()
        return msgspec.json.decode(bytes(row[0]), type=protocol.ShowState) if row else None

    def deal_ended(
        self, product_id: str, ends: float, reason: str, now: float
    ) -> tuple[protocol.DealEnded, bytes] | None:
        """End the stored deal on ``product_id`` ending at ``ends``, if it still runs.

        Hubs may race to end a deal (a timer's holder and the host, a lease taken over):
        the check and the end are one transaction, so the deal ends once and the others
        get None. The stored show loses its deal in it, whatever ``show`` follows.
        """
        with self._store.events() as writer:
            row = writer.db.execute("SELECT body FROM show_state WHERE id = 1").fetchone()
            state = msgspec.json.decode(bytes(row[0]), type=protocol.ShowState) if row else None
            deal = state.deal if state is not None else None
            if state is None or deal is None or (deal.product_id, deal.ends) != (product_id, ends):
                return None
            writer.db.execute(
                "UPDATE show_state SET body = ? WHERE id = 1",
                (protocol.encode(msgspec.structs.replace(state, deal=None)),),
            )
            return writer.add(
                "deal_end",
                None,
                now,
                lambda seq: protocol.DealEnded(seq=seq, product_id=product_id, reason=reason),
            )


#: The event types of comment-to-claim, as SQL: the claims mode, cards, ends, places in
#: line and places given up.
_CLAIM_TYPES = "('claims', 'claim_card', 'claim_end', 'claim_wait', 'claim_wait_end')"
#: Why a reservation left the shelf's hold (the order's ``failure``).
_EXPIRED = "the payment did not finish before the reservation expired"


def _status(writer: EventWriter, order_id: str) -> str:
    row = writer.db.execute("SELECT status FROM orders WHERE id = ?", (order_id,)).fetchone()
    return str(row[0]) if row else "unknown"


def _release(
    writer: EventWriter, order_id: str, failure: str, now: float, expired_by: float | None
) -> tuple[str, str] | None:
    """Fail a reserved order (one whose expiry is past ``expired_by``, if given) and put
    its units back; its product and SKU, or None if it is not (or no longer) so."""
    row = writer.db.execute(
        "SELECT product_id, sku, quantity, expires FROM orders "
        "WHERE id = ? AND status = 'reserved'",
        (order_id,),
    ).fetchone()
    if row is None or (expired_by is not None and (row[3] is None or row[3] > expired_by)):
        return None
    product_id, sku, quantity, _ = row
    writer.db.execute(
        "UPDATE orders SET status = 'failed', failure = ?, updated = ? WHERE id = ?",
        (failure, now, order_id),
    )
    writer.db.execute("UPDATE variants SET stock = stock + ? WHERE sku = ?", (quantity, sku))
    return product_id, sku


def _insert_order(writer: EventWriter, order: NewOrder, now: float) -> None:
    """The order row, reserved until its payment confirms or fails, or it expires.

    One order per viewer and key, whichever hub writes it: the unique key decides, and
    the second is :class:`DuplicateOrderError`.
    """
    if writer.db.execute(*_order_row(order, now)).rowcount != 1:
        raise DuplicateOrderError(order.viewer_id, order.key)


def _order_row(order: NewOrder, now: float) -> tuple[str, tuple[Any, ...]]:
    """The statement that inserts the order as reserved, or nothing if the viewer has an
    order under its key already."""
    return (
        "INSERT INTO orders (id, idempotency_key, viewer_id, name, email, address, "
        "country, product_id, sku, title, quantity, unit_price, shipping, total, "
        "currency, deal, plan, status, created, updated, expires) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'reserved', ?, ?, ?) "
        "ON CONFLICT (viewer_id, idempotency_key) DO NOTHING",
        (
            order.order_id,
            order.key,
            order.viewer_id,
            order.name,
            order.email,
            json.dumps(order.address),
            order.country,
            order.product_id,
            order.sku,
            order.title,
            order.quantity,
            order.unit_price,
            order.shipping,
            order.total,
            order.currency,
            int(order.deal),
            order.plan,
            now,
            now,
            order.expires,
        ),
    )


def write_review(
    writer: EventWriter, product_id: str, viewer_id: str, review: protocol.Review, now: float
) -> tuple[protocol.ReviewAdded, bytes]:
    """Store a buyer's review and its event inside a transaction that may hold others
    (a moderator's approval of a held review writes its log entry in the same one)."""
    writer.db.execute(
        "INSERT INTO reviews (id, product_id, author, rating, text, verified_owner, "
        "created, viewer_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            review.id,
            product_id,
            review.author,
            review.rating,
            review.text,
            int(review.verified_owner),
            review.created,
            viewer_id,
        ),
    )
    return writer.add(
        "review",
        viewer_id,
        now,
        lambda seq: protocol.ReviewAdded(seq=seq, product_id=product_id, review=review),
    )
