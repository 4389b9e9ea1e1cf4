"""The delay viewers see, summed up for the host: the pure rule, without a hub."""

from __future__ import annotations

import math

import pytest

from console.domain.playout import (
    MAX_DELAY_MS,
    MIN_REPORT_GAP,
    STALE_AFTER,
    PlayoutBoard,
    PlayoutError,
    PlayoutFigure,
    summarise,
)

NOW = 1_700_000_000.0


def test_the_host_reads_the_median_viewer_and_the_slowest_of_three() -> None:
    assert summarise([240.0, 150.0, 180.0]) == PlayoutFigure(viewers=3, median_ms=180, p95_ms=240)


def test_the_p95_is_a_delay_some_viewer_really_reported() -> None:
    twenty = [float(ms) for ms in range(10, 201, 10)]
    figure = summarise(twenty)
    assert figure == PlayoutFigure(viewers=20, median_ms=105, p95_ms=190)
    assert summarise([]) is None


def test_each_viewer_counts_once_with_their_latest_report() -> None:
    board = PlayoutBoard()
    assert board.report("ann", 100.0, NOW)
    assert board.report("ann", 300.0, NOW + 5)
    assert board.report("bob", 200.0, NOW + 5)
    assert board.figure(NOW + 5) == PlayoutFigure(viewers=2, median_ms=250, p95_ms=300)


def test_a_report_sent_too_soon_after_the_last_is_ignored() -> None:
    board = PlayoutBoard()
    assert board.report("ann", 100.0, NOW)
    assert not board.report("ann", 900.0, NOW + MIN_REPORT_GAP / 2)
    assert board.figure(NOW + 1) == PlayoutFigure(viewers=1, median_ms=100, p95_ms=100)


@pytest.mark.parametrize("delay", [-1.0, math.nan, math.inf, MAX_DELAY_MS + 1])
def test_a_value_that_cannot_be_a_delay_is_refused_and_changes_nothing(delay: float) -> None:
    board = PlayoutBoard()
    board.report("ann", 120.0, NOW)
    with pytest.raises(PlayoutError, match="0 to 60000 ms"):
        board.report("bob", delay, NOW)
    assert board.figure(NOW) == PlayoutFigure(viewers=1, median_ms=120, p95_ms=120)


def test_a_viewer_who_went_quiet_or_left_no_longer_counts() -> None:
    board = PlayoutBoard()
    board.report("quiet", 500.0, NOW)
    board.report("gone", 400.0, NOW + 10)
    board.report("here", 100.0, NOW + 10)
    assert board.figure(NOW + STALE_AFTER) == PlayoutFigure(3, 400, 500)
    assert board.figure(NOW + STALE_AFTER + 0.1) == PlayoutFigure(2, 250, 400)
    board.forget("gone")
    assert board.figure(NOW + STALE_AFTER + 0.1) == PlayoutFigure(1, 100, 100)
    assert board.figure(NOW + 10 + STALE_AFTER + 0.1) is None
