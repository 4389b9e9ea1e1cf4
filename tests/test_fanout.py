"""Coalescing events into per-tick frames keeps order and loses nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from websockets.frames import Frame, Opcode

from console import protocol
from console.bus import RoomEvent
from console.hub.fanout import EVERYONE, STAFF, Coalescer, Feed, Offer, events_from_log, private_to
from console.hub.room import text_frame
from console.store import Store

VIEWERS = ("viewer-aa", "viewer-bb", "viewer-cc")
#: Who an event is for: everyone, staff only, or one viewer (and staff).
AUDIENCES = st.sampled_from([EVERYONE, STAFF, *(private_to(v) for v in VIEWERS)])


def _may_see(client: str, audience: str | None) -> bool:
    if client == "staff" or audience is EVERYONE:
        return True
    return audience == private_to(client)


@given(
    start=st.integers(min_value=0, max_value=10_000),
    steps=st.lists(
        st.one_of(st.just("flush"), st.tuples(st.text(max_size=20), AUDIENCES)), max_size=200
    ),
)
def test_frames_deliver_every_event_once_in_order_to_whoever_may_see_it(
    start: int, steps: list[str | tuple[str, str | None]]
) -> None:
    coalescer = Coalescer(start)
    clients = ("staff", *VIEWERS)
    sent: dict[str, list[int]] = {c: [] for c in clients}
    received: dict[str, list[int]] = {c: [] for c in clients}
    seq = start

    def flush() -> None:
        frames = coalescer.flush()
        if frames is None:
            return
        for client in clients:
            data = frames.staff if client == "staff" else frames.for_viewer(client)
            if data is not None:
                received[client].extend(m["seq"] for m in json.loads(data))

    for step in steps:
        if step == "flush":
            flush()
            assert coalescer.flushed_seq == seq
            continue
        text, audience = step
        seq += 1
        event = protocol.Comment(seq=seq, id=seq, viewer_id="v", name="n", text=text, ts=0.0)
        coalescer.add(seq, protocol.encode(event), audience)
        for client in clients:
            if _may_see(client, audience):
                sent[client].append(seq)
    flush()
    assert received == sent


def test_a_tick_of_public_events_is_one_frame_for_everyone() -> None:
    coalescer = Coalescer(0)
    coalescer.add(1, b'{"seq":1}')
    frames = coalescer.flush()
    assert frames is not None and frames.public is frames.staff
    assert frames.for_viewer("viewer-aa") is frames.staff


def test_an_event_after_a_gap_is_reported_and_not_queued() -> None:
    coalescer = Coalescer(5)
    assert coalescer.add(7, b"{}") is Offer.GAP
    assert not coalescer.pending and coalescer.last_seq == 5


def test_an_event_delivered_twice_is_framed_once() -> None:
    coalescer = Coalescer(5)
    assert coalescer.add(6, b'{"seq":6}') is Offer.QUEUED
    assert coalescer.add(6, b'{"seq":6}') is Offer.DUPLICATE
    frames = coalescer.flush()
    assert frames is not None and json.loads(frames.staff) == [{"seq": 6}]
    assert coalescer.add(6, b'{"seq":6}') is Offer.DUPLICATE
    assert coalescer.flush() is None


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 300_000])
def test_a_frame_built_once_is_byte_for_byte_what_websockets_sends(size: int) -> None:
    payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
    expected = Frame(Opcode.TEXT, payload).serialize(mask=False, extensions=[])
    assert text_frame(payload) == expected


def test_a_gap_from_the_log_never_shows_a_private_event_to_other_viewers(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "data")
    try:
        store.append_comment("viewer-aa", "Ann", "viewer", "public", 1.0)
        with store.events() as writer:
            writer.add(
                "comment_held",
                "viewer-bb",
                2.0,
                lambda seq: protocol.Comment(
                    seq=seq, id=0, viewer_id="viewer-bb", name="Bob", text="held", ts=2.0
                ),
                audience=private_to("viewer-bb"),
            )
        store.append_comment("viewer-aa", "Ann", "viewer", "public again", 3.0)
        coalescer = Coalescer(0)
        Feed(coalescer, lambda after, n: events_from_log(store.events_after, after, n), list).fill()
        frames = coalescer.flush()
        assert frames is not None
        assert [m["seq"] for m in json.loads(frames.staff)] == [1, 2, 3]
        for viewer in ("viewer-aa", "viewer-bb"):
            assert [m["seq"] for m in json.loads(frames.for_viewer(viewer) or b"[]")] == [1, 3]
    finally:
        store.close()


def test_the_replica_follows_each_event_once_in_seq_order_gaps_filled_from_the_log() -> None:
    """What a hub's moderation replica folds: the bus's events, at least once and out of
    order, come out once each and in order, the missing ones read from the log."""
    log = [RoomEvent(seq, protocol.encode(protocol.Modes(seq=seq))) for seq in range(1, 7)]
    followed: list[int] = []
    feed = Feed(
        Coalescer(0),
        lambda after, n: [e for e in log if e.seq > after][:n],
        list,
        follow=lambda event: followed.append(event.seq),
    )
    for seq in (1, 1, 4, 2, 6, 5):
        feed.event(log[seq - 1])
    assert followed == [1, 2, 3, 4, 5, 6]
