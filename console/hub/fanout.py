"""Coalescing of room events into frames, one frame per tick, encoded once for everyone.

At a show's peak a room has thousands of listeners and tens to hundreds of events per
second. Sending each event to each listener costs one write per event per listener;
gathering the events of a short tick into one JSON array costs one write per tick per
listener, and the array is built once, whatever the number of listeners. This module
holds only that rule; the hub decides when a tick ends and who receives the frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from console import protocol
from console.store.sqlite import STAFF_AUDIENCE, audience_viewer, private_audience

#: ``audience`` of an event every client receives; the others are the store's, which
#: keeps each event's audience for replays.
EVERYONE = None
STAFF = STAFF_AUDIENCE
private_to = private_audience


@dataclass(slots=True)
class Frames:
    """One tick's frames. Most ticks hold only public events: then all three are one.

    ``public`` goes to viewers without private events this tick (None: nothing for them),
    ``staff`` to every staff client, ``private[viewer_id]`` to that viewer's pages.
    """

    public: bytes | None
    staff: bytes
    private: dict[str, bytes] = field(default_factory=dict)

    def for_viewer(self, viewer_id: str) -> bytes | None:
        return self.private.get(viewer_id, self.public) if self.private else self.public


class Coalescer:
    """Collects encoded events between ticks and hands them out as frames."""

    __slots__ = ("_flushed_seq", "_last_seq", "_pending", "_restricted")

    def __init__(self, last_seq: int) -> None:
        self._pending: list[tuple[bytes, str | None]] = []
        self._restricted = False
        self._flushed_seq = last_seq
        self._last_seq = last_seq

    @property
    def flushed_seq(self) -> int:
        """The seq of the last event already handed out in a frame."""
        return self._flushed_seq

    @property
    def pending(self) -> bool:
        return bool(self._pending)

    def add(self, seq: int, encoded: bytes, audience: str | None = EVERYONE) -> None:
        """Queue one event; seqs must arrive in order and without gaps."""
        if seq != self._last_seq + 1:
            raise ValueError(f"event seq {seq} out of order (expected {self._last_seq + 1})")
        self._pending.append((encoded, audience))
        self._restricted = self._restricted or audience is not EVERYONE
        self._last_seq = seq

    def flush(self) -> Frames | None:
        """Return the frames of every event queued since the last flush, or None."""
        if not self._pending:
            return None
        pending, restricted = self._pending, self._restricted
        self._pending, self._restricted = [], False
        self._flushed_seq = self._last_seq
        staff = protocol.frame([body for body, _ in pending])
        if not restricted:
            return Frames(staff, staff)
        public = [body for body, audience in pending if audience is EVERYONE]
        private: dict[str, bytes] = {}
        for audience in {a for _, a in pending}:
            viewer = audience_viewer(audience)
            if viewer is not None:
                private[viewer] = protocol.frame(
                    [body for body, a in pending if a is EVERYONE or a == audience]
                )
        return Frames(protocol.frame(public) if public else None, staff, private)
