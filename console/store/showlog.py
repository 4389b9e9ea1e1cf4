"""Read one past show back from the store, for the post-show report (issue 18).

A show is one stream (:mod:`console.store.profiles`): from the host going live (the
``stream`` event at ``start_seq``) to the next show's start, so the chat after the show
still belongs to it. :class:`ShowReader` opens the store **read-only** on its own
connection through the store's Database adapter, so a report can be made in a worker
thread or another process while the hubs keep writing: the SQLite data file (WAL lets
readers and the one writer work at once), or a cluster's PostgreSQL database (a
connection whose every transaction is read only). Its SQL is written once for both.

What the store keeps decides what a report can say; the reader turns it into the
insight domain's events (:mod:`console.domain.insight.events`) and plain rows:

- pins, deals, comments, orders and answers are stored events, for everyone;
- joins and leaves, and checkouts opened, are stored only for viewers who chose
  "Remember me" (the presence and checkout tables); a viewer who commented or bought
  was watching, so their first comment or order also counts as a join;
- the room's viewer count over time is stored as a number (nobody's row), for everyone;
- where buyers dropped (a checkout that stopped: its product, variant and why) is stored
  for everyone as a fact with nobody's id (``checkout_drops``);
- product card opens are not stored (the live pulse hears them, anonymously).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from console import protocol
from console.domain.insight.events import (
    Answered,
    CheckoutDropped,
    CheckoutOpened,
    Commented,
    DealEnded,
    DealStarted,
    Event,
    Joined,
    Left,
    Paid,
    Pinned,
    Unpinned,
)
from console.domain.profile import CONSENTS, Consent
from console.errors import StoreError
from console.redact import masked_url
from console.store.database import Database, SqliteDatabase, check_postgres_url
from console.store.sqlite import DB_FILE_NAME


@dataclass(frozen=True, slots=True)
class ShowSpan:
    """One show: stream ``id``, its events ``start_seq < seq <= end_seq``."""

    id: int
    started: float
    ended: float | None
    start_seq: int
    end_seq: int


@dataclass(frozen=True, slots=True)
class OrderRow:
    order_id: str
    ts: float
    viewer_id: str
    name: str
    product_id: str
    title: str
    quantity: int
    total: int
    currency: str
    deal: bool


@dataclass(frozen=True, slots=True)
class QuestionRow:
    id: int
    ts: float
    viewer_id: str
    name: str
    text: str
    group: str
    answered_at: float | None


@dataclass(frozen=True, slots=True)
class ChatRow:
    seq: int
    ts: float
    viewer_id: str
    name: str
    role: str
    text: str


@dataclass(frozen=True, slots=True)
class BuyerHistory:
    """A buyer's paid orders before this show, and over all time."""

    orders_before: int
    orders_total: int
    spent_total: int


@dataclass(frozen=True, slots=True)
class ShowLog:
    """What the report of one show is made from."""

    show: ShowSpan
    titles: dict[str, str]
    events: list[Event]
    chat: list[ChatRow]
    questions: list[QuestionRow]
    orders: list[OrderRow]
    consent: dict[str, Consent]
    buyers: dict[str, BuyerHistory]
    #: When each viewer who chose "Remember me" was first and last seen in the show
    #: (``None`` last: still watching, the show has not ended).
    watched: list[tuple[float, float | None]]
    #: The room's viewer count over the show, (ts, viewers) in time order, as the timers'
    #: holder kept it (``console.domain.insight.audience``); empty for older shows.
    audience: list[tuple[float, int]] = field(default_factory=list)


_DECODER = msgspec.json.Decoder(protocol.RoomEvent)

#: Ids in one ``IN (...)`` list: well within either engine's limit on a statement's
#: parameters (SQLite's is 32,766; PostgreSQL's 65,535).
_CHUNK = 500


def _in_chunks(db: Database, sql: str, ids: Sequence[str], *params: object) -> Iterator[Any]:
    """The rows of ``sql`` with its ``IN ({})`` list filled with ``ids``, a chunk at a time
    (``params`` come before the list)."""
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        yield from db.execute(sql.format(", ".join("?" * len(chunk))), (*params, *chunk))


