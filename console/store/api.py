"""The store's interface: what the hub, the room and the report may ask of the store.

Nothing above :mod:`console.store` sees a connection, a cursor or SQL: it types against
these protocols, and one SQL implementation (SQLite, the embedded default; PostgreSQL
for a cluster) satisfies them. See docs/architecture.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import msgspec

from console import protocol
from console.domain.insight.events import CheckoutDropped
from console.domain.profile import (
    Consent,
    LinkResult,
    NoteItem,
    ProfileView,
    Stream,
    TagItem,
    ViewLogEntry,
)
from console.domain.retention import Kind
from console.store.records import (
    Actor,
    AuctionEvent,
    ClaimEvent,
    ClaimMove,
    Deletion,
    GiveawayEvent,
    HeldComment,
    NewOrder,
    Published,
    Sanction,
    StaffToken,
    StoredOrder,
    VariantRow,
)

_E = TypeVar("_E", bound=protocol.RoomEvent)

if TYPE_CHECKING:
    from console.store.showlog import ShowLog, ShowSpan


class UnitOfWork(Protocol):
    """One writing transaction: the events appended in it are numbered in it, and count
    once it commits."""

    seq: int

    def add(
        self,
        kind: str,
        viewer_id: str | None,
        ts: float,
        make: Callable[[int], _E],
        audience: str | None = None,
    ) -> tuple[_E, bytes]:
        """Store the event ``make(seq)``; its stored encoding is what replays send."""
        ...


class EventLog(Protocol):
    """The room's events, numbered by seq: appended in a unit of work, replayed by seq."""

    @property
    def last_seq(self) -> int:
        """The seq of the last committed event."""
        ...

    def events(self) -> AbstractContextManager[UnitOfWork]:
        """One transaction that may append room events; seqs count only once committed."""
        ...

    def append_comment(
        self,
        viewer_id: str,
        name: str,
        role: protocol.Role,
        text: str,
        ts: float,
        owner: bool = False,
    ) -> tuple[protocol.Comment, bytes]:
        """Store a comment as a room event; return it and its encoding, both final."""
        ...

    def append_stream_state(self, live: bool, ts: float) -> tuple[protocol.StreamState, bytes]:
        """Store that the show went live or ended, as a room event."""
        ...

    def comment(self, seq: int) -> protocol.Comment | None:
        """The comment stored as event ``seq`` (to feature it on stream)."""
        ...

    def last_stream_live(self) -> bool:
        """Whether the last stored stream event says the show is live."""
        ...

    def events_after(
        self, seq: int, upto: int, limit: int, audience: str | None = None
    ) -> list[bytes]:
        """Encoded events with ``seq < n <= upto``, oldest first, at most ``limit``."""
        ...

    def recent_events(self, upto: int, limit: int, audience: str | None = None) -> list[bytes]:
        """The latest ``limit`` encoded events with ``seq <= upto``, oldest first."""
        ...


class Viewers(Protocol):
    """Who came, by their viewer id, and the staff tokens that admit the team."""

    def touch_viewer(self, viewer_id: str, name: str | None, ts: float) -> str | None:
        """Record that a viewer is here (and their name, if given); return their name."""
        ...

    def profile(self, viewer_id: str, last_comments: int = 20) -> protocol.Profile | None: ...

    def add_staff_token(
        self, token_hash: str, role: str, name: str, created: float, expires: float | None
    ) -> None: ...

    def staff_token(self, token_hash: str) -> StaffToken | None: ...


class Catalogue(Protocol):
    """The shop's products, variants and reviews as imported."""

    def has_products(self) -> bool: ...

    def replace_catalogue(self, products: Sequence[protocol.Product]) -> None:
        """Replace the whole catalogue in one transaction: all of it or none of it."""
        ...

    def catalogue(self, product_ids: Sequence[str] | None = None) -> list[protocol.Product]:
        """Every product (or those in ``product_ids``), in the shop's order."""
        ...


