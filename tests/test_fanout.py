"""Coalescing events into per-tick frames keeps order and loses nothing."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from websockets.frames import Frame, Opcode

from console import protocol
from console.hub.fanout import Coalescer
from console.hub.room import text_frame


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


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 300_000])
def test_a_frame_built_once_is_byte_for_byte_what_websockets_sends(size: int) -> None:
    payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
    expected = Frame(Opcode.TEXT, payload).serialize(mask=False, extensions=[])
    assert text_frame(payload) == expected
