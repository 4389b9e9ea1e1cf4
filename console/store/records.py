"""The store's records: the values its interface takes and returns, without SQL.

They live apart from the SQL so that the hub, the room and the report can name them
through :mod:`console.store.api` without importing an engine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from console import protocol
from console.domain.reviews import published_day
from console.errors import ShopcastError


@dataclass(frozen=True, slots=True)
class StaffToken:
    role: str
    name: str
    expires: float | None
    revoked: float | None


#: ``audience`` of an event only staff receive (the mod log, questions); None is everyone.
STAFF_AUDIENCE = "staff"
_PRIVATE_PREFIX = "v:"


def private_audience(viewer_id: str) -> str:
    """``audience`` of an event for one viewer (and staff): a held comment, a private answer."""
    return _PRIVATE_PREFIX + viewer_id


def audience_viewer(audience: str | None) -> str | None:
    """The viewer a private ``audience`` is for; None for everyone's or staff events."""
    if audience is not None and audience.startswith(_PRIVATE_PREFIX):
        return audience[len(_PRIVATE_PREFIX) :]
    return None


class OutOfStockError(ShopcastError):
    """Fewer units are left than were asked for; ``left`` says how many."""

    def __init__(self, message: str, left: int) -> None:
        super().__init__(message)
        self.left = left


class DuplicateOrderError(ShopcastError):
    """The viewer already has an order under this idempotency key (perhaps placed through
    another hub): the purchase is that order, not a second one."""

    def __init__(self, viewer_id: str, key: str) -> None:
        super().__init__(f"Viewer {viewer_id} already has an order under key {key!r}.")
        self.viewer_id = viewer_id
        self.key = key


class StaleClaimsError(ShopcastError):
    """A claims decision was taken from an older log: claim event ``newer`` (another hub's)
    came after ``seen``, the last the deciding desk had applied, so nothing was written.
    The desk catches up from the log and decides again."""

    def __init__(self, seen: int, newer: int) -> None:
        super().__init__(
            f"Claim event {newer} was logged after {seen}, the last this decision was taken "
            "from; nothing was written. Catch up from the log and decide again."
        )
        self.seen = seen
        self.newer = newer


class NotReservedError(ShopcastError):
    """The order is no longer reserved: ``status`` says what it became (``paid`` through
    another hub, ``failed`` when its reservation lapsed or its payment failed)."""

    def __init__(self, order_id: str, status: str) -> None:
        super().__init__(f"Order {order_id} is {status}, no longer reserved.")
        self.order_id = order_id
        self.status = status


class QuestionMovedError(ShopcastError):
    """The stored question is no longer as the change was decided from: another hub's
    agent claimed, answered or closed it meanwhile. ``stored`` is how it stands now."""

    def __init__(self, stored: protocol.QuestionState) -> None:
        super().__init__(
            f"Question #{stored.id} changed through another hub meanwhile; look at it again."
        )
        self.stored = stored


@dataclass(frozen=True, slots=True)
class VariantRow:
    product_id: str
    sku: str
    title: str
    currency: str
    price: int
    compare_at: int | None
    stock: int
    options: dict[str, str]


@dataclass(frozen=True, slots=True)
class NewOrder:
    order_id: str
    key: str
    viewer_id: str
    name: str
    email: str
    address: dict[str, str]
    country: str
    product_id: str
    sku: str
    title: str
    quantity: int
    unit_price: int
    shipping: int
    total: int
    currency: str
    deal: bool
    #: How many payments the buyer chose (1: at once).
    plan: int = 1
    #: When the reservation lapses and its units go back on the shelf, unless paid (the
    #: shop sets it; None holds them until paid or released).
    expires: float | None = None


ClaimEvent = (
    protocol.ClaimCard
    | protocol.ClaimEnded
    | protocol.ClaimWaiting
    | protocol.ClaimWaitEnded
    | protocol.ClaimsMode
)
#: Auctions store their moves as claims do (a lot leaves the stock, or comes back).
AuctionEvent = protocol.AuctionState | protocol.AuctionBid
#: Giveaways too (no stock moves: the prize is the host's to send).
GiveawayEvent = protocol.GiveawayState | protocol.GiveawayEntry
#: A stored event: its seq, its encoding and who may see it (see ``console.hub.fanout``).
Published = tuple[int, bytes, str | None]


@dataclass(frozen=True, slots=True)
class ClaimMove:
    """One change of comment-to-claim to store: ``units`` leave the free stock (a claim,
    an offer: negative) or come back to it (an expiry, a release: positive), with the
    event that says so to the claimer."""

    product_id: str
    sku: str
    units: int
    kind: str
    viewer_id: str | None
    make: Callable[[int], ClaimEvent | AuctionEvent | GiveawayEvent]
    audience: str | None


@dataclass(frozen=True, slots=True)
class StoredOrder:
    record: protocol.OrderRecord
    payment_ref: str | None
    failure: str | None
    #: The saved card the charge returned, and what the buyer sees for it.
    payment_token: str | None = None
    payment_label: str | None = None


@dataclass(frozen=True, slots=True)
class Sanction:
    banned: bool
    muted_until: float | None
    reason: str


@dataclass(frozen=True, slots=True)
class HeldComment:
    id: int
    viewer_id: str
    name: str
    role: protocol.Role
    text: str
    status: str
    #: A held review: its product and stars (``None`` for a comment).
    product_id: str | None = None
    rating: int | None = None


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: a staff member's name and role (or the hub itself, for automatic holds)."""

    name: str
    role: protocol.Role


HUB = Actor("Shopcast", "host")


def owner_review(
    review_id: str, author: str, rating: int, text: str, now: float
) -> protocol.Review:
    """A buyer's review as the shop shows it: verified, dated the day it went up."""
    return protocol.Review(
        id=review_id,
        author=author,
        rating=rating,
        text=text,
        verified_owner=True,
        created=published_day(now),
    )


@dataclass(frozen=True, slots=True)
class Deletion:
    """What :meth:`Profiles.delete` did, for the command line and the host."""

    viewer_ids: tuple[str, ...]
    comments: int
    orders: int
    events: int
    #: Their comments' seqs and their orders' ids, for the room to re-sign what open
    #: pages and consoles show.
    comment_seqs: tuple[int, ...] = ()
    order_ids: tuple[str, ...] = ()
