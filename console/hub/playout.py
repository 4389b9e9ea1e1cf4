"""The pages' playout reports in, the figure out to the staff consoles.

The rule is ``console.domain.playout``; this shell keeps the board, turns a bad value
into a typed error for the page that sent it, and tells staff the figure when it
changed. The room calls :meth:`PlayoutDesk.announce` from its once-a-second
housekeeping, so thousands of reports make at most one staff message a second.
"""

from __future__ import annotations

from collections.abc import Callable

from console import protocol
from console.domain.playout import PlayoutBoard, PlayoutError
from console.errors import ProtocolError
from console.protocol import ErrorCode


class PlayoutDesk:
    def __init__(
        self, clock: Callable[[], float], to_staff: Callable[[protocol.Playout], None]
    ) -> None:
        self._board = PlayoutBoard()
        self._clock = clock
        self._to_staff = to_staff
        self._announced = protocol.Playout()

    def report(self, viewer_id: str, delay_ms: float) -> None:
        """Keep a page's report; ``invalid`` for a value that cannot be a delay."""
        try:
            self._board.report(viewer_id, delay_ms, self._clock())
        except PlayoutError as exc:
            raise ProtocolError(ErrorCode.INVALID, str(exc)) from None

    def left(self, viewer_id: str) -> None:
        """The viewer's last page closed: they no longer count."""
        self._board.forget(viewer_id)

    def snapshot(self) -> protocol.Playout:
        """The figure now (``viewers`` 0 when nobody reports), for a joining console."""
        figure = self._board.figure(self._clock())
        if figure is None:
            return protocol.Playout()
        return protocol.Playout(
            viewers=figure.viewers, median_ms=figure.median_ms, p95_ms=figure.p95_ms
        )

    def announce(self) -> None:
        """Tell staff the figure if it changed since the last time (stale reports drop
        out here too, so a figure whose viewers all left goes to ``viewers`` 0)."""
        current = self.snapshot()
        if current != self._announced:
            self._announced = current
            self._to_staff(current)
