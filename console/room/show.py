"""The show as a replica: the pinned product, the shelf, the running deal and the
featured item, folded from the room's ``show`` and ``deal_end`` events.

Every change of the show stores a ``show`` event carrying the whole show, so a hub
that folds the events holds what the host set through any hub without reading the store.
A deal ended by the store (:meth:`~console.store.api.Orders.deal_ended`, a deal ends
once) stores a ``deal_end`` that takes the deal away. Each part remembers the seq of the
event that set it and gives way only to a later one, as the moderation replica does
(:mod:`console.room.state`): a hub applies its own events at once and the bus brings
them back later, and another hub's older event may arrive after a newer one.

What the show names is not the show's to keep: a product's price, stock and reviews are
the catalogue's, read when the show is drawn, so the replica holds product ids.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Final, TypeAlias

from console import protocol
from console.domain.deals import Deal
from console.domain.money import Money
from console.room.events import event_reader

#: The stored events the show folds.
ShowEvent: TypeAlias = protocol.ShowState | protocol.DealEnded


#: When a deal read from an event began: the event does not say (the wire's deal has no
#: start), only that it runs. Counting it as begun all along is all the rules need of
#: it: its price applies until its end or its last unit.
BEGUN: Final = -math.inf

_read = event_reader(protocol.ShowState, protocol.DealEnded)


@dataclass(frozen=True, slots=True)
class ShowState:
    """What is on stream that every hub holds alike; values never change in place."""

    pinned: str | None = None
    #: The line-up under the pin, in the host's order.
    shelf: tuple[str, ...] = ()
    deal: Deal | None = None
    featured: protocol.FeaturedItem | None = None
    #: The ``show`` event that set the pin, the shelf and the featured item.
    seq: int = 0
    #: The event that set the deal: a ``show``, or the ``deal_end`` that took it away.
    deal_seq: int = 0

    def apply(self, event: ShowEvent) -> ShowState:
        """The show after ``event``; itself when the event is not newer than what it
        would change."""
        match event:
            case protocol.ShowState():
                show = self
                if event.seq > self.seq:
                    show = replace(
                        show,
                        pinned=event.pinned.id if event.pinned is not None else None,
                        shelf=tuple(p.id for p in event.shelf),
                        featured=event.featured,
                        seq=event.seq,
                    )
                if event.seq > self.deal_seq:
                    show = replace(show, deal=_deal(event.deal), deal_seq=event.seq)
                return show
            case protocol.DealEnded() if event.seq > self.deal_seq:
                return replace(self, deal=None, deal_seq=event.seq)
        return self

    @classmethod
    def from_events(cls, events: Iterable[ShowEvent], start: ShowState | None = None) -> ShowState:
        """Fold ``events`` (any order, repeats allowed) onto ``start`` or an empty show."""
        return functools.reduce(ShowState.apply, events, start or cls())

    def without_deal(self) -> ShowState:
        """The show once the store said its deal is over, before that event comes.

        The seq stays: the event that ended the deal (this hub's or another's) is later
        than the one that set it, and folds onto this alike.
        """
        return replace(self, deal=None)

    def shows(self, product_id: str) -> bool:
        """Whether the product is on stream, pinned or on the shelf: a change of its
        price changes what viewers see."""
        return product_id == self.pinned or product_id in self.shelf


def show_event(body: bytes) -> ShowEvent | None:
    """The stored event ``body`` as the show folds it; ``None`` for every other kind,
    told apart by their first bytes without decoding them."""
    return _read(body)


def _deal(info: protocol.DealInfo | None) -> Deal | None:
    if info is None:
        return None
    return Deal(
        product_id=info.product_id,
        price=Money(info.price, info.currency),
        starts=BEGUN,
        ends=info.ends,
        max_units=info.max_units,
        sold=info.sold,
    )
