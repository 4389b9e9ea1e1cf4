"""How the audience's size is kept for the report: a count, never anybody's row.

Viewer counts change many times a second at a show's busiest; the report draws minutes.
So a count is kept when it changed and :data:`SAMPLE_SECONDS` have passed since the last
one kept, and at once when it is a new peak (the report's "peak viewers" is then exact);
a change held back is kept when its time comes (:meth:`AudienceSampler.due`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

#: The shortest gap between two kept counts (a new peak aside).
SAMPLE_SECONDS: Final = 10.0


@dataclass(slots=True)
class AudienceSampler:
    """Decides which viewer counts to keep; holds no I/O and no clock of its own."""

    last_ts: float | None = None
    last_count: int | None = None
    peak: int = 0
    held: int | None = None

    def offer(self, count: int, now: float) -> int | None:
        """The room's count changed to ``count``: the count to keep now, or None."""
        if count == self.last_count:
            self.held = None
            return None
        waited = self.last_ts is None or now - self.last_ts >= SAMPLE_SECONDS
        if not waited and count <= self.peak:
            self.held = count
            return None
        self.last_ts, self.last_count, self.held = now, count, None
        self.peak = max(self.peak, count)
        return count

    def due(self, now: float) -> int | None:
        """A count held back whose time has come, or None (call it every second or so)."""
        if self.held is None:
            return None
        return self.offer(self.held, now)
