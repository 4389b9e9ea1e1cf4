"""The Shows window's figures (issue 18 point 3): every past show in one row, and two
shows side by side.

No Qt here: the window (:mod:`widgets.shows_window`) shows what these functions return,
and a test can check them against the store. The figures are the report's own
(:mod:`.summary`'s timeline and metrics), so a row says what the show's report says.
:func:`read_shows` is the one function that reads the store, in a worker thread.

"Viewers" here are the most watching at once in a bucket, from the room's stored count
(a number, everyone counted); a show from before counts were kept falls back to the
viewers active in a bucket (who commented or bought).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from console.domain.money import Money, format_money
from console.report.summary import main_currency, show_end, show_metrics, show_timeline
from console.store.showlog import ShowLog, ShowReader


@dataclass(frozen=True, slots=True)
class ShowFigures:
    """One show's headline figures."""

    show_id: int
    started: float
    #: Seconds from going live to the show's end (or its last event, if still open).
    duration: float
    ended: bool
    #: Viewers watching in each bucket of ``bucket`` seconds (the most at once, from the
    #: stored count); for a show before counts were kept, those who commented or bought.
    viewers: tuple[int, ...]
    bucket: float
    comments: int
    questions: int
    #: Share of the questions answered; None when nobody asked.
    answered: float | None
    orders: int
    units: int
    revenue: int
    currency: str
    #: Buyers among the active viewers; None when nobody was active.
    conversion: float | None

    @property
    def peak_viewers(self) -> int:
        return max(self.viewers, default=0)

    @property
    def average_order(self) -> int | None:
        return self.revenue // self.orders if self.orders else None


def figures(log: ShowLog) -> ShowFigures:
    """The figures of one show read from the store."""
    end = show_end(log)
    timeline = show_timeline(log, end)
    metrics = show_metrics(log, timeline, end)
    currency = main_currency(log)
    answered = metrics["answered_share"]
    conversion = metrics["buyers_share"]
    return ShowFigures(
        show_id=log.show.id,
        started=log.show.started,
        duration=max(end - log.show.started, 0.0),
        ended=log.show.ended is not None,
        viewers=tuple(timeline.audience or timeline.active),
        bucket=timeline.bucket,
        comments=sum(timeline.comments),
        questions=len(log.questions),
        answered=answered,
        orders=len(log.orders),
        units=sum(o.quantity for o in log.orders),
        revenue=sum(o.total for o in log.orders if o.currency == currency),
        currency=currency,
        conversion=conversion,
    )


def read_shows(data_dir: Path) -> list[ShowFigures]:
    """Every show in the data folder, newest first (blocking: call it in a thread)."""
    with ShowReader(data_dir) as reader:
        return [figures(reader.read(span)) for span in reversed(reader.shows())]


# --- What the window shows -------------------------------------------------------------

DASH: Final = "\u2013"


def when(ts: float) -> str:
    """The show's start in local time, as the Orders window writes times."""
    return datetime.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


def duration(seconds: float) -> str:
    """A show's length at a glance: "1 h 05 min", "12 min", "40 s"."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min"
    return f"{secs} s"


def share(value: float | None) -> str:
    return DASH if value is None else f"{value:.0%}"


def money(amount: int | None, currency: str) -> str:
    return DASH if amount is None else format_money(Money(amount, currency))


@dataclass(frozen=True, slots=True)
class Column:
    title: str
    text: Callable[[ShowFigures], str]
    #: What the column sorts by (numbers sort as numbers, not as their text).
    key: Callable[[ShowFigures], float]
    tip: str = ""


def _or_minus(value: float | None) -> float:
    return -1.0 if value is None else value


COLUMNS: Final[tuple[Column, ...]] = (
    Column("Show", lambda f: f"#{f.show_id}" + ("" if f.ended else " (open)"), lambda f: f.show_id),
    Column("Date", lambda f: when(f.started), lambda f: f.started),
    Column("Duration", lambda f: duration(f.duration), lambda f: f.duration),
    Column(
        "Peak viewers",
        lambda f: str(f.peak_viewers),
        lambda f: f.peak_viewers,
        "The most viewers watching at once during the show (for a show from before "
        "viewer counts were kept: the most who commented or bought in one bucket).",
    ),
    Column("Comments", lambda f: str(f.comments), lambda f: f.comments),
    Column("Orders", lambda f: str(f.orders), lambda f: f.orders),
    Column("Revenue", lambda f: money(f.revenue, f.currency), lambda f: f.revenue),
    Column(
        "Conversion",
        lambda f: share(f.conversion),
        lambda f: _or_minus(f.conversion),
        "Active viewers (who commented or bought) who bought.",
    ),
    Column(
        "Answered",
        lambda f: share(f.answered),
        lambda f: _or_minus(f.answered),
        "Questions answered.",
    ),
)


@dataclass(frozen=True, slots=True)
class ComparedLine:
    """One figure of two shows side by side, and how the second differs from the first."""

    label: str
    first: str
    second: str
    change: str
    #: True when the second show did better, False when worse, None when even or unknown.
    better: bool | None


def _change(first: float | None, second: float | None, points: bool) -> tuple[str, float | None]:
    if first is None or second is None:
        return DASH, None
    diff = second - first
    if points:
        return f"{diff * 100:+.0f} pts", diff
    if first == 0:
        return (DASH if diff == 0 else "new"), diff
    return f"{diff / abs(first):+.0%}", diff


#: label, value, its text, whether higher is better, whether the value is a share.
_COMPARED: Final[
    tuple[
        tuple[str, Callable[[ShowFigures], float | None], Callable[[ShowFigures], str], bool, bool],
        ...,
    ]
] = (
    ("Duration", lambda f: f.duration, lambda f: duration(f.duration), True, False),
    ("Peak viewers", lambda f: f.peak_viewers, lambda f: str(f.peak_viewers), True, False),
    ("Comments", lambda f: f.comments, lambda f: str(f.comments), True, False),
    ("Questions", lambda f: f.questions, lambda f: str(f.questions), True, False),
    ("Questions answered", lambda f: f.answered, lambda f: share(f.answered), True, True),
    ("Orders", lambda f: f.orders, lambda f: str(f.orders), True, False),
    ("Units", lambda f: f.units, lambda f: str(f.units), True, False),
    ("Revenue", lambda f: f.revenue, lambda f: money(f.revenue, f.currency), True, False),
    (
        "Average order",
        lambda f: f.average_order,
        lambda f: money(f.average_order, f.currency),
        True,
        False,
    ),
    ("Conversion", lambda f: f.conversion, lambda f: share(f.conversion), True, True),
)


def compare(first: ShowFigures, second: ShowFigures) -> list[ComparedLine]:
    """The figures of two shows, the second against the first.

    Amounts in two currencies are listed but not compared: converting would need a rate
    the shop never gave.
    """
    lines = []
    for label, value, text, higher_is_better, points in _COMPARED:
        a, b = value(first), value(second)
        if label in ("Revenue", "Average order") and first.currency != second.currency:
            a = b = None
        change, diff = _change(a, b, points)
        better = None if diff is None or diff == 0 else (diff > 0) == higher_is_better
        lines.append(ComparedLine(label, text(first), text(second), change, better))
    return lines


def pick_two(selected: Sequence[ShowFigures]) -> tuple[ShowFigures, ShowFigures] | None:
    """The two selected shows, older first (the comparison reads "then → now")."""
    if len(selected) != 2:
        return None
    older, newer = sorted(selected, key=lambda f: f.started)
    return older, newer
