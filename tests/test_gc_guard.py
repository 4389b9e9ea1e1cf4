"""Garbage is collected on the GUI thread only, never by whichever thread allocates."""

from __future__ import annotations

import gc


def test_collector_turns_automatic_collection_off_and_collects_itself(qtbot) -> None:
    from widgets.gc_guard import GuiThreadCollector

    collector = GuiThreadCollector(interval_ms=10)
    try:
        assert not gc.isenabled()
        garbage = []
        for _ in range(gc.get_threshold()[0] * 3):
            cycle: list[object] = []
            cycle.append(cycle)
            garbage.append(cycle)
        del garbage, cycle
        assert gc.get_count()[0] > gc.get_threshold()[0]
        qtbot.waitUntil(lambda: gc.get_count()[0] < gc.get_threshold()[0], timeout=2000)
    finally:
        collector.stop()
    assert gc.isenabled()
