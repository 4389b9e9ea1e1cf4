"""When the room's next frame goes out (``console.hub.cadence``)."""

from __future__ import annotations

import pytest

from console.hub.cadence import FrameClock


def test_after_a_quiet_spell_the_first_event_waits_a_tick_to_gather_the_burst() -> None:
    clock = FrameClock(min_gap=0.03)
    assert clock.due(100.0, 0.03) == pytest.approx(100.03)
    clock.sent(100.03, 100.05, 0.03)
    assert clock.due(200.0, 0.03) == pytest.approx(200.03), "quiet again"


def test_at_a_peak_the_tick_counts_from_the_start_of_the_last_frame() -> None:
    clock = FrameClock(min_gap=0.03)
    clock.sent(10.0, 10.2, 0.3)  # 10,000 listeners: 200 ms to write, a 300 ms tick
    assert clock.due(10.21, 0.3) == pytest.approx(10.3), "not 10.21 + 0.3"


def test_a_frame_longer_than_the_tick_is_followed_by_the_shortest_gap_only() -> None:
    clock = FrameClock(min_gap=0.03)
    clock.sent(10.0, 10.5, 0.3)
    assert clock.due(10.5, 0.3) == pytest.approx(10.53)


def test_a_small_room_gets_a_tick_of_reading_between_frames() -> None:
    clock = FrameClock(min_gap=0.03)
    clock.sent(5.0, 5.02, 0.03)  # a flash drop's buyers wait behind every frame
    assert clock.due(5.025, 0.03) == pytest.approx(5.05)
