"""Alerts a host cannot miss, what to do about them, and the one worst metric now.

A host talking to a camera does not watch a chart. Two things need saying at once: the
audience is leaving (viewers fell by a fifth in two minutes), or the chat went quiet
(comments stalled); each comes with one thing to do, taken from what the audience is
asking for. And, as TikTok LIVE shows one metric in red, :func:`worst` picks the metric
furthest from healthy and says what caused it. Pure functions of plain figures; the
:class:`~console.domain.insight.pulse.RoomPulse` gathers the figures from events.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from console.domain.insight.funnel import DROP_LABELS, Funnel
from console.domain.moderation import format_wait
from console.domain.words import counted

#: "Viewers drop by 20 % in two minutes" (issue 18): the count now against the highest
#: count of the last two minutes.
VIEWER_DROP: Final = 0.20
DROP_SECONDS: Final = 120.0
#: Below this peak a fifth is one or two people, who come and go all the time.
MIN_AUDIENCE: Final = 10

#: Comments stall when the last minute had at most a quarter of the comments per minute
#: of the five minutes before it, and those five had at least four a minute (a quiet
#: chat of two comments a minute is not stalling when it has none for a minute).
STALL_SECONDS: Final = 60.0
STALL_BASELINE_SECONDS: Final = 300.0
STALL_RATIO: Final = 0.25
STALL_MIN_PER_MINUTE: Final = 4.0

#: What the audience asks about, and what is waiting, is read over the last ten minutes.
ASKED_SECONDS: Final = 600.0
#: A product must be asked about this often to be worth pinning for it.
MIN_ASKED: Final = 3
#: A question group worth answering on screen was asked by this many viewers.
MIN_ASKERS: Final = 2

#: From this many checkouts on the pinned product the checkout rate means something;
#: half of checkouts paying is taken as healthy (a live buyer arrives decided).
MIN_CHECKOUTS: Final = 5
HEALTHY_CHECKOUT_RATE: Final = 0.5
#: An unanswered question this old is as bad as a 20 % drop of viewers.
QUESTION_WAIT_LIMIT: Final = 180.0

AlertKind = Literal["viewers_drop", "comments_stall"]
Action = Literal["pin", "deal", "answer"]
MetricName = Literal["viewers", "comments", "checkout", "questions"]


@dataclass(frozen=True, slots=True)
class Suggestion:
    action: Action
    text: str
    #: The product to pin or put on deal, the question group to answer.
    product: str | None = None
    question: str | None = None


@dataclass(frozen=True, slots=True)
class Alert:
    kind: AlertKind
    text: str
    suggestion: Suggestion | None


@dataclass(frozen=True, slots=True)
class AskedProduct:
    """A product named in questions of the last :data:`ASKED_SECONDS`."""

    product: str
    title: str
    questions: int


@dataclass(frozen=True, slots=True)
class TopQuestion:
    """The unanswered question group asked by the most viewers lately."""

    key: str
    viewers: int
    example: str


@dataclass(frozen=True, slots=True)
class StageChange:
    """The last thing the host changed on stage, as words: "the deal ended"."""

    ts: float
    what: str


@dataclass(frozen=True, slots=True)
class Metric:
    name: MetricName
    #: The figure, as the dock shows it.
    value: str
    #: 1.0 is as bad as an alert; the worst metric is the one with the highest.
    severity: float
    cause: str


def viewer_drop(counts: Sequence[tuple[float, int]], now: float) -> tuple[int, int] | None:
    """(peak, now) viewers over the last :data:`DROP_SECONDS`, or None without data.

    ``counts`` are (time, viewers) samples in time order; the last one at or before
    ``now`` is the count now.
    """
    window = [(ts, count) for ts, count in counts if now - DROP_SECONDS <= ts <= now]
    before = [count for ts, count in counts if ts < now - DROP_SECONDS]
    if before:
        window.insert(0, (now - DROP_SECONDS, before[-1]))
    if not window:
        return None
    return max(count for _, count in window), window[-1][1]


def viewers_dropped(peak: int, current: int) -> bool:
    return peak >= MIN_AUDIENCE and current <= peak * (1 - VIEWER_DROP)


def comment_rates(times: Sequence[float], now: float) -> tuple[int, float]:
    """Comments in the last minute, and comments per minute in the five before."""
    recent = sum(1 for ts in times if now - STALL_SECONDS < ts <= now)
    start = now - STALL_SECONDS - STALL_BASELINE_SECONDS
    baseline = sum(1 for ts in times if start < ts <= now - STALL_SECONDS)
    return recent, baseline / (STALL_BASELINE_SECONDS / 60)


def comments_stalled(recent: int, per_minute: float) -> bool:
    last_minute = recent / (STALL_SECONDS / 60)
    return per_minute >= STALL_MIN_PER_MINUTE and last_minute <= per_minute * STALL_RATIO


def suggest(
    kind: AlertKind,
    asked: AskedProduct | None,
    top: TopQuestion | None,
    pinned: tuple[str, str] | None,
    deal_running: bool,
) -> Suggestion | None:
    """One thing to do: pin what is asked about, start a deal, or answer on screen.

    Viewers leaving want something new on stage: the product they keep asking about,
    else a deal on the pinned one, else an answer. A quiet chat wants to be spoken to:
    the top question first. ``pinned`` is (id, title) of the pinned product.
    """
    options: dict[Action, Suggestion] = {}
    if asked is not None and asked.questions >= MIN_ASKED:
        options["pin"] = Suggestion(
            "pin",
            f"Pin {asked.title}: {asked.questions} questions about it in the last "
            f"{ASKED_SECONDS / 60:.0f} minutes.",
            product=asked.product,
        )
    if pinned is not None and not deal_running:
        options["deal"] = Suggestion("deal", f"Start a deal on {pinned[1]}.", product=pinned[0])
    if top is not None and top.viewers >= MIN_ASKERS:
        options["answer"] = Suggestion(
            "answer",
            f"Answer on screen: {top.viewers} viewers asked “{top.example}”.",
            question=top.key,
        )
    order: tuple[Action, ...] = (
        ("pin", "deal", "answer") if kind == "viewers_drop" else ("answer", "pin", "deal")
    )
    return next((options[action] for action in order if action in options), None)


def _cause(change: StageChange | None, now: float, since: float) -> str:
    if change is not None and change.ts >= now - since:
        return f"since {change.what}"
    return "with no change on stage"


def viewers_metric(
    peak: int, current: int, change: StageChange | None, now: float
) -> Metric | None:
    if peak < MIN_AUDIENCE:
        return None
    drop = (peak - current) / peak
    return Metric(
        "viewers",
        f"{counted(current, 'viewer')}, {drop:.0%} fewer than two minutes ago"
        if drop > 0
        else counted(current, "viewer"),
        max(0.0, drop / VIEWER_DROP),
        _cause(change, now, DROP_SECONDS),
    )


def comments_metric(
    recent: int, per_minute: float, change: StageChange | None, now: float
) -> Metric | None:
    if per_minute < STALL_MIN_PER_MINUTE:
        return None
    ratio = (recent / (STALL_SECONDS / 60)) / per_minute
    return Metric(
        "comments",
        f"{counted(recent, 'comment')} in the last minute (about {per_minute:.0f} a minute before)",
        max(0.0, (1 - ratio) / (1 - STALL_RATIO)),
        _cause(change, now, STALL_SECONDS + STALL_BASELINE_SECONDS),
    )


def checkout_metric(funnel: Funnel, title: str) -> Metric | None:
    checkouts = funnel.count("checkout")
    if checkouts < MIN_CHECKOUTS:
        return None
    paid = funnel.count("paid")
    rate = paid / checkouts
    stopped = {drop: n for drop, n in funnel.drops.items() if n}
    if stopped:
        # Drops are counted as they happened, not per buyer (see the funnel's rules).
        drop = max(stopped, key=stopped.__getitem__)
        cause = f"most drops: {DROP_LABELS[drop]} ({stopped[drop]})"
    else:
        cause = "buyers open the checkout and stop without an error"
    return Metric(
        "checkout",
        f"{paid} of {checkouts} checkouts of {title} paid",
        max(0.0, 1 - rate / HEALTHY_CHECKOUT_RATE),
        cause,
    )


def questions_metric(
    oldest_wait: float | None, waiting: int, top: TopQuestion | None
) -> Metric | None:
    if oldest_wait is None:
        return None
    cause = f"{counted(waiting, 'question')} waiting"
    if top is not None:
        cause += f"; most asked: “{top.example}” ({top.viewers} viewers)"
    return Metric(
        "questions",
        f"the oldest question has waited {format_wait(oldest_wait)}",
        oldest_wait / QUESTION_WAIT_LIMIT,
        cause,
    )


def worst(metrics: Iterable[Metric | None]) -> Metric | None:
    """The metric furthest from healthy; None when none is off at all."""
    found = [metric for metric in metrics if metric is not None and metric.severity > 0]
    return max(found, key=lambda metric: metric.severity, default=None)
