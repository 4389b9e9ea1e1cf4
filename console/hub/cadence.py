"""When the room's next frame goes out: at most one a tick, and no idle tick at a peak.

Writing a frame to 10,000 listeners takes 130-250 ms on two cores. Counting the tick from
the first event after a frame, as a plain timer does, adds that time to every event's
delay (``tests/bench/chat_fanout.py``: p99 over 500 ms at 10,000 listeners). So while
events keep coming the tick is counted from the start of the previous frame. Two rules
keep what the plain timer did well. After a quiet spell the first event still waits a
tick, so a burst (a flash drop's first moments) starts with one full frame, not a frame
for its first event alone. And after each frame the loop gets at least the room's
shortest tick to read what arrived: in a flash drop the buyers' messages wait behind
every frame (``tests/bench/flash_drop.py``: confirmations p99 44 ms with that gap,
58-65 ms without it).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class FrameClock:
    """Loop times (seconds) of the last frame, and the rule for the next one."""

    #: The room's shortest tick: the least time between the end of a frame and the next.
    min_gap: float
    last_end: float = float("-inf")
    next_at: float = float("-inf")

    def due(self, now: float, tick: float) -> float:
        """When the frame for an event published at ``now`` (none pending) goes out."""
        if now - self.last_end >= tick:
            return now + tick
        return max(now, self.next_at)

    def sent(self, start: float, end: float, tick: float) -> None:
        """A frame was written to everyone from ``start`` to ``end``."""
        self.last_end = end
        self.next_at = max(start + tick, end + self.min_gap)