class Orders(Protocol):
    """Orders, stock, owners' reviews and the show state (commerce)."""

    def variant(self, sku: str) -> VariantRow | None: ...

    def stock(self, sku: str) -> int | None:
        """Units left of ``sku`` (None: no such variant); the cheap look-up a flash drop's thousand
        refused attempts need, without the product join of :meth:`variant`.
        """
        ...

    def product(self, product_id: str) -> protocol.Product | None: ...

    def resolve_product(self, product_or_sku: str) -> protocol.Product | None:
        """The product with this id, or the product that has this SKU."""
        ...

    def order_by_key(self, viewer_id: str, key: str) -> StoredOrder | None: ...

    def order_and_variant(
        self, viewer_id: str, key: str, sku: str
    ) -> tuple[StoredOrder | None, VariantRow | None]:
        """:meth:`order_by_key` and :meth:`variant` in one look-up: every buy asks both
        first, and a flash drop's refusals ask nothing else."""
        ...

    def orders(self, limit: int = 500) -> list[protocol.OrderRecord]:
        """The latest orders that were paid, newest first."""
        ...

    def reserve(self, order: NewOrder, now: float) -> tuple[protocol.Stock, bytes]:
        """Take the units off the shelf and record the order as reserved, or neither; an order
        already under the viewer's key raises :class:`DuplicateOrderError`."""
        ...

    def record_claims(
        self,
        moves: Sequence[ClaimMove],
        now: float,
        order: NewOrder | None = None,
        *,
        decided_from: int | None = None,
    ) -> list[Published]:
        """Take claimed units off the free stock, put released ones back, and log each change, all
        in one transaction: if one claim finds too little stock (a pin-buy took it meanwhile),
        nothing changes and :class:`OutOfStockError` says so. A claim event logged after
        ``decided_from`` (the last the deciding desk applied) raises :class:`StaleClaimsError`
        and nothing is written.
        """
        ...

    def claim_log(self, after: int = 0) -> list[ClaimEvent]:
        """The claim events after seq ``after``, oldest first: a restarted hub rebuilds its open
        claims, their expiries and the claims mode from them; a hub of a cluster catches up.
        """
        ...

    def auction_log(self) -> list[AuctionEvent]:
        """Every auction event in the log, oldest first: a restarted hub replays the last
        auction's decisions from them."""
        ...

    def giveaway_log(self) -> list[GiveawayEvent]:
        """Every giveaway event in the log, oldest first."""
        ...

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
        """Mark a reserved order paid and announce the sale under the buyer's chat name; one no
        longer reserved raises :class:`NotReservedError`."""
        ...

    def release(self, order_id: str, failure: str, now: float) -> tuple[protocol.Stock, bytes]:
        """A reserved order failed (payment): put its units back on the shelf."""
        ...

    def release_expired(self, now: float) -> list[tuple[protocol.Stock, bytes]]:
        """Reservations past their expiry (a payment cut off by a crash) go back on the shelf;
        the others may be paying on another hub."""
        ...

    def update_variant(
        self, sku: str, price: int | None, stock: int | None, now: float
    ) -> tuple[protocol.Stock, bytes] | None:
        """Change a variant's price and/or stock; a stock change is announced."""
        ...

    def upsert_products(self, products: Sequence[protocol.Product]) -> None:
        """Add or update products by id in one transaction; other products stay."""
        ...

    def owners(self, product_id: str) -> set[str]:
        """Viewer ids that bought (and paid for) this product."""
        ...

    def owns(self, viewer_id: str, product_id: str) -> bool: ...

    def is_buyer(self, viewer_id: str) -> bool:
        """Whether the viewer ever paid for an order here (for buyers-only chat)."""
        ...

    def has_reviewed(self, viewer_id: str, product_id: str) -> bool:
        """A review of theirs is up, or waits in the Held queue: one per owner either way."""
        ...

    def add_review(
        self, product_id: str, viewer_id: str, review: protocol.Review, now: float
    ) -> tuple[protocol.ReviewAdded, bytes]: ...

    def review(self, review_id: str) -> tuple[str, protocol.Review] | None: ...

    def save_show(self, state: protocol.ShowState, now: float) -> tuple[protocol.ShowState, bytes]:
        """Store the show's new state as an event, and as the state a restart resumes."""
        ...

    def load_show(self) -> protocol.ShowState | None: ...

    def deal_ended(
        self, product_id: str, ends: float, reason: str, now: float
    ) -> tuple[protocol.DealEnded, bytes] | None:
        """End the stored deal if it is still the one on ``product_id`` ending at
        ``ends``; None if it ended already (another hub, the host): a deal ends once."""
        ...


