"""A viewer's profile as staff see it in the side panel, and the rules behind it.

Pure: the store (:mod:`console.store.profiles`) reads the rows and hands them here; this
module decides what they mean (segment badges, lifetime value, identity state, what a
viewer's consent lets the shop keep and show) and defines the plain :class:`ProfileView`
that the hub turns into a protocol message.

Consent, in one place (the store applies it, the tests check it):

- ``remember``: the shop keeps the viewer's history across streams and devices; a
  checkout email links their viewer ids into one customer.
- ``session`` (the viewer said no) and ``unknown`` (they have not chosen yet; privacy by
  default, so it counts as no): the panel shows only the current stream's activity, and
  when the stream ends the store forgets the rest (see ``console.store.profiles``).
  Orders are not public activity, but staff see the ones placed during the current
  stream, because they handle them now ("did my order go through?") and the store keeps
  orders anyway for as long as the law requires. Earlier orders never show and never
  count towards the lifetime value or the VIP badge. The owner badge may still show:
  the chat already shows it to every viewer next to their comments.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Final, Literal

from console.errors import ShopcastError

Consent = Literal["unknown", "remember", "session"]
Segment = Literal["new", "returning", "vip", "owner"]
IdentityState = Literal["anonymous", "linked"]
CheckoutState = Literal["completed", "open", "abandoned"]

CONSENTS: Final[tuple[Consent, ...]] = ("unknown", "remember", "session")

#: Lifetime value (paid orders) from which a viewer gets the VIP badge, in minor units of
#: the shop's currency: €500.00 (or $500.00, £500.00) for a two-digit currency. A shop
#: selling in yen or dinars passes its own ``vip_threshold`` to :func:`segments`.
VIP_THRESHOLD: Final = 50_000

#: A checkout started and not finished for this long counts as abandoned (seconds).
#: Fifteen minutes is longer than any card or wallet flow takes, and short enough that
#: staff see it while the viewer is still watching.
ABANDON_AFTER: Final = 15 * 60

#: What a deleted viewer's comments, questions and reviews are signed with.
DELETED_NAME: Final = "deleted viewer"

MAX_TAG_CHARS: Final = 32
MAX_NOTE_CHARS: Final = 2000


class ProfileRuleError(ShopcastError):
    """A tag or note is not acceptable; the message says what to type instead."""


# ---------------------------------------------------------------- the panel's data


@dataclass(frozen=True, slots=True)
class Stream:
    """One live session: from ``started`` (and event ``start_seq``) to ``ended``.

    ``id`` 0 is the run before the host ever went live: the whole log counts as the
    current stream until the first start.
    """

    id: int
    started: float
    start_seq: int
    ended: float | None = None


NO_STREAM: Final = Stream(id=0, started=0.0, start_seq=0)


@dataclass(frozen=True, slots=True)
class CommentItem:
    seq: int
    text: str
    ts: float
    this_stream: bool
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class AnswerItem:
    agent: str
    text: str
    ts: float
    private: bool


@dataclass(frozen=True, slots=True)
class QuestionItem:
    id: int
    text: str
    ts: float
    claimed_by: str | None
    done: bool
    answers: tuple[AnswerItem, ...] = ()


@dataclass(frozen=True, slots=True)
class OrderItem:
    order_id: str
    ts: float
    product_id: str
    sku: str
    title: str
    quantity: int
    unit_price: int
    shipping: int
    total: int
    currency: str
    status: str
    deal: bool


@dataclass(frozen=True, slots=True)
class ReviewItem:
    id: str
    product_id: str
    rating: int
    text: str
    created: str


@dataclass(frozen=True, slots=True)
class ModItem:
    """A moderation action on the viewer: time-out, ban, hold, deletion... who and why."""

    id: int
    ts: float
    action: str
    actor: str
    actor_role: str
    text: str
    reason: str
    until: float | None


@dataclass(frozen=True, slots=True)
class ProductViewItem:
    """The viewer was present when ``product_id`` was pinned."""

    product_id: str
    title: str
    ts: float


@dataclass(frozen=True, slots=True)
class CheckoutItem:
    id: int
    product_id: str
    sku: str
    ts: float
    order_id: str | None
    state: CheckoutState


@dataclass(frozen=True, slots=True)
class TagItem:
    tag: str
    author: str
    ts: float


@dataclass(frozen=True, slots=True)
class NoteItem:
    id: int
    author: str
    text: str
    ts: float


@dataclass(frozen=True, slots=True)
class ViewLogEntry:
    """A staff member opened a viewer's profile (shown to the host)."""

    id: int
    ts: float
    staff: str
    role: str
    viewer_id: str


@dataclass(frozen=True, slots=True)
class LinkResult:
    """What a checkout email did: ``viewer_ids`` now form one customer.

    ``merged`` is true when the email joined this viewer to other ids (the hub says so
    to staff); ``customer`` is None when the viewer's consent does not allow linking.
    """

    customer: str | None
    viewer_ids: tuple[str, ...]
    merged: bool


