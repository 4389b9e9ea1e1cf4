"""The event bus: how a room's events and session-bound notices reach every hub.

Every hub fans out from the bus, the one that wrote an event included
(docs/architecture.md). In one process the bus is a call (:class:`LocalBus`); across
processes it is Redis (``console.bus.redis``). Delivery is at least once and in each
hub's commit order, not in seq order: the room drops what it already has and fills a gap
from the event log, as a viewer resuming with ``since`` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol


@dataclass(frozen=True, slots=True)
class BusEvent:
    """A committed room event: its seq, who may see it (the store's audience), its bytes."""

    seq: int
    audience: str | None
    body: bytes


#: What a notice asks of the hub holding the sessions it names:
#: "staff" writes ``body`` (a frame) to every staff console; "viewer" to ``target``'s
#: pages; "forget" closes ``target``'s pages (their data was deleted); "end_staff" ends
#: the consoles of staff id ``target`` with the reason in ``body``.
NoticeKind = Literal["staff", "viewer", "forget", "end_staff"]


@dataclass(frozen=True, slots=True)
class Notice:
    kind: NoticeKind
    target: str
    body: bytes = b""


class Subscriber(Protocol):
    """What the bus delivers to: the room of one hub."""

    def bus_event(self, event: BusEvent) -> None: ...
    def bus_notice(self, notice: Notice) -> None: ...
    def bus_resync(self) -> None:
        """Events may have been missed (the bus reconnected): catch up from the log."""

    def bus_presence(self) -> None:
        """Another hub's viewer count changed or lapsed."""


class EventBus(Protocol):
    def subscribe(self, subscriber: Subscriber) -> None: ...
    def publish(self, event: BusEvent) -> None:
        """Fan ``event`` out to every hub; called after the event is committed."""

    def notify(self, notice: Notice) -> None: ...
    def viewers(self, here: int) -> int:
        """The room's viewer count: ``here`` (this hub's) plus every other hub's."""

    async def start(self) -> None: ...
    async def close(self) -> None: ...


class LocalBus:
    """One hub: delivery is a direct call, so an event reaches the room's queue before
    the command that wrote it returns (the order a joining client's history relies on)."""

    def __init__(self) -> None:
        self._subscriber: Subscriber | None = None

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscriber = subscriber

    def publish(self, event: BusEvent) -> None:
        if self._subscriber is not None:
            self._subscriber.bus_event(event)

    def notify(self, notice: Notice) -> None:
        if self._subscriber is not None:
            self._subscriber.bus_notice(notice)

    def viewers(self, here: int) -> int:
        return here

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None