class ShowReader:
    """Read-only access to the shows of one store: the SQLite file in a data folder, or
    the PostgreSQL database a cluster's hubs share."""

    def __init__(self, data_dir: Path, database: str | None = None) -> None:
        """The shows in ``data_dir``'s data file; with ``database`` (a PostgreSQL URL, as
        the hubs' ``--database`` names it) the shows in that database instead."""
        self._db: Database
        if database is None:
            path = data_dir / DB_FILE_NAME
            if not path.exists():
                raise StoreError(
                    f"There is no Shopcast data file in {data_dir}; give the folder the "
                    "console uses with --data-dir."
                )
            self._db = SqliteDatabase.open_read_only(path)
            self._where = f"the data file {path}"
            self._place = "this data folder"
        else:
            check_postgres_url(database)
            # psycopg is imported only when a database is asked for, as Store.open does.
            from console.store.postgres import PostgresDatabase

            self._db = PostgresDatabase.open_read_only(database)
            self._where = self._place = f"the database {masked_url(database)}"

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ShowReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _reading(self, what: str) -> Iterator[None]:
        """A driver's error (SQLite's raw, PostgreSQL's already a StoreError) as one
        StoreError naming what could not be read, and where."""
        try:
            yield
        except (sqlite3.Error, StoreError) as exc:
            raise StoreError(f"Cannot read {what} from {self._where} ({exc}).") from exc

    def shows(self) -> list[ShowSpan]:
        """Every show, oldest first."""
        with self._reading("the shows"):
            last = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]
            rows = self._db.execute(
                "SELECT id, started, ended, start_seq FROM streams ORDER BY id"
            ).fetchall()
        spans: list[ShowSpan] = []
        for index, (sid, started, ended, start_seq) in enumerate(rows):
            end_seq = rows[index + 1][3] if index + 1 < len(rows) else last
            spans.append(ShowSpan(sid, started, ended, start_seq, end_seq))
        return spans

    def show(self, show_id: int | None = None) -> ShowSpan:
        """Show ``show_id``, or the latest one."""
        spans = self.shows()
        if not spans:
            raise StoreError(f"No show has gone live in {self._place} yet: nothing to report.")
        if show_id is None:
            return spans[-1]
        for span in spans:
            if span.id == show_id:
                return span
        raise StoreError(
            f"There is no show {show_id}; the shows are {spans[0].id} to {spans[-1].id}."
        )

    def read(self, span: ShowSpan) -> ShowLog:
        """The show's events in time order and its chat, questions, orders and buyers."""
        with self._reading(f"show {span.id}"):
            return self._read(span)

    def _read(self, span: ShowSpan) -> ShowLog:
        db = self._db
        bounds = (span.start_seq, span.end_seq)
        titles = dict(db.execute("SELECT id, title FROM products").fetchall())
        events: list[tuple[float, int, Event]] = []
        seen: set[str] = set()

        def join(ts: float, viewer: str, order: int) -> None:
            if viewer and viewer not in seen:
                seen.add(viewer)
                events.append((ts, order, Joined(ts, viewer)))

        watched: list[tuple[float, float | None]] = []
        for viewer, first, last in db.execute(
            "SELECT viewer_id, first_ts, last_ts FROM presence WHERE stream_id = ? "
            "ORDER BY viewer_id",
            (span.id,),
        ):
            join(first, viewer, -1)
            if span.ended is not None and last < span.ended:
                events.append((last, span.end_seq + 1, Left(last, viewer)))
                watched.append((first, last))
            else:
                watched.append((first, None))

        chat: list[ChatRow] = []
        # The show's sales in order, order id -> when paid. The id is read from the sale's
        # event (which keeps it when the buyer is forgotten; the event's viewer id column
        # does not), here in Python: in SQL it would take each engine's own JSON functions.
        sold: dict[str, float] = {}
        pinned: str | None = None
        deal: str | None = None
        for seq, ts, body in db.execute(
            "SELECT seq, ts, body FROM events WHERE seq > ? AND seq <= ? "
            "AND type IN ('comment', 'show', 'deal_end', 'answer', 'order') ORDER BY seq",
            bounds,
        ):
            message = _DECODER.decode(bytes(body))
            match message:
                case protocol.Comment():
                    chat.append(
                        ChatRow(
                            seq, ts, message.viewer_id, message.name, message.role, message.text
                        )
                    )
                    if message.role == "viewer":
                        join(ts, message.viewer_id, seq)
                        events.append(
                            (
                                ts,
                                seq,
                                Commented(ts, message.viewer_id, message.name, seq, message.text),
                            )
                        )
                case protocol.ShowState():
                    now_pinned = message.pinned.id if message.pinned is not None else None
                    if now_pinned != pinned:
                        events.append(
                            (ts, seq, Pinned(ts, now_pinned) if now_pinned else Unpinned(ts))
                        )
                        pinned = now_pinned
                    now_deal = message.deal.product_id if message.deal is not None else None
                    if now_deal != deal:
                        events.append(
                            (ts, seq, DealStarted(ts, now_deal) if now_deal else DealEnded(ts))
                        )
                        deal = now_deal
                case protocol.DealEnded() if deal is not None:
                    events.append((ts, seq, DealEnded(ts)))
                    deal = None
                case protocol.Answer():
                    events.append((ts, seq, Answered(ts, message.question)))
                case protocol.OrderPlaced():
                    sold[message.order_id] = ts
                case _:
                    pass

        paid = {
            row[0]: row
            for row in _in_chunks(
                db,
                "SELECT id, viewer_id, name, product_id, title, quantity, total, currency, deal "
                "FROM orders WHERE status = 'paid' AND id IN ({})",
                list(sold),
            )
        }
        orders: list[OrderRow] = []
        for oid, ts in sold.items():
            if oid in paid:
                _, viewer, name, pid, title, qty, total, currency, deal_ = paid[oid]
                orders.append(
                    OrderRow(oid, ts, viewer, name, pid, title, qty, total, currency, bool(deal_))
                )
        for order in orders:
            join(order.ts, order.viewer_id, span.end_seq)
            events.append(
                (
                    order.ts,
                    span.end_seq,
                    Paid(order.ts, order.viewer_id, order.product_id, order.order_id),
                )
            )
        for viewer, product, ts in db.execute(
            "SELECT viewer_id, product_id, ts FROM checkout_starts WHERE stream_id = ? ORDER BY id",
            (span.id,),
        ):
            events.append((ts, span.end_seq, CheckoutOpened(ts, viewer, product)))
        for ts, product, sku, reason in db.execute(
            # Ordered past ts so both engines give a show's drops in the same order.
            "SELECT ts, product_id, sku, reason FROM checkout_drops WHERE stream_id = ? "
            "ORDER BY ts, product_id, reason",
            (span.id,),
        ):
            # The table's CHECK holds ``reason`` to the domain's DROP_REASONS.
            events.append((ts, span.end_seq, CheckoutDropped(ts, product, reason, sku)))

        questions = [
            QuestionRow(*row)
            for row in db.execute(
                "SELECT id, ts, viewer_id, name, text, grp, answered_at FROM questions "
                "WHERE id > ? AND id <= ? ORDER BY id",
                bounds,
            )
        ]
        consent: dict[str, Consent] = {
            viewer: choice
            for viewer, choice in db.execute("SELECT viewer_id, consent FROM consent")
            if choice in CONSENTS
        }
        # int(): PostgreSQL's SUM of integers is a numeric (a Decimal in Python).
        buyers = {
            viewer: BuyerHistory(int(before), int(count), int(spent))
            for viewer, before, count, spent in _in_chunks(
                db,
                "SELECT viewer_id, SUM(CASE WHEN created < ? THEN 1 ELSE 0 END), COUNT(*), "
                "SUM(total) FROM orders WHERE status = 'paid' AND viewer_id IN ({}) "
                "GROUP BY viewer_id",
                sorted({order.viewer_id for order in orders}),
                span.started,
            )
        }
        events.sort(key=lambda item: (item[0], item[1]))
        return ShowLog(
            show=span,
            titles=titles,
            events=[event for _, _, event in events],
            chat=chat,
            questions=questions,
            orders=orders,
            consent=consent,
            buyers=buyers,
            watched=watched,
            audience=[
                (ts, viewers)
                for ts, viewers in db.execute(
                    "SELECT ts, viewers FROM viewer_counts WHERE stream_id = ? ORDER BY ts",
                    (span.id,),
                )
            ],
        )