class Team(Protocol):
    """Staff tokens, sanctions, the mod log, held comments, room settings and questions."""

    def staff_members(self) -> list[protocol.StaffMember]:
        """Everyone invited, and the host token in use (replaced ones were never people)."""
        ...

    def is_host_token(self, staff_id: str) -> bool:
        """Whether ``staff_id`` is the host token in use (stored, unrevoked, unexpiring)."""
        ...

    def has_host_token(self) -> bool:
        """Whether any host token is in use."""
        ...

    def keep_host_token(self, token_hash: str, name: str, now: float) -> list[str]:
        """Make ``token_hash`` the one host token, storing it if new; return the ids of the host
        tokens this revoked, in one transaction.
        """
        ...

    def revoke(self, staff_id: str, now: float) -> bool:
        """Revoke the token whose id is ``staff_id``; False when there is none."""
        ...

    def sanctions(self) -> dict[str, Sanction]:
        """Every viewer with a ban or a time-out, for the hub to keep in memory."""
        ...

    def sanction(
        self,
        viewer_id: str,
        name: str,
        action: protocol.ModAction,
        until: float | None,
        actor: Actor,
        reason: str,
        now: float,
    ) -> tuple[Sanction, list[Published]]:
        """Ban, time out or lift both; stored with its mod-log entry in one transaction."""
        ...

    def delete_comment(
        self, comment: protocol.Comment, actor: Actor, reason: str, now: float
    ) -> list[Published]:
        """Hide a comment from everyone; the mod log keeps its text."""
        ...

    def is_deleted(self, seq: int) -> bool: ...

    def hold(
        self,
        viewer_id: str,
        name: str,
        role: protocol.Role,
        text: str,
        rule: str,
        reason: str,
        now: float,
        *,
        product_id: str | None = None,
        rating: int | None = None,
    ) -> list[Published]:
        """Keep a comment (or, with ``product_id``, an owner's review) for review: its author and
        staff see it, nobody else.
        """
        ...

    def refuse(
        self, viewer_id: str, name: str, text: str, reason: str, now: float
    ) -> list[Published]:
        """A comment refused for a term set to "delete": only the mod log keeps it."""
        ...

    def held(self, held_id: int) -> HeldComment | None: ...

    def waiting(self) -> list[protocol.Held]:
        """Held comments nobody has approved or denied yet, oldest first."""
        ...

    def resolve_held(
        self,
        held: HeldComment,
        approve: bool,
        actor: Actor,
        reason: str,
        now: float,
        owner: bool,
    ) -> list[Published]:
        """Publish (approve) or drop (deny) a held comment or review, with its mod-log entry."""
        ...

    def setting(self, key: str, kind: type[Any]) -> Any | None: ...

    def put_setting(
        self,
        key: str,
        value: msgspec.Struct,
        actor: Actor,
        now: float,
        action: protocol.ModAction | None = None,
        summary: str = "",
        event: protocol.Modes | None = None,
    ) -> list[Published]:
        """Store a room setting; modes and terms changes go to the mod log, canned text not."""
        ...

    def log_action(
        self,
        action: protocol.ModAction,
        actor: Actor,
        now: float,
        viewer_id: str = "",
        name: str = "",
        *,
        text: str = "",
    ) -> Published:
        """A line in the mod log for an action recorded elsewhere (a giveaway's draw)."""
        ...

    def mod_log(
        self, limit: int, action: str | None = None, viewer_id: str | None = None
    ) -> list[protocol.ModEntry]:
        """Newest first, optionally one kind of action or one viewer's."""
        ...

    def add_question(
        self, comment: protocol.Comment, group: str
    ) -> tuple[protocol.QuestionState, Published]: ...

    def reply_thread(self, comment: protocol.Comment, group: str) -> protocol.QuestionState:
        """A thread for staff's reply to a comment that was never queued as a question."""
        ...

    def update_question(
        self,
        was: protocol.QuestionState,
        now: float,
        *,
        claimed_by: str | None,
        claimed_at: float | None,
        answered_at: float | None,
        done: bool,
    ) -> tuple[protocol.QuestionState, Published]:
        """Store a change decided from ``was`` if the stored question is still as ``was``
        has it; else :class:`~console.store.records.QuestionMovedError` says how it is."""
        ...

    def question(self, question_id: int) -> protocol.QuestionState | None:
        """The question as stored now."""
        ...

    def add_answer(
        self, question: protocol.QuestionState, agent: str, text: str, private: bool, now: float
    ) -> Published: ...

    def questions(
        self, include_done: bool = False, limit: int = 1000
    ) -> list[protocol.QuestionState]:
        """Questions oldest first (the open ones, unless ``include_done``)."""
        ...

    def answered_questions(self, limit: int = 1000) -> list[protocol.QuestionState]:
        """The ``limit`` questions answered last, open or done, in the order of their first
        answers: what the agents' answer times are made of."""
        ...


