"""Coalescing of room events into frames, one frame per tick, encoded once for everyone.

At a show's peak a room has thousands of listeners and tens to hundreds of events per
second. Sending each event to each listener costs one write per event per listener;
gathering the events of a short tick into one JSON array costs one write per tick per
listener, and the array is built once, whatever the number of listeners. This module
holds only that rule; the hub decides when a tick ends and who receives the frame.
"""

from __future__ import annotations

from console import protocol


class Coalescer:
    """Collects encoded events between ticks and hands them out as one frame."""

    __slots__ = ("_flushed_seq", "_last_seq", "_pending")

    def __init__(self, last_seq: int) -> None:
        self._pending: list[bytes] = []
        self._flushed_seq = last_seq
        self._last_seq = last_seq

    @property
    def flushed_seq(self) -> int:
        """The seq of the last event already handed out in a frame."""
        return self._flushed_seq

    @property
    def pending(self) -> bool:
        return bool(self._pending)

    def add(self, seq: int, encoded: bytes) -> None:
        """Queue one event; seqs must arrive in order and without gaps."""
        if seq != self._last_seq + 1:
            raise ValueError(f"event seq {seq} out of order (expected {self._last_seq + 1})")
        self._pending.append(encoded)
        self._last_seq = seq

    def flush(self) -> bytes | None:
        """Return the frame of every event queued since the last flush, or None."""
        if not self._pending:
            return None
        data = protocol.frame(self._pending)
        self._pending = []
        self._flushed_seq = self._last_seq
        return data
