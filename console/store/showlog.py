"""Read one past show back from the store, for the post-show report (issue 18).

A show is one stream (:mod:`console.store.profiles`): from the host going live (the
``stream`` event at ``start_seq``) to the next show's start, so the chat after the show
still belongs to it. :class:`ShowReader` opens the data file **read-only** on its own
connection, so a report can be made in a worker thread or another process while the
hub keeps writing (SQLite's WAL lets readers and the one writer work at once).

What the store keeps decides what a report can say; the reader turns it into the
insight domain's events (:mod:`console.domain.insight.events`) and plain rows:

- pins, deals, comments, orders and answers are stored events, for everyone;
- joins and leaves, and checkouts opened, are stored only for viewers who chose
  "Remember me" (the presence and checkout tables); a viewer who commented or bought
  was watching, so their first comment or order also counts as a join;
- the room's viewer count over time is stored as a number (nobody's row), for everyone;
- product card opens and why a checkout failed are not stored (the live pulse hears
  them, anonymously).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from console import protocol
from console.domain.insight.events import (
    Answered,
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


class ShowReader:
    """Read-only access to the shows in a data folder."""

    def __init__(self, data_dir: Path) -> None:
        path = data_dir / DB_FILE_NAME
        if not path.exists():
            raise StoreError(
                f"There is no Shopcast data file in {data_dir}; give the folder the console "
                "uses with --data-dir."
            )
        try:
            self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
            self._db.execute("PRAGMA busy_timeout=2000")
        except sqlite3.Error as exc:
            raise StoreError(f"Cannot read the data file {path} ({exc}).") from exc

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ShowReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def shows(self) -> list[ShowSpan]:
        """Every show, oldest first."""
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
            raise StoreError("No show has gone live in this data folder yet: nothing to report.")
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
        try:
            return self._read(span)
        except sqlite3.Error as exc:
            raise StoreError(f"Cannot read show {span.id} from the data file ({exc}).") from exc

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
            "SELECT viewer_id, first_ts, last_ts FROM presence WHERE stream_id = ?", (span.id,)
        ):
            join(first, viewer, -1)
            if span.ended is not None and last < span.ended:
                events.append((last, span.end_seq + 1, Left(last, viewer)))
                watched.append((first, last))
            else:
                watched.append((first, None))

        chat: list[ChatRow] = []
        pinned: str | None = None
        deal: str | None = None
        for seq, ts, body in db.execute(
            "SELECT seq, ts, body FROM events WHERE seq > ? AND seq <= ? "
            "AND type IN ('comment', 'show', 'deal_end', 'answer') ORDER BY seq",
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
                case _:
                    pass

        orders = [
            OrderRow(oid, created, viewer, name, pid, title, qty, total, currency, bool(deal_))
            for oid, created, viewer, name, pid, title, qty, total, currency, deal_ in db.execute(
                "SELECT o.id, COALESCE(e.ts, o.created), o.viewer_id, o.name, o.product_id, "
                "o.title, o.quantity, o.total, o.currency, o.deal FROM orders o "
                "JOIN events e ON e.type = 'order' AND e.seq > ? AND e.seq <= ? "
                "AND json_extract(e.body, '$.order_id') = o.id "
                "WHERE o.status = 'paid' ORDER BY e.seq",
                bounds,
            )
        ]
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
            "SELECT viewer_id, product_id, ts FROM checkout_starts WHERE stream_id = ?",
            (span.id,),
        ):
            events.append((ts, span.end_seq, CheckoutOpened(ts, viewer, product)))

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
        buyers = {
            viewer: BuyerHistory(before, count, spent)
            for viewer, before, count, spent in db.execute(
                "SELECT viewer_id, SUM(created < ?), COUNT(*), SUM(total) FROM orders "
                "WHERE status = 'paid' AND viewer_id IN "
                "(SELECT o.viewer_id FROM orders o JOIN events e ON e.type = 'order' "
                "AND e.seq > ? AND e.seq <= ? AND json_extract(e.body, '$.order_id') = o.id) "
                "GROUP BY viewer_id",
                (span.started, *bounds),
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
