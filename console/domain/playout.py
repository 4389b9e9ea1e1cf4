"""The delay viewers actually see, as their pages report it, summed up for the host.

A timed deal ends by the hub's clock, but a viewer sees the host say "last ten seconds"
only when the picture reaches them. No encoder counter knows that delay: each page
measures its own (the video's jitter buffer delay plus half the round trip to whoever
sends the video, from ``RTCPeerConnection.getStats``) and reports it every
``REPORT_INTERVAL`` seconds. The host sees the median and the 95th percentile over the
latest report of each viewer still watching. The rule does not care what sends the
video (the console's own WebRTC fan-out or an SFU fed by WHIP): the page measures its
own peer connection either way.

Every rule takes the hub's clock (``now``) as an argument, as ``deals`` does.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Final

from console.errors import ShopcastError

__all__ = [
    "MAX_DELAY_MS",
    "MIN_REPORT_GAP",
    "REPORT_INTERVAL",
    "STALE_AFTER",
    "PlayoutBoard",
    "PlayoutError",
    "PlayoutFigure",
    "summarise",
]

#: Seconds between a page's reports (the viewer page's ``REPORT_INTERVAL_MS``).
REPORT_INTERVAL: Final = 5.0
#: A viewer whose page missed two reports in a row (the video stalled, the tab slept,
#: the page went away without closing its socket) no longer counts.
STALE_AFTER: Final = 3 * REPORT_INTERVAL
#: Reports of one viewer closer together than this are ignored: a second tab of the
#: same viewer, or a page that reports too eagerly, cannot weigh more than one viewer.
MIN_REPORT_GAP: Final = 1.0
#: A minute: WebRTC's jitter buffer holds a few seconds at most, so more is a broken
#: measurement, not a delay to show the host.
MAX_DELAY_MS: Final = 60_000.0


class PlayoutError(ShopcastError):
    """A page reported a delay that cannot be one; the message says what is accepted."""


@dataclass(frozen=True, slots=True)
class PlayoutFigure:
    """What the host reads: how many viewers reported, the median and the p95 in ms."""

    viewers: int
    median_ms: int
    p95_ms: int


def summarise(delays: list[float]) -> PlayoutFigure | None:
    """Median and nearest-rank 95th percentile of ``delays``; None when there are none.

    Nearest rank, so the p95 is a delay some viewer really reported: with three viewers
    it is the slowest one, which is what a host timing a deal must allow for.
    """
    if not delays:
        return None
    ordered = sorted(delays)
    rank = max(1, math.ceil(0.95 * len(ordered)))
    return PlayoutFigure(
        viewers=len(ordered),
        median_ms=round(statistics.median(ordered)),
        p95_ms=round(ordered[rank - 1]),
    )


class PlayoutBoard:
    """The latest report of each viewer, with when it came (the hub's clock)."""

    def __init__(self) -> None:
        self._latest: dict[str, tuple[float, float]] = {}

    def report(self, viewer_id: str, delay_ms: float, now: float) -> bool:
        """Keep ``delay_ms`` as the viewer's delay; False when it came too soon after the
        last one kept (and was ignored). Raises :class:`PlayoutError` for a value that
        cannot be a delay."""
        if not math.isfinite(delay_ms) or not 0 <= delay_ms <= MAX_DELAY_MS:
            raise PlayoutError(
                f"A playout delay is 0 to {MAX_DELAY_MS:.0f} ms; {delay_ms!r} ms was ignored."
            )
        previous = self._latest.get(viewer_id)
        if previous is not None and now - previous[0] < MIN_REPORT_GAP:
            return False
        self._latest[viewer_id] = (now, delay_ms)
        return True

    def forget(self, viewer_id: str) -> None:
        """The viewer stopped watching: their last report no longer counts."""
        self._latest.pop(viewer_id, None)

    def figure(self, now: float) -> PlayoutFigure | None:
        """The figure over the reports younger than ``STALE_AFTER``; older ones are dropped."""
        stale = [v for v, (when, _delay) in self._latest.items() if now - when > STALE_AFTER]
        for viewer_id in stale:
            del self._latest[viewer_id]
        return summarise([delay for _when, delay in self._latest.values()])