@dataclass(slots=True)
class ProfileView:
    """Everything the side panel shows about one viewer, consent already applied.

    Lists are newest first and capped (the counts say how many there are in all).
    ``remembered`` is false when only the current stream's activity is included.
    """

    viewer_id: str
    name: str
    initial: str
    consent: Consent
    consent_changed: float | None
    remembered: bool
    identity: IdentityState
    linked_viewer_ids: tuple[str, ...]
    first_seen: float
    last_seen: float
    stream: Stream
    streams_attended: int
    watch_seconds: float
    segments: tuple[Segment, ...]
    comment_count_stream: int
    comment_count: int
    comments: list[CommentItem] = field(default_factory=list)
    questions: list[QuestionItem] = field(default_factory=list)
    orders: list[OrderItem] = field(default_factory=list)
    order_count: int = 0
    paid_orders: int = 0
    lifetime_value: int = 0
    currency: str = ""
    average_order: int | None = None
    watched_not_bought: list[ProductViewItem] = field(default_factory=list)
    checkouts: list[CheckoutItem] = field(default_factory=list)
    reviews: list[ReviewItem] = field(default_factory=list)
    moderation: list[ModItem] = field(default_factory=list)
    banned: bool = False
    muted_until: float | None = None
    tags: list[TagItem] = field(default_factory=list)
    notes: list[NoteItem] = field(default_factory=list)


# ---------------------------------------------------------------- rules


def remembers(consent: Consent) -> bool:
    """Whether the shop may keep this viewer's history beyond the current stream."""
    return consent == "remember"


def identity_state(linked_viewer_ids: Collection[str]) -> IdentityState:
    """``linked`` once a checkout email tied the viewer to a customer, else anonymous."""
    return "linked" if linked_viewer_ids else "anonymous"


def avatar_initial(name: str) -> str:
    """The letter on the avatar: the name's first letter or digit, upper case; ``?``."""
    return next((c.upper() for c in name if c.isalnum()), "?")


def average_order(lifetime_value: int, paid_orders: int) -> int | None:
    """Lifetime value per paid order in minor units, rounded half up; None without orders."""
    if paid_orders <= 0:
        return None
    return (2 * lifetime_value + paid_orders) // (2 * paid_orders)


def main_currency(totals: Iterable[tuple[str, int, int]]) -> tuple[str, int, int]:
    """From (currency, paid orders, sum) rows, the currency most orders were paid in.

    A shop sells in one currency; should a viewer have paid in two (the shop changed
    currency), money is never added across them: the lifetime value is the main one's.
    """
    best = ("", 0, 0)
    for row in totals:
        if (row[1], row[2]) > (best[1], best[2]):
            best = row
    return best


def segments(
    *,
    lifetime_value: int,
    paid_orders: int,
    first_seen: float,
    streams_attended: int,
    owns_pinned: bool,
    stream_started: float,
    remembered: bool,
    vip_threshold: int = VIP_THRESHOLD,
) -> tuple[Segment, ...]:
    """The badges, in display order.

    ``new``: first seen during the current stream and no other stream attended.
    ``returning``: seen before it, or attended more than one stream, or bought before.
    Neither badge for a viewer the shop does not remember: it cannot know, and guessing
    "new" would greet a regular as a stranger. ``vip``: lifetime value (paid orders)
    at least ``vip_threshold``. ``owner``: bought the product pinned now.
    """
    badges: list[Segment] = []
    if remembered:
        is_new = first_seen >= stream_started and streams_attended <= 1
        badges.append("new" if is_new else "returning")
    if paid_orders > 0 and lifetime_value >= vip_threshold:
        badges.append("vip")
    if owns_pinned:
        badges.append("owner")
    return tuple(badges)


def watched_not_bought(
    views: Iterable[ProductViewItem], bought: Collection[str]
) -> list[ProductViewItem]:
    """Products pinned while the viewer watched that they never paid for, newest first.

    A product pinned in several streams shows once, at its latest view.
    """
    seen: set[str] = set()
    result: list[ProductViewItem] = []
    for view in sorted(views, key=lambda v: v.ts, reverse=True):
        if view.product_id in bought or view.product_id in seen:
            continue
        seen.add(view.product_id)
        result.append(view)
    return result


def checkout_state(started: float, order_id: str | None, now: float) -> CheckoutState:
    """``completed`` with an order; ``abandoned`` after :data:`ABANDON_AFTER`; else open."""
    if order_id is not None:
        return "completed"
    return "abandoned" if now - started >= ABANDON_AFTER else "open"


def clean_tag(text: str) -> str:
    """A staff tag as stored: trimmed, inner spaces collapsed; VIP and vip are one tag."""
    tag = " ".join(text.split())
    if not tag:
        raise ProfileRuleError("A tag needs at least one letter, e.g. VIP or wholesale.")
    if len(tag) > MAX_TAG_CHARS:
        raise ProfileRuleError(f"A tag has at most {MAX_TAG_CHARS} characters; shorten it.")
    return tag


def clean_note(text: str) -> str:
    """A private staff note as stored: trimmed, not empty, not a novel."""
    note = text.strip()
    if not note:
        raise ProfileRuleError("The note is empty; type what the team should know.")
    if len(note) > MAX_NOTE_CHARS:
        raise ProfileRuleError(
            f"A note has at most {MAX_NOTE_CHARS} characters; split it or shorten it."
        )
    return note


def customer_key(email: str) -> str:
    """The key that links viewer ids: a hash of the trimmed, lower-cased checkout email.

    The link table never holds the address itself (the orders do, as the law needs), so
    deleting the orders' personal data leaves no email behind in the profile tables.
    """
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def subject_key(viewer_id: str) -> str:
    """How a deletion record names whom it deleted: a hash, never the viewer id itself."""
    return hashlib.sha256(viewer_id.encode()).hexdigest()
