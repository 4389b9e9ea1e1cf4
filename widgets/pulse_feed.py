"""What the staff console hears, as the room pulse's events (``console.domain.insight``).

The rules fold plain events; the console receives protocol messages. This adapter is
the only place that knows both. It has no Qt, so the dock, its tests and the bench feed
it the same way.

What the staff console does not hear is not invented: the hub sends a viewer count, not
who joined, so the count becomes anonymous watchers (``watcher-1`` …) that join and leave
to match it. A shopper's steps (opened the product, the checkout, dropped and why, paid)
come as ``shopper`` messages under the hub's pseudonym; each pseudonym takes the place of
one of those watchers, so a shopper is one viewer of the funnel, not two, and stays
anonymous. Those messages are not replayed: a console that joins mid-show counts the
steps from then on (the report reads the whole show from the store).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal, cast

from console import protocol
from console.domain.insight.events import (
    DROP_REASONS,
    Answered,
    CheckoutDropped,
    CheckoutOpened,
    Commented,
    DealEnded,
    DealStarted,
    DropReason,
    Event,
    Joined,
    Left,
    Paid,
    Pinned,
    ProductOpened,
    Unpinned,
)
from console.domain.insight.pulse import Pulse, RoomPulse
from console.domain.profile import Consent

#: Viewer counts kept for the chart: a change a second for over five hours.
KEPT_COUNTS: Final = 20_000

MarkKind = Literal["pin", "deal"]


@dataclass(frozen=True, slots=True)
class Mark:
    """A pin or a deal on the chart; ``end`` is None while it lasts."""

    kind: MarkKind
    start: float
    text: str
    end: float | None = None


class PulseFeed:
    """Turns the hub's messages into the room pulse's events, in arrival order."""

    def __init__(self) -> None:
        self.pulse = RoomPulse()
        self.titles: dict[str, str] = {}
        self.names: dict[str, str] = {}
        #: Viewers whose choice is known; anyone else is anonymous in per-person rows.
        self.consent: dict[str, Consent] = {}
        self.counts: deque[tuple[float, int]] = deque(maxlen=KEPT_COUNTS)
        self.marks: list[Mark] = []
        self._watchers = 0
        #: Each shopper's pseudonym, and the anonymous watcher it stands for.
        self._shoppers: dict[str, str] = {}
        self._pinned: str | None = None
        self._deal: str | None = None

    def set_titles(self, titles: Iterable[tuple[str, str]]) -> None:
        """The catalogue's titles (product id, title): how questions name a product."""
        self.titles.update(titles)
        self.pulse.set_titles(self.titles)

    def feed(self, messages: Iterable[protocol.ServerMessage], now: float) -> None:
        """Fold one frame. ``now`` stamps what carries no time of its own (counts, pins)."""
        for message in messages:
            for event in self._events(message, now):
                self.pulse.add(event)

    def snapshot(self, now: float) -> Pulse:
        return self.pulse.snapshot(now, self.consent, self.names)

    def _events(self, message: protocol.ServerMessage, now: float) -> list[Event]:
        match message:
            case protocol.Comment(role="viewer"):
                self.names[message.viewer_id] = message.name
                return [
                    Commented(
                        message.ts, message.viewer_id, message.name, message.seq, message.text
                    )
                ]
            case protocol.Answer():
                return [Answered(message.ts, message.question)]
            case protocol.QuestionState(answered_at=float() as at):
                return [Answered(at, message.id)]
            case protocol.Welcome():
                return self._viewers(message.viewers, now)
            case protocol.Viewers():
                return self._viewers(message.count, now)
            case protocol.ShowState():
                return self._stage(message, now)
            case protocol.DealEnded():
                return self._end_deal(now)
            case protocol.Shopper():
                return self._shopper(message)
        return []

    def _shopper(self, step: protocol.Shopper) -> list[Event]:
        viewer = self._shoppers.get(step.shopper)
        if viewer is None:
            # The next watcher nobody stands for yet; past the count (it lags), its own.
            free = len(self._shoppers) + 1
            viewer = f"watcher-{free}" if free <= self._watchers else step.shopper
            self._shoppers[step.shopper] = viewer
        product = step.product_id
        match step.step:
            case "opened":
                return [ProductOpened(step.ts, viewer, product, reviews=step.reviews)]
            case "checkout":
                return [CheckoutOpened(step.ts, viewer, product)]
            case "dropped" if step.reason in DROP_REASONS:
                reason = cast(DropReason, step.reason)
                return [CheckoutDropped(step.ts, product, reason)]
            case "paid":
                return [Paid(step.ts, viewer, product, step.order_id or "")]
        return []

    def _viewers(self, count: int, now: float) -> list[Event]:
        events: list[Event] = []
        while self._watchers < count:
            self._watchers += 1
            events.append(Joined(now, f"watcher-{self._watchers}"))
        while self._watchers > count:
            events.append(Left(now, f"watcher-{self._watchers}"))
            self._watchers -= 1
        if not self.counts or self.counts[-1][1] != count:
            self.counts.append((now, count))
        return events

    def _stage(self, state: protocol.ShowState, now: float) -> list[Event]:
        events: list[Event] = []
        for product in (state.pinned, *state.shelf):
            if product is not None and self.titles.get(product.id) != product.title:
                self.set_titles([(product.id, product.title)])
        pinned = state.pinned.id if state.pinned is not None else None
        if pinned != self._pinned:
            self._close("pin", now)
            self._pinned = pinned
            if pinned is None:
                events.append(Unpinned(now))
            else:
                events.append(Pinned(now, pinned))
                self.marks.append(Mark("pin", now, self.titles.get(pinned, pinned)))
        deal = state.deal.product_id if state.deal is not None else None
        if deal != self._deal:
            events.extend(self._end_deal(now))
            if deal is not None:
                self._deal = deal
                events.append(DealStarted(now, deal))
                self.marks.append(Mark("deal", now, f"Deal: {self.titles.get(deal, deal)}"))
        return events

    def _end_deal(self, now: float) -> list[Event]:
        if self._deal is None:
            return []
        self._deal = None
        self._close("deal", now)
        return [DealEnded(now)]

    def _close(self, kind: MarkKind, now: float) -> None:
        for index in range(len(self.marks) - 1, -1, -1):
            mark = self.marks[index]
            if mark.kind == kind:
                if mark.end is None:
                    self.marks[index] = Mark(kind, mark.start, mark.text, now)
                return