class Profiles(Protocol):
    """Viewer profiles: consent, streams, presence, links, tags, notes, export, deletion."""

    def forgettable(self) -> frozenset[Kind]:
        """The kinds of the retention table this store knows how to forget."""
        ...

    def current_stream(self) -> Stream:
        """The latest stream (open or ended), or stream 0 before the first one."""
        ...

    def stream_started(self, now: float) -> Stream:
        """A new stream begins at the store's last event (the room's ``stream`` event)."""
        ...

    def stream_ended(self, now: float) -> int:
        """Close the current stream and forget what non-remembering viewers left in it."""
        ...

    def purge_session_data(self, stream_id: int) -> int:
        """Forget every non-remembering viewer's data of stream ``stream_id`` and before."""
        ...

    def sweep(self, now: float, *, live: bool) -> None:
        """Apply the retention table's time limits."""
        ...

    def sign_detached(self) -> int:
        """Sign :data:`DELETED_NAME` what older versions detached and left named."""
        ...

    def consent(self, viewer_id: str) -> Consent:
        """What the viewer chose; ``unknown`` until they choose (treated as no)."""
        ...

    def known(self, viewer_id: str) -> bool:
        """Whether the store holds anything about the viewer (a deletion has something to do): after
        a show without consent that may be only their choice, their page's key, an order or a
        sanction.
        """
        ...

    def consent_changed(self, viewer_id: str) -> float | None: ...

    def record_consent(self, viewer_id: str, consent: Consent, now: float) -> None:
        """Store the viewer's choice; saying no forgets their earlier streams at once, and whatever
        "Remember me" had let the shop record that "Only this show" never records.
        """
        ...

    def prove(
        self, viewer_id: str, key: str | None, now: float, *, first_act: bool = False
    ) -> bool | None:
        """Whether a page proves it made ``viewer_id``: None when neither it nor the store has a key
        (an old page), else whether its key is the one stored. The first key presented for an id is
        kept (the page makes the id and the key together). ``first_act``: the viewer acts for the
        first time, so no key is likely stored yet (the same answer, one round trip fewer).
        """
        ...

    def viewer_joined(self, viewer_id: str, now: float) -> None:
        """A viewer's page connected: the stream counts as attended from now."""
        ...

    def record_presence(self, viewer_id: str, seconds: float, now: float) -> None:
        """Add watched seconds to the viewer's current stream (on leave, or periodically)."""
        ...

    def watch_time(self, viewer_id: str) -> float:
        """Seconds watched in the current stream."""
        ...

    def record_product_view(self, viewer_ids: Iterable[str], product_id: str, now: float) -> None:
        """The viewers present when ``product_id`` was pinned (once per stream each)."""
        ...

    def record_audience(self, viewers: int, now: float) -> None:
        """How many watch the current stream now (a count, for the report)."""
        ...

    def record_drops(self, drops: Sequence[CheckoutDropped]) -> None:
        """Checkouts that stopped, in the current stream (facts naming nobody, for the report)."""
        ...

    def checkout_started(self, viewer_id: str, product_id: str, sku: str, now: float) -> int | None:
        """A viewer opened the checkout for ``sku``; returns the record's id, or None when their
        consent does not let the shop record browsing.
        """
        ...

    def checkout_completed(self, viewer_id: str, sku: str, order_id: str, now: float) -> bool:
        """The viewer's latest open checkout of ``sku`` became an order; False if none."""
        ...

    def link_by_email(self, viewer_id: str, email: str, now: float) -> LinkResult:
        """Link the viewer to the customer with this checkout email, with their consent."""
        ...

    def unlink(self, viewer_id: str, by: str, now: float) -> bool:
        """Undo a wrong merge: the viewer stands alone again; False if not linked."""
        ...

    def linked_ids(self, viewer_id: str) -> tuple[str, ...]:
        """The viewer ids joined to this one (itself first), or () when not linked."""
        ...

    def add_tag(self, viewer_id: str, tag: str, author: str, now: float) -> TagItem | None:
        """Tag a viewer (VIP, wholesale, press...); None when they had the tag already."""
        ...

    def remove_tag(self, viewer_id: str, tag: str) -> bool: ...

    def add_note(self, viewer_id: str, author: str, text: str, now: float) -> NoteItem:
        """A private staff note; committed before the hub acknowledges it."""
        ...

    def log_view(self, staff: str, role: str, viewer_id: str, now: float) -> ViewLogEntry:
        """Record that a staff member opened a profile (every opening, for the host)."""
        ...

    def view_log(self, limit: int = 200, viewer_id: str | None = None) -> list[ViewLogEntry]:
        """Who opened which profile when, newest first (one viewer's, if given)."""
        ...

    def assemble(
        self,
        viewer_id: str,
        *,
        pinned_product_id: str | None,
        now: float,
        present: bool = False,
    ) -> ProfileView | None:
        """Everything the side panel shows, consent applied; None for an unknown viewer (one who is
        ``present`` in the room is known, even with nothing stored).
        """
        ...

    def export(self, viewer_id: str) -> dict[str, Any]:
        """Everything held about the viewer (and the ids linked to them), JSON-able."""
        ...

    def delete(
        self, viewer_id: str, by: str, now: float, reason: str = "at the viewer's request"
    ) -> Deletion:
        """Delete the viewer (and the ids linked to them); see the module doc for what."""
        ...

    def deletions(self, limit: int = 100) -> list[dict[str, Any]]:
        """The record of deletions, newest first: when, by whom, why, whom (hashed)."""
        ...


class ShowLogReader(Protocol):
    """A finished show's records, read for the post-show report."""

    def close(self) -> None: ...

    def shows(self) -> list[ShowSpan]:
        """Every show, oldest first."""
        ...

    def show(self, show_id: int | None = None) -> ShowSpan:
        """Show ``show_id``, or the latest one."""
        ...

    def read(self, span: ShowSpan) -> ShowLog:
        """The show's events in time order and its chat, questions, orders and buyers."""
        ...


class Store(EventLog, Viewers, Catalogue, Protocol):
    """One hub's store: the event log, viewers and catalogue, and the records beside them."""

    #: Where the store keeps its files (the host token lives beside it).
    path: Path
    #: Where the data is, for a person: the file, or the database's URL (no password).
    location: str
    #: Whether other hubs may share the database (each with its own data folder).
    shared: bool
    orders: Orders
    team: Team
    profiles: Profiles

    def close(self) -> None:
        """Finish writing and let go of the database."""
        ...
