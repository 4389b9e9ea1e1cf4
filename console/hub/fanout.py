"""Coalescing of room events into frames, one frame per tick, encoded once for everyone.

At a show's peak a room has thousands of listeners and tens to hundreds of events per
second. Sending each event to each listener costs one write per event per listener;
gathering the events of a short tick into one JSON array costs one write per tick per
listener, and the array is built once, whatever the number of listeners. This module
holds only that rule; the hub decides when a tick ends and who receives the frame.
"""

from __future__ import annotations

import enum
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

import msgspec

from console import protocol
from console.bus import RoomEvent
from console.store.records import STAFF_AUDIENCE, audience_viewer, private_audience

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


class Offer(enum.Enum):
    """What :meth:`Coalescer.add` did with an event."""

    QUEUED = "queued"
    #: Already queued or sent (the bus delivers at least once): dropped.
    DUPLICATE = "duplicate"
    #: Events before it are missing: nothing queued; fill from the log, then offer again.
    GAP = "gap"


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

    @property
    def last_seq(self) -> int:
        """The seq of the last event queued or handed out."""
        return self._last_seq

    def add(self, seq: int, encoded: bytes, audience: str | None = EVERYONE) -> Offer:
        """Queue the event that follows the last one; drop one already had; report a gap.

        Frames carry each seq once and in order, whatever the bus delivers twice.
        """
        if seq <= self._last_seq:
            return Offer.DUPLICATE
        if seq != self._last_seq + 1:
            return Offer.GAP
        self._pending.append((encoded, audience))
        self._restricted = self._restricted or audience is not EVERYONE
        self._last_seq = seq
        return Offer.QUEUED

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


class _Seq(msgspec.Struct):
    seq: int


_seq_of = msgspec.json.Decoder(_Seq).decode
#: A viewer audience nobody has (no viewer id holds a space; PostgreSQL text holds no NUL):
#: asking the log for it returns only public events.
_NOBODY = private_audience(" ")


def events_from_log(
    events_after: Callable[[int, int, int, str | None], list[bytes]], after: int, limit: int
) -> list[RoomEvent]:
    """The log's events after ``after`` with their seqs and audiences, for a gap.

    The store hands out bodies for an audience, not each event's audience: public events
    are the ones a viewer with no private events gets; any other goes to staff only
    (a viewer's own private event reaches them when their page resumes with ``since``).
    """
    everything = events_after(after, sys.maxsize, limit, None)
    if not everything:
        return []
    last = _seq_of(everything[-1]).seq
    public = {_seq_of(b).seq for b in events_after(after, last, limit, _NOBODY)}
    events = []
    for body in everything:
        seq = _seq_of(body).seq
        events.append(RoomEvent(seq, body, EVERYONE if seq in public else STAFF))
    return events


class Feed:
    """One hub's bus subscriber for room events: the Coalescer in seq order, gaps filled.

    A gap (a seq skipped, a link to the bus restored) is filled from the event log,
    exactly as a viewer resuming with ``since`` is; whatever the bus then delivers again
    is dropped by the Coalescer.
    """

    #: Events one fill reads at most; a longer gap is read in several.
    FILL_BATCH = 5000

    def __init__(
        self,
        coalescer: Coalescer,
        backfill: Callable[[int, int], list[RoomEvent]],
        queued: Callable[[], None],
        *,
        follow: Callable[[RoomEvent], None] | None = None,
    ) -> None:
        """``backfill(after, limit)`` reads the log; ``queued()`` is told an event waits;
        ``follow(event)`` gets each event queued, in seq order, once (a replica folds it)."""
        self._coalescer = coalescer
        self._backfill = backfill
        self._queued = queued
        self._follow = follow

    def event(self, event: RoomEvent) -> None:
        offer = self._coalescer.add(event.seq, event.body, event.audience)
        if offer is Offer.GAP:
            self.fill()
            offer = self._coalescer.add(event.seq, event.body, event.audience)
        if offer is Offer.QUEUED:
            self._taken(event)
            self._queued()

    def fill(self) -> None:
        """Queue every event the log has after the last one queued."""
        added = False
        while True:
            before = self._coalescer.last_seq
            events = self._backfill(before, self.FILL_BATCH)
            for e in events:
                if self._coalescer.add(e.seq, e.body, e.audience) is Offer.QUEUED:
                    self._taken(e)
                    added = True
            if len(events) < self.FILL_BATCH or self._coalescer.last_seq == before:
                break
        if added:
            self._queued()

    def _taken(self, event: RoomEvent) -> None:
        if self._follow is not None:
            self._follow(event)
