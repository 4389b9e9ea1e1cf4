"""The funnel of each pinned product: who saw it, opened it, opened the checkout, paid.

A host who pinned the scarf wants to know, while it is still pinned, whether viewers
are not looking, looking and not buying, or failing at the checkout; and the team,
after the show, which product converted. :class:`FunnelBoard` folds a show's events
(:mod:`.events`) into one funnel per product, counting every viewer, and names a viewer
only when their consent allows it (:meth:`FunnelBoard.dropped`). The live dock folds what
the hub tells staff and the report what the store kept, through these same rules.

The rules, each checkable by hand:

- A product's funnel covers the time it was pinned; pinning it again adds to the same
  funnel, so a product pinned twice has one.
- **Viewers when pinned**: the viewers watching at the moment it was pinned, and those
  who joined while it was pinned.
- **Opened**: viewers who opened its card or its reviews while it was pinned.
- **Checkout**: viewers who opened its checkout while it was pinned.
- **Paid**: those viewers' paid orders of it, even after it was unpinned (a buyer who
  is still typing a card number when the host moves on is the pin's sale), and any
  paid order of it while it was pinned.
- Each step counts the viewers who got at least that far: a buyer who went straight
  from the pinned card to the checkout counts as having opened it. So every step is at
  most the one before, and the rate of a step is of the step before it.
- **Where buyers drop**: every checkout of it that stopped, by why: a declined card,
  sold out, a form error, the sheet closed. A drop names nobody (it is kept for every
  viewer, :class:`~.events.CheckoutDropped`), so it is counted as it happened, not per
  viewer: a buyer declined twice is two drops, and one declined who then paid with
  another card is still a drop (the card did fail). For the same reason it cannot be
  matched to the checkout it ended as a payment is: every drop of the product from its
  first pin on counts, a buyer still typing when the host moved on included. Checkouts
  opened and not paid without a word are the gap between the last two steps.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

from console.domain.insight.events import (
    DROP_REASONS,
    CheckoutDropped,
    CheckoutOpened,
    DropReason,
    Event,
    Joined,
    Left,
    Paid,
    Person,
    Pinned,
    ProductOpened,
    Unpinned,
    named,
)
from console.domain.profile import Consent

Step = Literal["viewers", "opened", "checkout", "paid"]
STEPS: Final[tuple[Step, ...]] = ("viewers", "opened", "checkout", "paid")
STEP_LABELS: Final[Mapping[Step, str]] = {
    "viewers": "Viewers when pinned",
    "opened": "Opened it or its reviews",
    "checkout": "Opened the checkout",
    "paid": "Paid",
}

DROP_LABELS: Final[Mapping[DropReason, str]] = {
    "declined": "card declined",
    "sold_out": "sold out",
    "form_error": "form error",
    "closed": "closed the checkout",
}


@dataclass(frozen=True, slots=True)
class FunnelStep:
    step: Step
    label: str
    viewers: int
    #: Of the step before (None for the first step, or when the step before has nobody).
    rate: float | None


@dataclass(frozen=True, slots=True)
class Funnel:
    product: str
    #: Seconds pinned, over all its pins, up to ``now``.
    pinned_seconds: float
    #: Viewers watching at the moments it was pinned (the first step adds latecomers).
    at_pin: int
    steps: tuple[FunnelStep, ...]
    #: Checkouts of it that stopped, by why (every reason, in :data:`DROP_REASONS` order).
    drops: Mapping[DropReason, int]

    def count(self, step: Step) -> int:
        return self.steps[STEPS.index(step)].viewers

    @property
    def conversion(self) -> float | None:
        """Paid over viewers when pinned."""
        first = self.count("viewers")
        return self.count("paid") / first if first else None


@dataclass(frozen=True, slots=True)
class DroppedBuyers:
    """Buyers who opened the checkout and have not paid, for an agent to help.

    Only viewers who chose "Remember me" are rows; ``others`` counts the rest. Why each
    stopped is not known per person: drops name nobody (the funnel counts them by reason).
    """

    rows: tuple[Person, ...]
    others: int


@dataclass(slots=True)
class _Tally:
    at_pin: set[str] = field(default_factory=set)
    reached: set[str] = field(default_factory=set)
    opened: set[str] = field(default_factory=set)
    checkout: set[str] = field(default_factory=set)
    paid: set[str] = field(default_factory=set)
    drops: dict[DropReason, int] = field(default_factory=lambda: dict.fromkeys(DROP_REASONS, 0))
    seconds: float = 0.0


class FunnelBoard:
    """Every pinned product's funnel, folded from a show's events in time order."""

    def __init__(self) -> None:
        self._watching: set[str] = set()
        self._tallies: dict[str, _Tally] = {}
        self._pinned: str | None = None
        self._pinned_at = 0.0
        self._orders: set[str] = set()

    @property
    def pinned(self) -> str | None:
        return self._pinned

    @property
    def watching(self) -> int:
        return len(self._watching)

    def add(self, event: Event) -> None:
        match event:
            case Joined(viewer=viewer):
                self._watching.add(viewer)
                if self._pinned is not None:
                    self._tallies[self._pinned].reached.add(viewer)
            case Left(viewer=viewer):
                self._watching.discard(viewer)
            case Pinned(ts=ts, product=product):
                self._unpin(ts)
                tally = self._tallies.setdefault(product, _Tally())
                tally.at_pin |= self._watching
                tally.reached |= self._watching
                self._pinned, self._pinned_at = product, ts
            case Unpinned(ts=ts):
                self._unpin(ts)
            case ProductOpened(viewer=viewer, product=product) if product == self._pinned:
                self._tallies[product].opened.add(viewer)
            case CheckoutOpened(viewer=viewer, product=product) if product == self._pinned:
                self._tallies[product].checkout.add(viewer)
            case CheckoutDropped(product=product, reason=reason) if product in self._tallies:
                self._tallies[product].drops[reason] += 1
            case Paid(viewer=viewer, product=product, order=order):
                tally = self._counted(viewer, product)
                if tally is not None and order not in self._orders:
                    self._orders.add(order)
                    tally.paid.add(viewer)
            case _:
                pass

    def add_all(self, events: Iterable[Event]) -> None:
        for event in events:
            self.add(event)

    def _counted(self, viewer: str, product: str) -> _Tally | None:
        """The funnel a payment belongs to, if any (see the module's rules)."""
        tally = self._tallies.get(product)
        if tally is None or (product != self._pinned and viewer not in tally.checkout):
            return None
        return tally

    def _unpin(self, ts: float) -> None:
        if self._pinned is not None:
            self._tallies[self._pinned].seconds += max(0.0, ts - self._pinned_at)
        self._pinned = None

    def products(self) -> list[str]:
        """Products that were pinned, in the order they were first pinned."""
        return list(self._tallies)

    def funnel(self, product: str, now: float) -> Funnel | None:
        tally = self._tallies.get(product)
        if tally is None:
            return None
        paid = tally.paid
        checkout = tally.checkout | paid
        opened = tally.opened | checkout
        reached = tally.reached | opened
        counts = [len(reached), len(opened), len(checkout), len(paid)]
        steps = tuple(
            FunnelStep(
                step,
                STEP_LABELS[step],
                count,
                None if index == 0 or not counts[index - 1] else count / counts[index - 1],
            )
            for index, (step, count) in enumerate(zip(STEPS, counts, strict=True))
        )
        seconds = tally.seconds
        if product == self._pinned:
            seconds += max(0.0, now - self._pinned_at)
        return Funnel(product, seconds, len(tally.at_pin), steps, dict(tally.drops))

    def funnels(self, now: float) -> list[Funnel]:
        return [f for product in self._tallies if (f := self.funnel(product, now)) is not None]

    def dropped(
        self, product: str, consent: Mapping[str, Consent], names: Mapping[str, str]
    ) -> DroppedBuyers:
        """Who stopped at the checkout: named rows only with consent."""
        tally = self._tallies.get(product)
        if tally is None:
            return DroppedBuyers((), 0)
        rows: list[Person] = []
        others = 0
        for viewer in sorted(tally.checkout - tally.paid):
            person = named(viewer, names.get(viewer, ""), consent)
            if person is None:
                others += 1
            else:
                rows.append(person)
        return DroppedBuyers(tuple(rows), others)
