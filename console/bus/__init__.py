"""The event bus: how a room's committed events and session-bound notices reach every hub.

Every hub fans out from the bus, the writer included: after a store commit the writer
publishes ``(seq, audience, body)``, and each hub's subscriber feeds its Coalescer in seq
order. :class:`~console.bus.local.LocalBus` is one process (delivery is a plain call, so
the embedded hub keeps its ordering guarantee); :class:`~console.bus.redis.RedisBus`
carries the same messages between hub processes (``docs/architecture.md``). The bus also
keeps the show's leases: the timers that change shared state run in the one hub holding
the ``timers`` lease (:mod:`console.bus.lease`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

#: What a notice asks of the hub that holds the session: send a frame to a viewer's pages,
#: close the consoles of a revoked staff token, close the pages of a deleted viewer.
NoticeKind = Literal["tell_viewer", "revoke_staff", "forget_viewer"]


@dataclass(frozen=True, slots=True)
class RoomEvent:
    """One committed room event, as the store keeps it: its seq, audience and encoding."""

    seq: int
    body: bytes
    audience: str | None = None


@dataclass(frozen=True, slots=True)
class Notice:
    """A message for particular sessions, acted on by whichever hub holds them.

    ``target`` is a viewer id or a staff id; ``body`` the encoded server message to send
    (``tell_viewer``) or the words the closed client is given.
    """

    kind: NoticeKind
    target: str
    body: bytes


class Subscriber(Protocol):
    """A hub's side of the bus (the room's fan-out)."""

    def on_event(self, event: RoomEvent) -> None:
        """A committed event; at least once, normally in seq order."""

    def on_resync(self) -> None:
        """Messages may have been missed (a new or restored link): fill from the log."""

    def on_notice(self, notice: Notice) -> None:
        """A notice for sessions this hub may hold."""

    def on_viewers(self) -> None:
        """The viewer count summed over hubs may have changed."""


class EventBus(Protocol):
    """Publishing after commit, and one subscriber per hub."""

    def subscribe(self, subscriber: Subscriber) -> None: ...

    def publish(self, event: RoomEvent) -> None:
        """Send a committed event to every hub; call in seq order, never before commit."""

    def notify(self, notice: Notice) -> None:
        """Send a notice to every hub (the one holding the session acts on it)."""

    def set_viewers(self, count: int) -> None:
        """This hub's viewer count, for the room's total."""

    def viewers(self) -> int:
        """The room's viewer count: the sum over the hubs that refreshed theirs lately."""

    async def hold_lease(self, name: str, on_change: Callable[[bool], None]) -> None:
        """Compete for the named lease while the bus is open (call after :meth:`start`).

        The first attempt is made before this returns; ``on_change(True)`` when this hub
        takes the lease, ``on_change(False)`` when it may have lost it. :meth:`close`
        gives a held lease back, so another hub takes it without waiting for the ttl.
        """

    def holds(self, name: str) -> bool:
        """Whether this hub holds the named lease now."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...
