"""Alerts, suggestions and the worst metric: the thresholds, and what is suggested first."""

from __future__ import annotations

from typing import Any

import pytest

from console.domain.insight.alerts import (
    AskedProduct,
    Metric,
    StageChange,
    TopQuestion,
    comment_rates,
    comments_stalled,
    suggest,
    viewer_drop,
    viewers_dropped,
    viewers_metric,
    worst,
)
from console.domain.insight.events import Joined, Left
from console.domain.insight.pulse import RoomPulse


@pytest.mark.parametrize(
    ("peak", "current", "alert"),
    [
        (100, 80, True),  # exactly a fifth
        (100, 81, False),
        (10, 8, True),
        (9, 1, False),  # too few viewers for a fifth to mean anything
    ],
)
def test_viewers_alert_from_a_fifth_fewer_than_the_peak(
    peak: int, current: int, alert: bool
) -> None:
    assert viewers_dropped(peak, current) is alert


def test_the_peak_is_of_the_last_two_minutes_counting_the_count_held_at_its_start() -> None:
    counts = [(0.0, 50), (10.0, 30), (200.0, 29)]
    # At 230 the window is [110, 230]: 30 viewers were there at its start.
    assert viewer_drop(counts, 230) == (30, 29)
    assert viewer_drop(counts, 100) == (50, 30)
    assert viewer_drop([], 100) is None


def test_a_drop_is_seen_in_the_pulse_only_once_the_viewers_have_left() -> None:
    pulse = RoomPulse()
    pulse.add_all(Joined(float(i), f"v{i}") for i in range(10))
    assert pulse.snapshot(60, {}, {}).alerts == ()
    pulse.add_all([Left(100, "v0"), Left(101, "v1")])
    (alert,) = pulse.snapshot(102, {}, {}).alerts
    assert (alert.kind, alert.text) == ("viewers_drop", "Viewers fell from 10 to 8 in two minutes.")
    # Two minutes after the peak ended, 8 is the new normal.
    assert pulse.snapshot(101 + 121, {}, {}).alerts == ()


def test_comments_stall_against_a_busy_five_minutes_only() -> None:
    busy = [61.0 + 15 * i for i in range(20)]  # 4 a minute in (60, 360]
    recent, per_minute = comment_rates([*busy, 400.0], now=420)
    assert (recent, per_minute) == (1, 4.0)
    assert comments_stalled(recent, per_minute)
    assert not comments_stalled(2, 4.0)
    assert not comments_stalled(0, 3.8)  # a quiet chat is not stalling


ASKED = AskedProduct("boots", "Chelsea boots", 3)
TOP = TopQuestion("sizing", 4, "do they run small?")
PINNED = ("scarf", "Silk scarf")


def action(*args: Any) -> str | None:
    found = suggest(*args)
    return found.action if found is not None else None


def test_viewers_leaving_get_something_new_on_stage_first() -> None:
    assert action("viewers_drop", ASKED, TOP, PINNED, False) == "pin"
    assert action("viewers_drop", None, TOP, PINNED, False) == "deal"
    assert action("viewers_drop", None, TOP, PINNED, True) == "answer"
    assert action("viewers_drop", None, None, None, False) is None


def test_a_quiet_chat_gets_its_top_question_answered_first() -> None:
    found = suggest("comments_stall", ASKED, TOP, PINNED, deal_running=False)
    assert found is not None
    assert (found.action, found.text, found.question) == (
        "answer",
        "Answer on screen: 4 viewers asked “do they run small?”.",
        "sizing",
    )
    lone = TopQuestion("sizing", 1, "do they run small?")
    assert action("comments_stall", ASKED, lone, PINNED, False) == "pin"


def test_a_product_asked_about_twice_is_not_yet_worth_pinning() -> None:
    twice = AskedProduct("boots", "Chelsea boots", 2)
    assert suggest("viewers_drop", twice, None, None, deal_running=False) is None


def test_the_worst_metric_is_the_furthest_from_healthy_and_says_its_cause() -> None:
    change = StageChange(900, "the deal ended")
    viewers = viewers_metric(100, 70, change, now=1000)
    assert viewers == Metric(
        "viewers", "70 viewers, 30% fewer than two minutes ago", 0.3 / 0.2, "since the deal ended"
    )
    later = viewers_metric(100, 70, change, now=1100)
    assert later is not None and later.cause == "with no change on stage"
    calm = Metric("comments", "", 0.0, "")
    assert worst([calm, None, viewers, Metric("questions", "", 1.2, "")]) == viewers
    assert worst([calm, None]) is None
