"""Viewer profiles: consent, streams, presence, identity links, staff tags and notes, the
staff view log, export and deletion, in the same SQLite file as the room.

The side panel is assembled from the room's own tables (comments, orders, questions, the
mod log...) by per-viewer indexed queries, each capped (the latest 200 comments, plus
counts), so opening a profile costs the same for a viewer with ten events or ten
thousand; ``tests/bench/profile_open.py`` measures it.

**Streams.** A stream is one live session: :meth:`Profiles.stream_started` opens one when
the host goes live (after the room stored its ``stream`` event) and
:meth:`Profiles.stream_ended` closes it. "This stream" is the latest one, open or ended,
until the next start, so the chat after the show still belongs to the show. Before the
host ever went live, the whole run is stream 0 (:data:`NO_STREAM`).

**Consent** (the retention table is :mod:`console.domain.retention`; this module applies
it). For a viewer who did not choose ``remember``:

- never written: watch time and visits, products shown while they watched, checkouts
  started, identity links. The methods that record them ask the table first, so there
  is nothing to hide later;
- forgotten when the show ends (and, off air, an hour after it happened; and for the
  earlier streams at once when a viewer withdraws consent): their display name and
  first/last seen, staff tags and notes (the view log keeps the look without them), and
  their name wherever it appears. Their comments, questions and reviews stay as the
  show's public record, signed :data:`DELETED_NAME` without a viewer id, in the tables
  and in the stored events that replays send: exactly as a deletion signs them, so a
  deletion after the show has nothing left to find and nothing is missed;
- kept: orders (the viewer id for the table's delivery period; amounts for the books),
  moderation records on the viewer id (a ban must outlive the show, or leaving would
  lift it), the choice and the page's key.

For every viewer, remembered or not, :meth:`Profiles.sweep` blanks an order's name,
email, address and saved card once its delivery period is over.

**Deletion** at the viewer's request (:meth:`Profiles.delete`) signs their comments,
questions, reviews, moderation records and stored events :data:`DELETED_NAME` (text
kept), keeps orders with their amounts but without name, email or address, removes
everything else, and records that it happened. A sanction stays on the bare viewer id,
for the reason above.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, get_args

import msgspec

from console import protocol
from console.domain.insight.events import CheckoutDropped
from console.domain.profile import (
    ABANDON_AFTER,
    DELETED_NAME,
    NO_STREAM,
    AnswerItem,
    CheckoutItem,
    CommentItem,
    Consent,
    LinkResult,
    ModItem,
    NoteItem,
    OrderItem,
    ProductViewItem,
    ProfileRuleError,
    ProfileView,
    QuestionItem,
    ReviewItem,
    Stream,
    TagItem,
    ViewLogEntry,
    avatar_initial,
    average_order,
    checkout_state,
    clean_note,
    clean_tag,
    customer_key,
    identity_state,
    main_currency,
    remembers,
    segments,
    subject_key,
    watched_not_bought,
)
from console.domain.retention import (
    DELIVERY_SECONDS,
    OFF_AIR_SECONDS,
    Kind,
    forgotten,
    keeps_viewer_id,
    recorded,
    signed_off,
)
from console.store.records import Deletion

#: The consent choices under which a viewer's browsing (visits, watch time) is written.
_BROWSING_RECORDED: Final = tuple(c for c in get_args(Consent) if recorded("browsing", c))

#: How many of each kind of record the panel gets; counts tell how many there are.
COMMENT_LIMIT: Final = 200
SECTION_LIMIT: Final = 50
MOD_LIMIT: Final = 100
VIEW_LIMIT: Final = 500

#: Drops in one INSERT: 5 parameters each, well within either engine's limit on a
#: statement's parameters (SQLite's is 32,766).
_DROPS_PER_STATEMENT: Final = 500
#: The choices a viewer can make and the store keeps (``unknown`` is having none).
CHOSEN: Final[tuple[Consent, ...]] = ("remember", "session")
#: Where an event names the viewer's private audience; see console.store.team.
_PRIVATE_PREFIX: Final = "v:"
#: Where a viewer may have left something that the end of a show forgets: a viewer id
#: found in one of these (and not remembering) is forgotten. Staff ids never are: their
#: comments carry role "staff", and staff have no rows or events of the other kinds.
_LEFT_SOMETHING: Final = (
    "SELECT viewer_id AS v FROM comments WHERE seq > :since AND role = 'viewer' "
    "AND viewer_id != '' "
    "UNION SELECT viewer_id FROM events WHERE seq > :since AND viewer_id IS NOT NULL "
    "AND type IN ('order', 'review', 'held', 'held_resolved', 'mod', 'question', 'answer') "
    "UNION SELECT viewer_id FROM viewers "
    "UNION SELECT viewer_id FROM questions WHERE id > :since AND viewer_id != '' "
    "UNION SELECT viewer_id FROM reviews WHERE viewer_id IS NOT NULL "
    "UNION SELECT viewer_id FROM presence UNION SELECT viewer_id FROM product_views "
    "UNION SELECT viewer_id FROM checkout_starts UNION SELECT viewer_id FROM identity_links "
    "UNION SELECT viewer_id FROM staff_tags UNION SELECT viewer_id FROM staff_notes "
    "UNION SELECT viewer_id FROM profile_views WHERE viewer_id != ''"
)

if TYPE_CHECKING:
    from console.store.database import Database
    from console.store.sqlite import Store


@dataclass(frozen=True, slots=True)
class _Cut:
    """Forget what came before: events (and comments, questions) up to ``seq``, rows
    written before ``ts``. ``ts`` is infinite when everything goes."""

    seq: int
    ts: float

    @property
    def whole(self) -> bool:
        return math.isinf(self.ts)


def _marks(values: Sequence[Any]) -> str:
    # ``IN (NULL)`` matches nothing on both engines; PostgreSQL refuses ``IN ()``.
    return ",".join("?" * len(values)) or "NULL"


class Profiles:
    """The profile records; like :class:`Store`, used from the hub's loop thread only."""

    def __init__(self, store: Store) -> None:
        self._store = store
        #: Orders created before this have had their delivery data blanked already.
        self._delivery_swept_to = -math.inf
        #: Off air, what came up to this event has been forgotten already.
        self._off_air_seq = 0
        #: How each kind of the retention table is forgotten, in this order: rows first,
        #: while they still name the viewer (reviews are found by their events).
        self._forgetters: dict[Kind, Callable[[Database, str, _Cut], None]] = {
            "reviews": self._forget_reviews,
            "chat": self._forget_chat,
            "name": self._forget_name,
            "browsing": self._forget_browsing,
            "devices": self._forget_devices,
            "notes": self._forget_notes,
        }

    def forgettable(self) -> frozenset[Kind]:
        """The kinds of the retention table this store knows how to forget."""
        return frozenset(self._forgetters)

    @property
    def _db(self) -> Database:
        return self._store.db

    # ------------------------------------------------------------ streams

    def current_stream(self) -> Stream:
        """The latest stream (open or ended), or stream 0 before the first one."""
        row = self._db.execute(
            "SELECT id, started, start_seq, ended FROM streams ORDER BY id DESC LIMIT 1"
        ).fetchone()
        return Stream(*row) if row else NO_STREAM

    def stream_started(self, now: float) -> Stream:
        """A new stream begins at the store's last event (the room's ``stream`` event).

        What non-remembering viewers left since the previous stream ended (the chat
        after the show) is forgotten now, so nothing crosses into the new stream.
        """
        previous = self.current_stream()
        with self._store.db.transaction() as db:
            db.execute("UPDATE streams SET ended = ? WHERE ended IS NULL", (now,))
            new_id = db.insert(
                "INSERT INTO streams (started, start_seq) VALUES (?, ?)",
                (now, self._store.last_seq),
            )
            self._purge(db, previous.start_seq, _Cut(self._store.last_seq, math.inf))
        return Stream(new_id, now, self._store.last_seq)

    def stream_ended(self, now: float) -> int:
        """Close the current stream and forget what non-remembering viewers left in it.

        Returns how many viewers were forgotten.
        """
        stream = self.current_stream()
        with self._store.db.transaction() as db:
            db.execute("UPDATE streams SET ended = ? WHERE ended IS NULL", (now,))
            return self._purge(db, stream.start_seq, _Cut(self._store.last_seq, math.inf))

    def purge_session_data(self, stream_id: int) -> int:
        """Forget every non-remembering viewer's data of stream ``stream_id`` and before.

        Returns how many viewers were forgotten.
        """
        row = self._db.execute(
            "SELECT start_seq FROM streams WHERE id = ?", (stream_id,)
        ).fetchone()
        with self._store.db.transaction() as db:
            return self._purge(db, row[0] if row else 0, _Cut(self._store.last_seq, math.inf))

    def sweep(self, now: float, *, live: bool) -> None:
        """Apply the retention table's time limits.

        Orders past the delivery period lose their delivery data (and, for viewers who
        are not remembered, their viewer id). Off air, what non-remembering viewers
        left more than :data:`OFF_AIR_SECONDS` ago is forgotten as at the end of a show.
        The hub calls this at start and every :data:`~console.domain.retention.
        SWEEP_SECONDS`; each call looks only at orders it has not swept yet.
        """
        cutoff = now - DELIVERY_SECONDS
        with self._store.db.transaction() as db:
            if cutoff > self._delivery_swept_to:
                window = (self._delivery_swept_to, cutoff)
                db.execute(
                    "UPDATE orders SET name = '', email = '', address = '{}', "
                    "payment_token = NULL, payment_label = NULL "
                    "WHERE created >= ? AND created < ? AND (name != '' OR email != '' "
                    "OR address != '{}' OR payment_token IS NOT NULL "
                    "OR payment_label IS NOT NULL)",
                    window,
                )
                db.execute(
                    "UPDATE orders SET viewer_id = '', idempotency_key = id "
                    "WHERE created >= ? AND created < ? AND viewer_id != '' AND viewer_id "
                    "NOT IN (SELECT viewer_id FROM consent WHERE consent = 'remember')",
                    window,
                )
                self._delivery_swept_to = cutoff
            if live:
                return
            # The cut only moves forward: look for it past the last one, not from the
            # start of the show each minute.
            since = max(self.current_stream().start_seq, self._off_air_seq)
            off_air = now - OFF_AIR_SECONDS
            (seq,) = db.execute(
                "SELECT MAX(seq) FROM events WHERE seq > ? AND ts < ?", (since, off_air)
            ).fetchone()
            self._off_air_seq = since if seq is None else seq
            self._purge(db, since, _Cut(self._off_air_seq, off_air))

    def sign_detached(self) -> int:
        """Sign :data:`DELETED_NAME` what older versions detached and left named.

        Before the retention table, the end of a show took the viewer id off a
        non-remembering viewer's comments and questions but kept their display name,
        where a later deletion could not find it. Cheap once done: run at start.
        Returns how many comments it signed.
        """
        with self._store.db.transaction() as db:
            seqs = [
                r[0]
                for r in db.execute(
                    "SELECT seq FROM comments WHERE viewer_id = '' AND role = 'viewer' "
                    "AND name != ?",
                    (DELETED_NAME,),
                )
            ]
            self._unfeature(db, set(seqs), set())
            db.execute(
                "UPDATE comments SET name = ? WHERE viewer_id = '' AND role = 'viewer' "
                "AND name != ?",
                (DELETED_NAME, DELETED_NAME),
            )
            db.execute(
                "UPDATE questions SET name = ? WHERE viewer_id = '' AND name != ?",
                (DELETED_NAME, DELETED_NAME),
            )
            if not seqs:
                return 0
            found = set(seqs)
            rows = db.execute(
                "SELECT seq, type, body, audience FROM events WHERE viewer_id IS NULL "
                "AND seq >= ? AND type IN ('comment', 'question', 'answer')",
                (min(seqs),),
            ).fetchall()
            named = []
            for row in rows:
                event = msgspec.json.decode(bytes(row[2]))
                about = event.get("question", event.get("id")) if row[1] != "comment" else row[0]
                if event.get("viewer_id") == "" and about in found:
                    named.append(row)
            self._sign_events(db, named, deleted=True)
        return len(seqs)

    def _purge(self, db: Database, since_seq: int, cut: _Cut) -> int:
        """Forget, up to ``cut``, what every non-remembering viewer left since ``since_seq``
        (and any row of theirs in the tables the end of a show empties)."""
        viewers = [
            r[0]
            for r in db.execute(
                f"SELECT v FROM ({_LEFT_SOMETHING}) AS left_something WHERE v NOT IN "
                "(SELECT viewer_id FROM consent WHERE consent = 'remember')",
                {"since": since_seq},
            )
        ]
        kinds = forgotten("session")
        for viewer_id in viewers:
            self._forget(db, viewer_id, cut, kinds)
        return len(viewers)

    def _forget(self, db: Database, viewer_id: str, cut: _Cut, kinds: Collection[Kind]) -> None:
        """Forget the retention table's ``kinds`` of what the viewer left before ``cut``.

        The rows go first, while they still name the viewer; the stored events last.
        """
        for kind, forget in self._forgetters.items():
            if kind in kinds:
                forget(db, viewer_id, cut)
        if "name" in kinds:
            rows = db.execute(
                "SELECT seq, type, body, audience FROM events WHERE viewer_id = ? AND seq <= ?",
                (viewer_id, cut.seq),
            ).fetchall()
            self._sign_events(db, rows, deleted=False)

    def _forget_reviews(self, db: Database, viewer_id: str, cut: _Cut) -> None:
        where, args = "viewer_id = ?", [viewer_id]
        if not cut.whole:
            written = [
                msgspec.json.decode(bytes(body), type=protocol.ReviewAdded).review.id
                for (body,) in db.execute(
                    "SELECT body FROM events WHERE viewer_id = ? AND seq <= ? AND type = 'review'",
                    (viewer_id, cut.seq),
                )
            ]
            where += f" AND id IN ({_marks(written)})"
            args += written
        reviews = {
            (r[0], r[1])
            for r in db.execute(f"SELECT author, text FROM reviews WHERE {where}", args)
        }
        self._unfeature(db, set(), reviews)
        db.execute(
            f"UPDATE reviews SET viewer_id = NULL, author = ? WHERE {where}", (DELETED_NAME, *args)
        )

    def _forget_chat(self, db: Database, viewer_id: str, cut: _Cut) -> None:
        seqs = {
            r[0]
            for r in db.execute(
                "SELECT seq FROM comments WHERE viewer_id = ? AND seq <= ?", (viewer_id, cut.seq)
            )
        }
        self._unfeature(db, seqs, set())
        db.execute(
            "UPDATE comments SET viewer_id = '', name = ? WHERE viewer_id = ? AND seq <= ?",
            (DELETED_NAME, viewer_id, cut.seq),
        )
        db.execute(
            "UPDATE questions SET viewer_id = '', name = ? WHERE viewer_id = ? AND id <= ?",
            (DELETED_NAME, viewer_id, cut.seq),
        )

    def _forget_name(self, db: Database, viewer_id: str, cut: _Cut) -> None:
        db.execute("DELETE FROM viewers WHERE viewer_id = ? AND last_seen < ?", (viewer_id, cut.ts))
        db.execute(
            # first_seen = max(first_seen, min(last_seen, cut)), in SQL both engines read.
            "UPDATE viewers SET first_seen = CASE WHEN first_seen >= last_seen "
            "OR first_seen >= ? THEN first_seen WHEN last_seen < ? THEN last_seen ELSE ? END, "
            "comment_count = (SELECT COUNT(*) FROM comments WHERE viewer_id = ?) "
            "WHERE viewer_id = ?",
            (cut.ts, cut.ts, cut.ts, viewer_id, viewer_id),
        )
        # Moderation records stay on the viewer id (a ban holds), without the name.
        db.execute(
            "UPDATE mod_actions SET name = ? WHERE viewer_id = ? AND seq <= ? AND name != ''",
            (DELETED_NAME, viewer_id, cut.seq),
        )
        db.execute(
            "UPDATE held SET name = ? WHERE viewer_id = ? AND ts < ?",
            (DELETED_NAME, viewer_id, cut.ts),
        )

    def _forget_browsing(self, db: Database, viewer_id: str, cut: _Cut) -> None:
        # Never recorded without consent: what a withdrawn consent had let in goes whole.
        for table in ("presence", "product_views", "checkout_starts"):
            db.execute(f"DELETE FROM {table} WHERE viewer_id = ?", (viewer_id,))

    def _forget_devices(self, db: Database, viewer_id: str, cut: _Cut) -> None:
        db.execute("DELETE FROM identity_links WHERE viewer_id = ?", (viewer_id,))

    def _forget_notes(self, db: Database, viewer_id: str, cut: _Cut) -> None:
        for table in ("staff_tags", "staff_notes"):
            db.execute(f"DELETE FROM {table} WHERE viewer_id = ? AND ts < ?", (viewer_id, cut.ts))
        db.execute(
            "UPDATE profile_views SET viewer_id = '' WHERE viewer_id = ? AND ts < ?",
            (viewer_id, cut.ts),
        )

    # ------------------------------------------------------------ consent

    def consent(self, viewer_id: str) -> Consent:
        """What the viewer chose; ``unknown`` until they choose (treated as no)."""
        row = self._db.execute(
            "SELECT consent FROM consent WHERE viewer_id = ?", (viewer_id,)
        ).fetchone()
        return row[0] if row else "unknown"

    def known(self, viewer_id: str) -> bool:
        """Whether the store holds anything about the viewer (a deletion has something
        to do): after a show without consent that may be only their choice, their page's
        key, an order or a sanction."""
        return (
            self._db.execute(
                "SELECT 1 FROM viewers WHERE viewer_id = :v "
                "UNION ALL SELECT 1 FROM consent WHERE viewer_id = :v "
                "UNION ALL SELECT 1 FROM viewer_keys WHERE viewer_id = :v "
                "UNION ALL SELECT 1 FROM comments WHERE viewer_id = :v "
                "UNION ALL SELECT 1 FROM orders WHERE viewer_id = :v "
                "UNION ALL SELECT 1 FROM sanctions WHERE viewer_id = :v "
                "UNION ALL SELECT 1 FROM mod_actions WHERE viewer_id = :v "
                "UNION ALL SELECT 1 FROM held WHERE viewer_id = :v "
                "UNION ALL SELECT 1 FROM staff_notes WHERE viewer_id = :v "
                "UNION ALL SELECT 1 FROM staff_tags WHERE viewer_id = :v LIMIT 1",
                {"v": viewer_id},
            ).fetchone()
            is not None
        )

    def consent_changed(self, viewer_id: str) -> float | None:
        row = self._db.execute(
            "SELECT changed FROM consent WHERE viewer_id = ?", (viewer_id,)
        ).fetchone()
        return row[0] if row else None

    def record_consent(self, viewer_id: str, consent: Consent, now: float) -> None:
        """Store the viewer's choice; saying no forgets their earlier streams at once,
        and whatever "Remember me" had let the shop record that "Only this show" never
        records."""
        if consent not in ("remember", "session"):
            raise ProfileRuleError("A viewer chooses 'remember' or 'session'.")
        stream = self.current_stream()
        with self._store.db.transaction() as db:
            db.execute(
                "INSERT INTO consent (viewer_id, consent, changed) VALUES (?, ?, ?) "
                "ON CONFLICT (viewer_id) DO UPDATE SET consent = excluded.consent, "
                "changed = excluded.changed",
                (viewer_id, consent, now),
            )
            if not remembers(consent):
                cut = _Cut(seq=stream.start_seq, ts=stream.started)
                self._forget(db, viewer_id, cut, forgotten(consent))

    # ------------------------------------------------------------ presence and interest

    def prove(
        self, viewer_id: str, key: str | None, now: float, *, first_act: bool = False
    ) -> bool | None:
        """Whether a page proves it made ``viewer_id``: None when neither it nor the store
        has a key (an old page), else whether its key is the one stored. The first key
        presented for an id is kept (the page makes the id and the key together).

        ``first_act`` changes only the order of the look-ups, not the answer: a viewer
        acting for the first time (a flash drop's buyers) has no key stored yet, so it is
        kept first and read back only if one was there, one round trip instead of two.
        """
        if key is None:
            row = self._key_hash(viewer_id)
            return None if row is None else False
        digest = hashlib.sha256(key.encode()).hexdigest()
        row = None if first_act else self._key_hash(viewer_id)
        if row is None:
            kept = self._store.db.write(
                "INSERT INTO viewer_keys (viewer_id, key_hash, created) "
                "VALUES (?, ?, ?) ON CONFLICT DO NOTHING RETURNING viewer_id",
                (viewer_id, digest, now),
            ).fetchall()
            if kept:
                return True
            # Another page kept a key for this id first, perhaps through another hub.
            row = self._key_hash(viewer_id)
        return row is not None and hmac.compare_digest(row[0], digest)

    def _key_hash(self, viewer_id: str) -> tuple[str] | None:
        return self._db.execute(
            "SELECT key_hash FROM viewer_keys WHERE viewer_id = ?", (viewer_id,)
        ).fetchone()

    def viewer_joined(self, viewer_id: str, now: float) -> None:
        """A viewer's page connected: the stream counts as attended from now."""
        self._presence(viewer_id, 0.0, 1, now)

    def record_presence(self, viewer_id: str, seconds: float, now: float) -> None:
        """Add watched seconds to the viewer's current stream (on leave, or periodically)."""
        self._presence(viewer_id, seconds, 0, now)

    def _presence(self, viewer_id: str, seconds: float, sessions: int, now: float) -> None:
        """Visits and watch time are browsing: written only with the viewer's consent,
        which the statement reads itself (the choices that let browsing be recorded come
        from the retention rules), so it is one round trip and needs no result."""
        self._store.db.write(
            "INSERT INTO presence (viewer_id, stream_id, seconds, sessions, first_ts, "
            "last_ts) SELECT ?, COALESCE((SELECT MAX(id) FROM streams), 0), ?, ?, ?, ? "
            "WHERE COALESCE((SELECT consent FROM consent WHERE viewer_id = ?), 'unknown') "
            f"IN ({', '.join('?' for _ in _BROWSING_RECORDED)}) "
            "ON CONFLICT (viewer_id, stream_id) DO "
            "UPDATE SET seconds = presence.seconds + excluded.seconds, "
            "sessions = presence.sessions + excluded.sessions, last_ts = excluded.last_ts",
            (viewer_id, seconds, sessions, now, now, viewer_id, *_BROWSING_RECORDED),
        )

    def watch_time(self, viewer_id: str) -> float:
        """Seconds watched in the current stream."""
        row = self._db.execute(
            "SELECT seconds FROM presence WHERE viewer_id = ? AND stream_id = ?",
            (viewer_id, self.current_stream().id),
        ).fetchone()
        return row[0] if row else 0.0

    def record_audience(self, viewers: int, now: float) -> None:
        """How many watch the current stream now (a count, for the report)."""
        stream_id = self.current_stream().id
        with self._store.db.transaction() as db:
            db.execute(
                "INSERT INTO viewer_counts (stream_id, ts, viewers) VALUES (?, ?, ?)",
                (stream_id, now, viewers),
            )

    def record_drops(self, drops: Sequence[CheckoutDropped]) -> None:
        """Checkouts that stopped, in the current stream: facts about products that name
        nobody, so they are kept whatever the viewers chose (the report's funnel).

        Only drops of products in the catalogue: a page names the product of a sheet it
        closed, and whatever else it names is nothing a funnel could count. Statements of
        :data:`_DROPS_PER_STATEMENT` drops (a flash drop's refusals go together), each a
        whole change outside the writers' queue: it never waits behind the room's events,
        nor they behind it.
        """
        named = sorted({drop.product for drop in drops})
        known: set[str] = set()
        for start in range(0, len(named), _DROPS_PER_STATEMENT):
            chunk = named[start : start + _DROPS_PER_STATEMENT]
            known.update(
                pid
                for (pid,) in self._db.execute(
                    f"SELECT id FROM products WHERE id IN ({_marks(chunk)})", chunk
                )
            )
        kept = [drop for drop in drops if drop.product in known]
        if not kept:
            return
        stream_id = self.current_stream().id
        for start in range(0, len(kept), _DROPS_PER_STATEMENT):
            rows = kept[start : start + _DROPS_PER_STATEMENT]
            self._db.write(
                "INSERT INTO checkout_drops (stream_id, ts, product_id, sku, reason) VALUES "
                + ", ".join(["(?, ?, ?, ?, ?)"] * len(rows)),
                [v for d in rows for v in (stream_id, d.ts, d.product, d.sku, d.reason)],
            )

    def record_product_view(self, viewer_ids: Iterable[str], product_id: str, now: float) -> None:
        """The viewers present when ``product_id`` was pinned (once per stream each).

        Only those whose stored choice lets the shop record browsing (one indexed look-up
        each, in the same statement): for the others not a row is written. A viewer who
        has not chosen has no choice stored, and browsing is never recorded for them.
        """
        allowed = [c for c in CHOSEN if recorded("browsing", c)]
        if not allowed:
            return
        stream_id = self.current_stream().id
        with self._store.db.transaction() as db:
            db.executemany(
                "INSERT INTO product_views (viewer_id, stream_id, product_id, ts) "
                "SELECT viewer_id, ?, ?, ? FROM consent WHERE viewer_id = ? "
                f"AND consent IN ({_marks(allowed)}) "
                "ON CONFLICT (viewer_id, stream_id, product_id) DO UPDATE SET ts = excluded.ts",
                [(stream_id, product_id, now, v, *allowed) for v in viewer_ids],
            )

    def checkout_started(self, viewer_id: str, product_id: str, sku: str, now: float) -> int | None:
        """A viewer opened the checkout for ``sku``; returns the record's id, or None
        when their consent does not let the shop record browsing.

        The page asks for a quote again on every change of quantity or variant: an open
        checkout of the same ``sku`` that is not yet abandoned is the same checkout.
        """
        if not recorded("browsing", self.consent(viewer_id)):
            return None
        stream_id = self.current_stream().id
        with self._store.db.transaction() as db:
            open_row = db.execute(
                "SELECT id FROM checkout_starts WHERE viewer_id = ? AND sku = ? "
                "AND order_id IS NULL AND ts > ? ORDER BY id DESC LIMIT 1",
                (viewer_id, sku, now - ABANDON_AFTER),
            ).fetchone()
            if open_row is not None:
                db.execute("UPDATE checkout_starts SET ts = ? WHERE id = ?", (now, open_row[0]))
                return int(open_row[0])
            new_id = db.insert(
                "INSERT INTO checkout_starts (viewer_id, stream_id, product_id, sku, ts) "
                "VALUES (?, ?, ?, ?, ?)",
                (viewer_id, stream_id, product_id, sku, now),
            )
            return new_id

    def checkout_completed(self, viewer_id: str, sku: str, order_id: str, now: float) -> bool:
        """The viewer's latest open checkout of ``sku`` became an order; False if none."""
        with self._store.db.transaction() as db:
            cur = db.execute(
                "UPDATE checkout_starts SET order_id = ?, completed = ? WHERE id = ("
                "SELECT id FROM checkout_starts WHERE viewer_id = ? AND sku = ? "
                "AND order_id IS NULL ORDER BY id DESC LIMIT 1)",
                (order_id, now, viewer_id, sku),
            )
            return cur.rowcount > 0

    # ------------------------------------------------------------ identity

    def link_by_email(self, viewer_id: str, email: str, now: float) -> LinkResult:
        """Link the viewer to the customer with this checkout email, with their consent.

        A viewer who does not let the shop remember them is never linked. A link that
        staff undid (:meth:`unlink`) is not redone by the same email.
        """
        if not recorded("devices", self.consent(viewer_id)):
            return LinkResult(None, (viewer_id,), False)
        key = customer_key(email)
        with self._store.db.transaction() as db:
            row = db.execute(
                "SELECT customer, unlinked FROM identity_links WHERE viewer_id = ?",
                (viewer_id,),
            ).fetchone()
            if row is not None and row[0] == key and row[1] is not None:
                return LinkResult(None, (viewer_id,), False)
            fresh = row is None or row[0] != key
            if fresh:
                db.execute(
                    "INSERT INTO identity_links (viewer_id, customer, linked) VALUES (?, ?, ?) "
                    "ON CONFLICT (viewer_id) DO UPDATE SET customer = excluded.customer, "
                    "linked = excluded.linked, unlinked = NULL, unlinked_by = NULL",
                    (viewer_id, key, now),
                )
            group = self._group(db, viewer_id)
        return LinkResult(key, group, fresh and len(group) > 1)

    def unlink(self, viewer_id: str, by: str, now: float) -> bool:
        """Undo a wrong merge: the viewer stands alone again; False if not linked."""
        with self._store.db.transaction() as db:
            cur = db.execute(
                "UPDATE identity_links SET unlinked = ?, unlinked_by = ? "
                "WHERE viewer_id = ? AND unlinked IS NULL",
                (now, by, viewer_id),
            )
            return cur.rowcount > 0

    def linked_ids(self, viewer_id: str) -> tuple[str, ...]:
        """The viewer ids joined to this one (itself first), or () when not linked."""
        group = self._group(self._db, viewer_id)
        return group if len(group) > 1 or self._linked(viewer_id) else ()

    def _linked(self, viewer_id: str) -> bool:
        return (
            self._db.execute(
                "SELECT 1 FROM identity_links WHERE viewer_id = ? AND unlinked IS NULL",
                (viewer_id,),
            ).fetchone()
            is not None
        )

    @staticmethod
    def _group(db: Database, viewer_id: str) -> tuple[str, ...]:
        """The viewer and every remembering viewer linked to the same customer."""
        rows = db.execute(
            "SELECT l.viewer_id FROM identity_links l JOIN consent c USING (viewer_id) "
            "WHERE l.customer = (SELECT customer FROM identity_links WHERE viewer_id = ? "
            "AND unlinked IS NULL) AND l.unlinked IS NULL AND c.consent = 'remember' "
            "ORDER BY l.linked",
            (viewer_id,),
        ).fetchall()
        return (viewer_id, *(r[0] for r in rows if r[0] != viewer_id))

    # ------------------------------------------------------------ tags, notes, view log

    def add_tag(self, viewer_id: str, tag: str, author: str, now: float) -> TagItem | None:
        """Tag a viewer (VIP, wholesale, press...); None when they had the tag already."""
        tag = clean_tag(tag)
        with self._store.db.transaction() as db:
            cur = db.execute(
                "INSERT INTO staff_tags (viewer_id, tag, author, ts) VALUES (?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (viewer_id, tag, author, now),
            )
        return TagItem(tag, author, now) if cur.rowcount else None

    def remove_tag(self, viewer_id: str, tag: str) -> bool:
        with self._store.db.transaction() as db:
            cur = db.execute(
                "DELETE FROM staff_tags WHERE viewer_id = ? AND tag = ?",
                (viewer_id, " ".join(tag.split())),
            )
            return cur.rowcount > 0

    def add_note(self, viewer_id: str, author: str, text: str, now: float) -> NoteItem:
        """A private staff note; committed before the hub acknowledges it."""
        text = clean_note(text)
        with self._store.db.transaction() as db:
            new_id = db.insert(
                "INSERT INTO staff_notes (viewer_id, author, text, ts) VALUES (?, ?, ?, ?)",
                (viewer_id, author, text, now),
            )
        return NoteItem(new_id, author, text, now)

    def log_view(self, staff: str, role: str, viewer_id: str, now: float) -> ViewLogEntry:
        """Record that a staff member opened a profile (every opening, for the host)."""
        with self._store.db.transaction() as db:
            new_id = db.insert(
                "INSERT INTO profile_views (ts, staff, role, viewer_id) VALUES (?, ?, ?, ?)",
                (now, staff, role, viewer_id),
            )
        return ViewLogEntry(new_id, now, staff, role, viewer_id)

    def view_log(self, limit: int = 200, viewer_id: str | None = None) -> list[ViewLogEntry]:
        """Who opened which profile when, newest first (one viewer's, if given)."""
        where, args = ("WHERE viewer_id = ? ", (viewer_id,)) if viewer_id is not None else ("", ())
        rows = self._db.execute(
            f"SELECT id, ts, staff, role, viewer_id FROM profile_views {where}"
            "ORDER BY id DESC LIMIT ?",
            (*args, limit),
        ).fetchall()
        return [ViewLogEntry(*r) for r in rows]

    # ------------------------------------------------------------ the panel

    def assemble(
        self,
        viewer_id: str,
        *,
        pinned_product_id: str | None,
        now: float,
        present: bool = False,
    ) -> ProfileView | None:
        """Everything the side panel shows, consent applied; None for an unknown viewer
        (one who is ``present`` in the room is known, even with nothing stored).

        A remembering viewer's profile spans every stream and every linked viewer id;
        anyone else's holds the current stream only, and no browsing: the retention
        table says it is never recorded for them, and it is not read either.
        """
        db = self._db
        consent = self.consent(viewer_id)
        remembered = remembers(consent)
        browsing = recorded("browsing", consent)
        stream = self.current_stream()
        ids = self._group(db, viewer_id) if remembered else (viewer_id,)
        q = _marks(ids)
        since_seq, since_ts, since_stream = (
            (0, 0.0, 0) if remembered else (stream.start_seq, stream.started, stream.id)
        )

        person = db.execute(
            f"SELECT MIN(first_seen), MAX(last_seen) FROM viewers WHERE viewer_id IN ({q})", ids
        ).fetchone()
        name_row = db.execute(
            "SELECT name FROM viewers WHERE viewer_id = ?", (viewer_id,)
        ).fetchone()
        if name_row is None:
            # A show's start forgets a non-remembering viewer's name while they may be
            # watching still: what they said since then names them.
            latest = db.execute(
                "SELECT name, ts FROM comments WHERE viewer_id = ? AND seq > ? "
                "ORDER BY id DESC LIMIT 1",
                (viewer_id, since_seq),
            ).fetchone()
            if latest is not None:
                (first,) = db.execute(
                    "SELECT MIN(ts) FROM comments WHERE viewer_id = ? AND seq > ?",
                    (viewer_id, since_seq),
                ).fetchone()
                name_row, person = (latest[0],), (first, latest[1])
        seen = (
            db.execute(
                f"SELECT MIN(first_ts), MAX(last_ts), COUNT(*), "
                f"COALESCE(SUM(CASE WHEN stream_id = ? THEN seconds END), 0.0) "
                f"FROM presence WHERE viewer_id IN ({q}) AND stream_id >= ?",
                (stream.id, *ids, since_stream),
            ).fetchone()
            if browsing
            else (None, None, 0, 0.0)
        )
        if person[0] is None and seen[2] == 0 and not present:
            return None
        first_seen = max(
            min((x for x in (person[0], seen[0]) if x is not None), default=now), since_ts
        )
        last_seen = max((x for x in (person[1], seen[1]) if x is not None), default=now)

        # The first comment of the window, by the unique seq index: from there on the
        # per-viewer (viewer_id, id) index serves the list and both counts.
        min_id = self._first_comment_id(since_seq)
        stream_min_id = self._first_comment_id(stream.start_seq)
        comments = [
            CommentItem(seq, text, ts, seq > stream.start_seq, deleted is not None)
            for seq, text, ts, deleted in db.execute(
                f"SELECT seq, text, ts, deleted FROM comments WHERE viewer_id IN ({q}) "
                "AND id >= ? ORDER BY id DESC LIMIT ?",
                (*ids, min_id, COMMENT_LIMIT),
            )
        ]
        (comment_count,) = db.execute(
            f"SELECT COUNT(*) FROM comments WHERE viewer_id IN ({q}) AND id >= ?", (*ids, min_id)
        ).fetchone()
        (comment_count_stream,) = db.execute(
            f"SELECT COUNT(*) FROM comments WHERE viewer_id IN ({q}) AND id >= ?",
            (*ids, stream_min_id),
        ).fetchone()

        orders = [
            OrderItem(*r[:11], bool(r[11]))
            for r in db.execute(
                "SELECT id, created, product_id, sku, title, quantity, unit_price, shipping, "
                f"total, currency, status, deal FROM orders WHERE viewer_id IN ({q}) "
                "AND created >= ? ORDER BY created DESC LIMIT ?",
                (*ids, since_ts, SECTION_LIMIT),
            )
        ]
        (order_count,) = db.execute(
            f"SELECT COUNT(*) FROM orders WHERE viewer_id IN ({q}) AND created >= ?",
            (*ids, since_ts),
        ).fetchone()
        currency, paid, value = main_currency(
            db.execute(
                f"SELECT currency, COUNT(*), SUM(total) FROM orders WHERE viewer_id IN ({q}) "
                "AND created >= ? AND status = 'paid' GROUP BY currency",
                (*ids, since_ts),
            ).fetchall()
        )
        # Ownership is all-time: the chat shows the owner badge to everyone anyway.
        bought = {
            r[0]
            for r in db.execute(
                f"SELECT DISTINCT product_id FROM orders WHERE viewer_id IN ({q}) "
                "AND status = 'paid'",
                ids,
            )
        }
        views = (
            [
                ProductViewItem(*r)
                for r in db.execute(
                    "SELECT v.product_id, COALESCE(p.title, v.product_id), v.ts "
                    "FROM product_views v LEFT JOIN products p ON p.id = v.product_id "
                    f"WHERE v.viewer_id IN ({q}) AND v.stream_id >= ? ORDER BY v.ts DESC LIMIT ?",
                    (*ids, since_stream, VIEW_LIMIT),
                )
            ]
            if browsing
            else []
        )
        checkouts = (
            [
                CheckoutItem(i, p, s, ts, o, checkout_state(ts, o, now))
                for i, p, s, ts, o in db.execute(
                    "SELECT id, product_id, sku, ts, order_id FROM checkout_starts "
                    f"WHERE viewer_id IN ({q}) AND stream_id >= ? ORDER BY id DESC LIMIT ?",
                    (*ids, since_stream, SECTION_LIMIT),
                )
            ]
            if browsing
            else []
        )
        sanction = db.execute(
            f"SELECT MAX(banned), MAX(muted_until) FROM sanctions WHERE viewer_id IN ({q})", ids
        ).fetchone()
        streams_attended = seen[2]
        return ProfileView(
            viewer_id=viewer_id,
            name=name_row[0] if name_row else "",
            initial=avatar_initial(name_row[0] if name_row else ""),
            consent=consent,
            consent_changed=self.consent_changed(viewer_id),
            remembered=remembered,
            identity=identity_state(self.linked_ids(viewer_id) if remembered else ()),
            linked_viewer_ids=ids[1:],
            first_seen=first_seen,
            last_seen=last_seen,
            stream=stream,
            streams_attended=streams_attended,
            watch_seconds=seen[3],
            segments=segments(
                lifetime_value=value,
                paid_orders=paid,
                first_seen=first_seen,
                streams_attended=streams_attended,
                owns_pinned=pinned_product_id is not None and pinned_product_id in bought,
                stream_started=stream.started,
                remembered=remembered,
            ),
            comment_count_stream=comment_count_stream,
            comment_count=comment_count,
            comments=comments,
            questions=self._questions(ids, since_seq, public_only=not remembered),
            orders=orders,
            order_count=order_count,
            paid_orders=paid,
            lifetime_value=value,
            currency=currency,
            average_order=average_order(value, paid),
            watched_not_bought=watched_not_bought(views, bought)[:SECTION_LIMIT],
            checkouts=checkouts,
            reviews=self._reviews(ids, since_seq, remembered),
            moderation=[
                ModItem(*r)
                for r in db.execute(
                    "SELECT id, ts, action, actor, actor_role, text, reason, until "
                    f"FROM mod_actions WHERE viewer_id IN ({q}) AND seq > ? "
                    "ORDER BY id DESC LIMIT ?",
                    (*ids, since_seq, MOD_LIMIT),
                )
            ],
            banned=bool(sanction[0]),
            muted_until=sanction[1],
            tags=[
                TagItem(*r)
                for r in db.execute(
                    f"SELECT tag, author, ts FROM staff_tags WHERE viewer_id IN ({q}) "
                    "ORDER BY ts DESC",
                    ids,
                )
            ],
            notes=[
                NoteItem(*r)
                for r in db.execute(
                    f"SELECT id, author, text, ts FROM staff_notes WHERE viewer_id IN ({q}) "
                    "ORDER BY id DESC LIMIT ?",
                    (*ids, SECTION_LIMIT),
                )
            ],
        )

    def _first_comment_id(self, after_seq: int) -> int:
        row = self._db.execute(
            "SELECT id FROM comments WHERE seq > ? ORDER BY seq LIMIT 1", (after_seq,)
        ).fetchone()
        # No comment since: any id past the last one selects nothing.
        return row[0] if row else (1 << 62)

    def _questions(
        self, ids: tuple[str, ...], since_seq: int, *, public_only: bool
    ) -> list[QuestionItem]:
        rows = self._db.execute(
            "SELECT id, text, ts, claimed_by, done FROM questions "
            f"WHERE viewer_id IN ({_marks(ids)}) AND id > ? ORDER BY id DESC LIMIT ?",
            (*ids, since_seq, SECTION_LIMIT),
        ).fetchall()
        if not rows:
            return []
        answers: dict[int, list[AnswerItem]] = {}
        qids = [r[0] for r in rows]
        for question, agent, text, private, ts in self._db.execute(
            "SELECT question, agent, text, private, ts FROM answers "
            f"WHERE question IN ({_marks(qids)}) ORDER BY id",
            qids,
        ):
            if not (public_only and private):
                answers.setdefault(question, []).append(AnswerItem(agent, text, ts, bool(private)))
        return [
            QuestionItem(qid, text, ts, claimed_by, bool(done), tuple(answers.get(qid, ())))
            for qid, text, ts, claimed_by, done in rows
        ]

    def _reviews(self, ids: tuple[str, ...], since_seq: int, remembered: bool) -> list[ReviewItem]:
        where, args = f"viewer_id IN ({_marks(ids)})", list(ids)
        if not remembered:
            # Reviews carry only a date: the current stream's are found by their events.
            written = [
                msgspec.json.decode(bytes(body), type=protocol.ReviewAdded).review.id
                for (body,) in self._db.execute(
                    "SELECT body FROM events WHERE viewer_id = ? AND seq > ? AND type = 'review'",
                    (ids[0], since_seq),
                )
            ]
            where += f" AND id IN ({_marks(written)})"
            args += written
        return [
            ReviewItem(*r)
            for r in self._db.execute(
                f"SELECT id, product_id, rating, text, created FROM reviews WHERE {where} "
                "ORDER BY created DESC, id LIMIT ?",
                (*args, SECTION_LIMIT),
            )
        ]

    # ------------------------------------------------------------ export and deletion

    def export(self, viewer_id: str) -> dict[str, Any]:
        """Everything held about the viewer (and the ids linked to them), JSON-able.

        Not filtered by consent: this is what the store holds, which is what the
        viewer has a right to see.
        """
        ids = self._group(self._db, viewer_id)
        q = _marks(ids)
        question_ids = [
            r[0]
            for r in self._db.execute(f"SELECT id FROM questions WHERE viewer_id IN ({q})", ids)
        ]
        orders = self._rows(f"SELECT * FROM orders WHERE viewer_id IN ({q}) ORDER BY created", ids)
        for order in orders:
            order["address"] = json.loads(order["address"])
        return {
            "viewer_ids": list(ids),
            "viewers": self._rows(f"SELECT * FROM viewers WHERE viewer_id IN ({q})", ids),
            "consent": self._rows(f"SELECT * FROM consent WHERE viewer_id IN ({q})", ids),
            "identity_links": self._rows(
                f"SELECT viewer_id, linked, unlinked, unlinked_by FROM identity_links "
                f"WHERE viewer_id IN ({q})",
                ids,
            ),
            "comments": self._rows(
                f"SELECT seq, name, role, text, ts, deleted FROM comments "
                f"WHERE viewer_id IN ({q}) ORDER BY id",
                ids,
            ),
            "questions": self._rows(
                f"SELECT * FROM questions WHERE viewer_id IN ({q}) ORDER BY id", ids
            ),
            "answers": self._rows(
                f"SELECT * FROM answers WHERE question IN ({_marks(question_ids)}) ORDER BY id",
                question_ids,
            ),
            "orders": orders,
            "reviews": self._rows(f"SELECT * FROM reviews WHERE viewer_id IN ({q})", ids),
            "presence": self._rows(f"SELECT * FROM presence WHERE viewer_id IN ({q})", ids),
            "product_views": self._rows(
                f"SELECT * FROM product_views WHERE viewer_id IN ({q}) ORDER BY ts", ids
            ),
            "checkouts": self._rows(
                f"SELECT * FROM checkout_starts WHERE viewer_id IN ({q}) ORDER BY id", ids
            ),
            "moderation": self._rows(
                f"SELECT * FROM mod_actions WHERE viewer_id IN ({q}) ORDER BY id", ids
            ),
            "held": self._rows(f"SELECT * FROM held WHERE viewer_id IN ({q}) ORDER BY id", ids),
            "sanctions": self._rows(f"SELECT * FROM sanctions WHERE viewer_id IN ({q})", ids),
            "staff_tags": self._rows(f"SELECT * FROM staff_tags WHERE viewer_id IN ({q})", ids),
            "staff_notes": self._rows(
                f"SELECT * FROM staff_notes WHERE viewer_id IN ({q}) ORDER BY id", ids
            ),
            "profile_views": self._rows(
                f"SELECT * FROM profile_views WHERE viewer_id IN ({q}) ORDER BY id", ids
            ),
        }

    def _rows(self, sql: str, args: Sequence[Any]) -> list[dict[str, Any]]:
        cur = self._db.execute(sql, args)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur]

    def delete(
        self, viewer_id: str, by: str, now: float, reason: str = "at the viewer's request"
    ) -> Deletion:
        """Delete the viewer (and the ids linked to them); see the module doc for what.

        One transaction: a crash leaves the profile whole or gone, never half.
        """
        ids = self._group(self._db, viewer_id)
        q = _marks(ids)
        with self._store.db.transaction() as db:
            comment_seqs = {
                r[0] for r in db.execute(f"SELECT seq FROM comments WHERE viewer_id IN ({q})", ids)
            }
            reviews = {
                (r[0], r[1])
                for r in db.execute(
                    f"SELECT author, text FROM reviews WHERE viewer_id IN ({q})", ids
                )
            }
            order_ids = tuple(
                r[0]
                for r in db.execute(
                    f"SELECT id FROM orders WHERE viewer_id IN ({q}) ORDER BY created", ids
                )
            )
            events = self._sign_events(
                db,
                db.execute(
                    f"SELECT seq, type, body, audience FROM events WHERE viewer_id IN ({q})", ids
                ).fetchall(),
                deleted=True,
            )
            self._unfeature(db, comment_seqs, reviews)
            comments = db.execute(
                f"UPDATE comments SET viewer_id = '', name = ? WHERE viewer_id IN ({q})",
                (DELETED_NAME, *ids),
            ).rowcount
            for table in ("questions", "held", "mod_actions"):
                db.execute(
                    f"UPDATE {table} SET viewer_id = '', name = ? WHERE viewer_id IN ({q})",
                    (DELETED_NAME, *ids),
                )
            db.execute(
                f"UPDATE reviews SET viewer_id = NULL, author = ? WHERE viewer_id IN ({q})",
                (DELETED_NAME, *ids),
            )
            orders = db.execute(
                "UPDATE orders SET viewer_id = '', idempotency_key = id, name = '', "
                "email = '', address = '{}', payment_token = NULL, payment_label = NULL "
                f"WHERE viewer_id IN ({q})",
                ids,
            ).rowcount
            db.execute(f"UPDATE profile_views SET viewer_id = '' WHERE viewer_id IN ({q})", ids)
            for table in (
                "viewers",
                "consent",
                "identity_links",
                "staff_tags",
                "staff_notes",
                "presence",
                "product_views",
                "checkout_starts",
                "viewer_keys",
            ):
                db.execute(f"DELETE FROM {table} WHERE viewer_id IN ({q})", ids)
            detail = {"viewer_ids": len(ids), "comments": comments, "orders": orders}
            db.executemany(
                "INSERT INTO deletions (ts, actor, reason, subject, detail) VALUES (?, ?, ?, ?, ?)",
                [(now, by, reason, subject_key(v), json.dumps(detail)) for v in ids],
            )
        return Deletion(ids, comments, orders, events, tuple(sorted(comment_seqs)), order_ids)

    def deletions(self, limit: int = 100) -> list[dict[str, Any]]:
        """The record of deletions, newest first: when, by whom, why, whom (hashed)."""
        return self._rows(
            "SELECT id, ts, actor, reason, subject, detail FROM deletions ORDER BY id DESC LIMIT ?",
            (limit,),
        )

    # ------------------------------------------------------------ stored events

    @staticmethod
    def _sign_events(
        db: Database,
        rows: Iterable[tuple[int, str, bytes, str | None]],
        *,
        deleted: bool,
    ) -> int:
        """Rewrite stored events (``seq, type, body, audience`` rows) as
        :func:`~console.domain.retention.signed_off` says, so replays no longer name
        the viewer. An event that no longer belongs to them leaves their private
        audience too: private to nobody. Returns how many were rewritten.
        """
        count = 0
        for seq, kind, body, audience in rows:
            event = signed_off(kind, msgspec.json.decode(bytes(body)), deleted=deleted)
            if keeps_viewer_id(kind, deleted=deleted):
                db.execute(
                    "UPDATE events SET body = ? WHERE seq = ?", (msgspec.json.encode(event), seq)
                )
            else:
                if audience is not None and audience.startswith(_PRIVATE_PREFIX):
                    audience = _PRIVATE_PREFIX
                db.execute(
                    "UPDATE events SET body = ?, viewer_id = NULL, audience = ? WHERE seq = ?",
                    (msgspec.json.encode(event), audience, seq),
                )
            count += 1
        return count

    @staticmethod
    def _unfeature(db: Database, comment_seqs: set[int], reviews: set[tuple[str, str]]) -> None:
        """Stored show states that put the deleted viewer's words on stream lose the name."""
        rows = db.execute(
            "SELECT seq, body FROM events WHERE type = 'show' AND CAST(body AS TEXT) LIKE ?",
            ('%"featured":%',),
        ).fetchall()
        current = db.execute("SELECT body FROM show_state WHERE id = 1").fetchone()
        for seq, body in [*rows, *([(None, current[0])] if current else [])]:
            show = msgspec.json.decode(bytes(body), type=protocol.ShowState)
            featured = show.featured
            if featured is None or not (
                featured.comment_seq in comment_seqs
                or (featured.kind == "review" and (featured.author, featured.text) in reviews)
            ):
                continue
            featured.author = DELETED_NAME
            featured.owner = False
            encoded = protocol.encode(show)
            if seq is None:
                db.execute("UPDATE show_state SET body = ? WHERE id = 1", (encoded,))
            else:
                db.execute("UPDATE events SET body = ? WHERE seq = ?", (encoded, seq))
