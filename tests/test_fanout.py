"""Coalescing events into per-tick frames keeps order and loses nothing."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from console import protocol
from console.hub.fanout import Coalescer


@given(
    start=st.integers(min_value=0, max_value=10_000),
    steps=st.lists(st.one_of(st.just("flush"), st.text(max_size=20)), max_size=200),
)
def test_frames_deliver_every_event_once_in_order(start: int, steps: list[str]) -> None:
    coalescer = Coalescer(start)
    sent: list[int] = []
    received: list[int] = []
    seq = start
    for step in steps:
        if step == "flush":
            frame = coalescer.flush()
            if frame is not None:
                received.extend(m["seq"] for m in json.loads(frame))
            assert coalescer.flushed_seq == seq
        else:
            seq += 1
            event = protocol.Comment(seq=seq, id=seq, viewer_id="v", name="n", text=step, ts=0.0)
            coalescer.add(seq, protocol.encode(event))
            sent.append(seq)
    frame = coalescer.flush()
    if frame is not None:
        received.extend(m["seq"] for m in json.loads(frame))
    assert received == sent


def test_an_event_out_of_order_is_refused() -> None:
    coalescer = Coalescer(5)
    with pytest.raises(ValueError, match="expected 6"):
        coalescer.add(7, b"{}")
