"""The figures of a post-show report, computed from a :class:`~console.store.showlog.ShowLog`.

No I/O and no charts here: the same figures fill the HTML, the PNGs and the CSVs, and a
test can check them against the store. The funnel and the blockers come from the boards
the room pulse folds (:class:`~console.domain.insight.funnel.FunnelBoard`,
:class:`~console.domain.insight.blockers.BlockerBoard`), so the report says what the
live dock said; the pulse's live windows (alerts, the question waiting now) are not
needed after the show, and skipping them saves a fifth of the time on a big show.
Per-person rows (buyers, and names in the exports) exist only for viewers who chose
"Remember me" (:func:`~console.domain.insight.events.named`).
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from console.domain.insight.blockers import BlockerBoard, BlockerSummary, Group, groups
from console.domain.insight.events import (
    Commented,
    DealEnded,
    DealStarted,
    Person,
    Pinned,
    Unpinned,
    named,
)
from console.domain.insight.funnel import Funnel, FunnelBoard
from console.domain.money import Money, format_money
from console.domain.words import counted
from console.store.showlog import ShowLog

#: How many past shows the worst metrics are compared with.
PAST_SHOWS: Final = 5
TOP_QUESTIONS: Final = 10


@dataclass(frozen=True, slots=True)
class Span:
    start: float
    end: float
    label: str


@dataclass(frozen=True, slots=True)
class Timeline:
    """Counts per bucket of ``bucket`` seconds from the show's start."""

    start: float
    bucket: float
    comments: list[int]
    orders: list[int]
    #: Viewers who commented or bought in the bucket.
    active: list[int]
    #: The most viewers watching at once in the bucket (the stored room count; the last
    #: one carries over a bucket without a change); empty for a show before counts.
    audience: list[int]
    #: Viewers who chose "Remember me" watching in the bucket (their joins are stored).
    remembered: list[int]
    pins: list[Span]
    deals: list[Span]


@dataclass(frozen=True, slots=True)
class ProductRow:
    product: str
    title: str
    revenue: int
    currency: str
    orders: int
    units: int
    funnel: Funnel | None

    @property
    def average(self) -> int | None:
        return self.revenue // self.orders if self.orders else None

    @property
    def conversion(self) -> float | None:
        return self.funnel.conversion if self.funnel is not None else None


@dataclass(frozen=True, slots=True)
class QuestionGroup:
    text: str
    asked: int
    askers: int
    #: Seconds from the first time it was asked to the first answer; None: never answered.
    answered_after: float | None


@dataclass(frozen=True, slots=True)
class BuyerRow:
    person: Person
    orders: int
    orders_total: int
    lifetime_value: int


@dataclass(frozen=True, slots=True)
class Metric:
    name: str
    label: str
    value: float | None
    #: True when a higher value is better.
    higher_is_better: bool
    #: Its values in the past shows, oldest first (None where it had no value).
    past: tuple[float | None, ...] = ()

    @property
    def shortfall(self) -> float | None:
        """How far below the past shows' mean, as a fraction of it (positive: worse)."""
        values = [v for v in self.past if v is not None]
        if self.value is None or not values:
            return None
        mean = statistics.fmean(values)
        if mean == 0:
            return None
        change = (mean - self.value) / abs(mean)
        return change if self.higher_is_better else -change


@dataclass(frozen=True, slots=True)
class Report:
    show_id: int
    started: float
    ended: float
    currency: str
    revenue: int
    orders: int
    units: int
    timeline: Timeline
    products: list[ProductRow]
    questions: list[QuestionGroup]
    unanswered: list[QuestionGroup]
    blockers: list[BlockerSummary]
    new_buyers: int
    returning_buyers: int
    repeat_buyers: int
    buyers: list[BuyerRow]
    other_buyers: int
    metrics: list[Metric]
    worst: list[Metric]
    past_shows: list[int]
    try_next: list[str]

    @property
    def average(self) -> int | None:
        return self.revenue // self.orders if self.orders else None

    def money(self, amount: int | None) -> str:
        return "\u2013" if amount is None else format_money(Money(amount, self.currency))


def show_end(log: ShowLog) -> float:
    last = max(
        [log.show.started, *(e.ts for e in log.events), *(c.ts for c in log.chat)],
        default=log.show.started,
    )
    return log.show.ended if log.show.ended is not None else last


def _spans(log: ShowLog, end: float) -> tuple[list[Span], list[Span]]:
    pins: list[Span] = []
    deals: list[Span] = []
    pin: tuple[float, str] | None = None
    deal: tuple[float, str] | None = None
    for event in log.events:
        match event:
            case Pinned(ts=ts, product=product):
                if pin is not None:
                    pins.append(Span(pin[0], ts, pin[1]))
                pin = (ts, log.titles.get(product, product))
            case Unpinned(ts=ts):
                if pin is not None:
                    pins.append(Span(pin[0], ts, pin[1]))
                pin = None
            case DealStarted(ts=ts, product=product):
                deal = (ts, log.titles.get(product, product))
            case DealEnded(ts=ts):
                if deal is not None:
                    deals.append(Span(deal[0], ts, deal[1]))
                deal = None
            case _:
                pass
    if pin is not None:
        pins.append(Span(pin[0], end, pin[1]))
    if deal is not None:
        deals.append(Span(deal[0], end, deal[1]))
    return pins, deals


