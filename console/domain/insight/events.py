"""What the room pulse and the post-show report are computed from: a show's events.

Plain values, not wire messages: the live dock feeds them as the hub sees things happen,
the report reads them back from the store, and both fold them through the same rules
(:mod:`.funnel`, :mod:`.blockers`, :mod:`.alerts`), so a figure on the dock and in the
report can only differ if their events do.

``viewer`` is the viewer id the page keeps for the show. Aggregates count every viewer,
whatever they chose: a viewer who said "Only this show" still counts in the funnel. The
rules never put a viewer id or a name in an output unless the caller's consent map says
the viewer chose "Remember me" (see :func:`named`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from console.domain.profile import Consent, remembers

#: Why a viewer who opened the checkout did not pay: the card was declined, the variant
#: sold out under them, the form refused what they typed, or they closed the sheet.
DropReason = Literal["declined", "sold_out", "form_error", "closed"]
DROP_REASONS: tuple[DropReason, ...] = ("declined", "sold_out", "form_error", "closed")


@dataclass(frozen=True, slots=True)
class Joined:
    """A viewer's page connected (a second tab of the same viewer is the same viewer)."""

    ts: float
    viewer: str


@dataclass(frozen=True, slots=True)
class Left:
    """A viewer's last page closed."""

    ts: float
    viewer: str


@dataclass(frozen=True, slots=True)
class Pinned:
    """The host pinned ``product``; pinning another replaces it."""

    ts: float
    product: str


@dataclass(frozen=True, slots=True)
class Unpinned:
    ts: float


@dataclass(frozen=True, slots=True)
class DealStarted:
    ts: float
    product: str


@dataclass(frozen=True, slots=True)
class DealEnded:
    ts: float


@dataclass(frozen=True, slots=True)
class ProductOpened:
    """A viewer opened the pinned product's card, or its reviews (``reviews``)."""

    ts: float
    viewer: str
    product: str
    reviews: bool = False


@dataclass(frozen=True, slots=True)
class CheckoutOpened:
    """A viewer opened the checkout sheet for ``product`` (the page asked for a quote)."""

    ts: float
    viewer: str
    product: str


@dataclass(frozen=True, slots=True)
class CheckoutDropped:
    """A checkout did not go through, and why; the buyer may still try again and pay.

    It names nobody: a drop is kept for every viewer, whatever they chose, so it is a
    fact about the product (as the audience's size is a number), never a step of a
    person's way that a pseudonym could join to their other steps. ``sku`` is the
    variant when the hub knew it (a refused buy names it; a closed sheet only the product).
    """

    ts: float
    product: str
    reason: DropReason
    sku: str | None = None


@dataclass(frozen=True, slots=True)
class Paid:
    """An order was paid; ``order`` keys it, so a replayed event counts once."""

    ts: float
    viewer: str
    product: str
    order: str


@dataclass(frozen=True, slots=True)
class Commented:
    """A viewer's comment (the team's own are not fed); ``id`` is its event seq, which is
    also its question id."""

    ts: float
    viewer: str
    name: str
    id: int
    text: str


@dataclass(frozen=True, slots=True)
class Answered:
    """The team answered the question that comment ``question`` asked."""

    ts: float
    question: int


Event = (
    Joined
    | Left
    | Pinned
    | Unpinned
    | DealStarted
    | DealEnded
    | ProductOpened
    | CheckoutOpened
    | CheckoutDropped
    | Paid
    | Commented
    | Answered
)


@dataclass(frozen=True, slots=True)
class Person:
    """A viewer in a per-person row, only ever built by :func:`named`."""

    viewer: str
    name: str


def named(viewer: str, name: str, consent: Mapping[str, Consent]) -> Person | None:
    """The viewer as a named row, or None unless they chose "Remember me".

    A viewer missing from ``consent`` has not chosen, which counts as no: per-person
    rows follow the same rule as the profile panel (:func:`~console.domain.profile.remembers`).
    """
    if remembers(consent.get(viewer, "unknown")):
        return Person(viewer, name)
    return None
