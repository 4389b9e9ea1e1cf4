"""The bus of one process: every message is a direct call to the one subscriber.

No ``await`` stands between a store commit, the publish and the Coalescer, so a client
joining between two commands sees history and live frames meet without overlap or gap
(``console.hub.room``), exactly as when the room queued its events itself. The one process
holds every lease: there is nobody to share the timers with.
"""

from __future__ import annotations

from collections.abc import Callable

from console.bus import Notice, RoomEvent, Subscriber


class LocalBus:
    """The embedded hub's bus; also the single hub of ``python -m console hub``."""

    def __init__(self) -> None:
        self._subscriber: Subscriber | None = None
        self._viewers = 0
        self._leases: set[str] = set()

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscriber = subscriber

    def publish(self, event: RoomEvent) -> None:
        if self._subscriber is not None:
            self._subscriber.on_event(event)

    def notify(self, notice: Notice) -> None:
        if self._subscriber is not None:
            self._subscriber.on_notice(notice)

    def set_viewers(self, count: int) -> None:
        self._viewers = count

    def viewers(self) -> int:
        return self._viewers

    async def hold_lease(self, name: str, on_change: Callable[[bool], None]) -> None:
        self._leases.add(name)
        on_change(True)

    def holds(self, name: str) -> bool:
        return name in self._leases

    async def start(self) -> None:
        """Nothing to connect to."""

    async def close(self) -> None:
        self._subscriber = None
        self._leases.clear()