def show_timeline(log: ShowLog, end: float) -> Timeline:
    start = log.show.started
    length = max(end - start, 1.0)
    bucket = 60.0 if length <= 3600 else 300.0
    count = int(length // bucket) + 1
    comments = [0] * count
    orders = [0] * count
    active: list[set[str]] = [set() for _ in range(count)]

    def index(ts: float) -> int:
        return min(max(int((ts - start) // bucket), 0), count - 1)

    for row in log.chat:
        if row.role == "viewer":
            at = index(row.ts)
            comments[at] += 1
            if row.viewer_id:
                active[at].add(row.viewer_id)
    for order in log.orders:
        at = index(order.ts)
        orders[at] += 1
        active[at].add(order.viewer_id)
    remembered = [0] * count
    for first, last in log.watched:
        for i in range(index(first), index(end if last is None else last) + 1):
            remembered[i] += 1
    audience = _audience(log.audience, count, index)
    pins, deals = _spans(log, end)
    return Timeline(
        start,
        bucket,
        comments,
        orders,
        [len(a) for a in active],
        audience,
        remembered,
        pins,
        deals,
    )


def _audience(
    counts: list[tuple[float, int]], buckets: int, index: Callable[[float], int]
) -> list[int]:
    """The most viewers at once in each bucket: the count standing as it began, or any
    kept during it. No counts (a show before they were kept): no series."""
    if not counts:
        return []
    most = [0] * buckets
    standing = 0
    kept = iter(counts)
    upcoming = next(kept, None)
    for i in range(buckets):
        most[i] = standing
        while upcoming is not None and index(upcoming[0]) <= i:
            standing = upcoming[1]
            most[i] = max(most[i], standing)
            upcoming = next(kept, None)
    return most


def _questions(log: ShowLog) -> list[QuestionGroup]:
    by_group: dict[str, list] = defaultdict(list)
    for question in log.questions:
        by_group[question.group or question.text].append(question)
    groups = []
    for rows in by_group.values():
        first = rows[0]
        answers = [q.answered_at for q in rows if q.answered_at is not None]
        groups.append(
            QuestionGroup(
                first.text,
                len(rows),
                len({q.viewer_id or f"#{q.id}" for q in rows}),
                max(0.0, min(answers) - first.ts) if answers else None,
            )
        )
    groups.sort(key=lambda g: (-g.askers, -g.asked, g.text))
    return groups


def main_currency(log: ShowLog) -> str:
    counts = Counter(order.currency for order in log.orders)
    return counts.most_common(1)[0][0] if counts else "EUR"


def show_metrics(log: ShowLog, timeline: Timeline, end: float) -> dict[str, float | None]:
    minutes = max((end - log.show.started) / 60.0, 1.0)
    currency = main_currency(log)
    revenue = sum(o.total for o in log.orders if o.currency == currency)
    active = {r.viewer_id for r in log.chat if r.role == "viewer" and r.viewer_id} | {
        o.viewer_id for o in log.orders
    }
    buyers = {o.viewer_id for o in log.orders}
    answered = [q for q in log.questions if q.answered_at is not None]
    waits = [q.answered_at - q.ts for q in answered if q.answered_at is not None]
    return {
        "revenue_per_hour": revenue / minutes * 60,
        "orders_per_hour": len(log.orders) / minutes * 60,
        "comments_per_minute": sum(timeline.comments) / minutes,
        "buyers_share": len(buyers) / len(active) if active else None,
        "answered_share": len(answered) / len(log.questions) if log.questions else None,
        "answer_seconds": statistics.median(waits) if waits else None,
    }


_METRIC_LABELS: Final = {
    "revenue_per_hour": ("Revenue per hour", True),
    "orders_per_hour": ("Orders per hour", True),
    "comments_per_minute": ("Comments per minute", True),
    "buyers_share": ("Active viewers who bought", True),
    "answered_share": ("Questions answered", True),
    "answer_seconds": ("Median time to answer (s)", False),
}


def _bucket_name(seconds: float) -> str:
    return "minute" if seconds <= 60 else f"{seconds / 60:.0f} minutes"


def _try_next(
    products: list[ProductRow], timeline: Timeline, questions: list[QuestionGroup]
) -> list[str]:
    tips: list[str] = []
    converting = [p for p in products if p.conversion is not None and p.orders]
    if converting:
        best = max(converting, key=lambda p: (p.conversion or 0.0, p.revenue))
        tips.append(
            f"Open with {best.title}: {best.conversion:.0%} of the viewers who saw it pinned "
            f"bought it ({best.orders} orders)."
        )
    elif products and any(p.orders for p in products):
        best = max(products, key=lambda p: p.revenue)
        tips.append(f"Open with {best.title}: it sold the most ({best.orders} orders).")
    # The chat, not the active viewers: once a show has ended, the comments of viewers
    # who did not choose "Remember me" carry no viewer id, but every comment still counts.
    chat = timeline.comments
    if len(chat) >= 2:
        falls = [(chat[i - 1] - chat[i], i) for i in range(1, len(chat))]
        fall, at = max(falls)
        if fall > 0:
            ts = timeline.start + at * timeline.bucket
            minute = int(at * timeline.bucket // 60)
            on_stage = next((s.label for s in timeline.pins if s.start <= ts < s.end), None)
            where = f" while {on_stage} was pinned" if on_stage else " with nothing pinned"
            tips.append(
                f"The audience left at minute {minute}{where}: the chat fell from "
                f"{chat[at - 1]} to {chat[at]} comments per {_bucket_name(timeline.bucket)}. "
                "Change the pace before that point."
            )
    asked = [q for q in questions if q.askers >= 2] or questions
    if asked:
        top = next((q for q in asked if q.answered_after is None), asked[0])
        tips.append(
            f"Answer on screen: \u201c{top.text}\u201d ({counted(top.askers, 'viewer')} asked"
            + (", nobody answered it)." if top.answered_after is None else ").")
        )
    return tips


def summarize(
    log: ShowLog,
    past: Sequence[ShowLog] = (),
    read: Callable[[str], frozenset[Group]] = groups,
) -> Report:
    """The report of ``log``'s show; ``past`` are earlier shows, oldest first; ``read``
    gives a comment's blocker groups (a table read beforehand, for a big show)."""
    end = show_end(log)
    board = FunnelBoard()
    heard = BlockerBoard(read)
    for event in log.events:
        board.add(event)
        if isinstance(event, Commented):
            heard.add(event)
    funnels = {f.product: f for f in board.funnels(end)}
    currency = main_currency(log)
    timeline = show_timeline(log, end)

    per_product: dict[str, list] = defaultdict(list)
    for order in log.orders:
        per_product[order.product_id].append(order)
    ids = list(dict.fromkeys([*funnels, *per_product]))
    products = [
        ProductRow(
            pid,
            log.titles.get(pid) or (per_product[pid][0].title if per_product[pid] else pid),
            sum(o.total for o in per_product[pid] if o.currency == currency),
            currency,
            len(per_product[pid]),
            sum(o.quantity for o in per_product[pid]),
            funnels.get(pid),
        )
        for pid in ids
    ]
    products.sort(key=lambda p: -p.revenue)

    questions = _questions(log)
    bought = Counter(order.viewer_id for order in log.orders)
    new = sum(1 for v in bought if log.buyers.get(v) is None or not log.buyers[v].orders_before)
    buyer_rows: list[BuyerRow] = []
    others = 0
    names = {o.viewer_id: o.name for o in log.orders}
    names.update({r.viewer_id: r.name for r in log.chat if r.role == "viewer"})
    for viewer, count in bought.most_common():
        person = named(viewer, names.get(viewer, ""), log.consent)
        if person is None:
            others += 1
            continue
        history = log.buyers.get(viewer)
        buyer_rows.append(
            BuyerRow(
                person,
                count,
                history.orders_total if history else count,
                history.spent_total if history else 0,
            )
        )

    current = show_metrics(log, timeline, end)
    history = [
        show_metrics(p, show_timeline(p, show_end(p)), show_end(p)) for p in past[-PAST_SHOWS:]
    ]
    metrics = [
        Metric(
            name,
            label,
            current[name],
            better,
            tuple(h[name] for h in history),
        )
        for name, (label, better) in _METRIC_LABELS.items()
    ]
    # Only metrics that fell: a metric as good as before is not a worst one.
    ranked = sorted(
        (m for m in metrics if (m.shortfall or 0.0) > 0), key=lambda m: -(m.shortfall or 0.0)
    )
    revenue = sum(o.total for o in log.orders if o.currency == currency)
    return Report(
        show_id=log.show.id,
        started=log.show.started,
        ended=end,
        currency=currency,
        revenue=revenue,
        orders=len(log.orders),
        units=sum(o.quantity for o in log.orders),
        timeline=timeline,
        products=products,
        questions=questions[:TOP_QUESTIONS],
        unanswered=[q for q in questions if q.answered_after is None],
        blockers=heard.summary(end),
        new_buyers=new,
        returning_buyers=len(bought) - new,
        repeat_buyers=sum(1 for b in buyer_rows if b.orders_total > 1),
        buyers=buyer_rows,
        other_buyers=others,
        metrics=metrics,
        worst=ranked[:3],
        past_shows=[p.show.id for p in past[-PAST_SHOWS:]],
        try_next=_try_next(products, timeline, questions),
    )
