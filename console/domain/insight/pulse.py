"""The room pulse: a show's events folded into funnels, blockers, alerts and the worst metric.

The live dock feeds events as they happen and asks for a :class:`Pulse` every second;
the post-show report feeds the stored events of a past show and asks once at its end.
Same fold, same numbers. Aggregates count every viewer; the only per-person output,
:attr:`Pulse.dropped` (and :meth:`BlockerBoard.comments`), names a viewer only when the
consent map given to :meth:`RoomPulse.snapshot` says they chose "Remember me".

Memory stays bounded in the live windows (two minutes of viewer counts, six of comment
times, ten of questions); the funnels and blocker counts grow with the show's viewers
and comments, as the report needs them to.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from console.domain.insight import alerts
from console.domain.insight.alerts import Alert, AskedProduct, Metric, StageChange, TopQuestion
from console.domain.insight.blockers import BlockerBoard, BlockerSummary
from console.domain.insight.events import (
    Answered,
    Commented,
    DealEnded,
    DealStarted,
    Event,
    Joined,
    Left,
    Pinned,
    Unpinned,
)
from console.domain.insight.funnel import DroppedBuyers, Funnel, FunnelBoard
from console.domain.profile import Consent
from console.domain.questions import content_words, group_key, is_question
from console.domain.words import counted


@dataclass(frozen=True, slots=True)
class Pulse:
    now: float
    viewers: int
    #: The pinned product's funnel, and every pinned product's (first pinned first).
    pinned: Funnel | None
    funnels: tuple[Funnel, ...]
    blockers: tuple[BlockerSummary, ...]
    alerts: tuple[Alert, ...]
    worst: Metric | None
    #: Who stopped at the pinned product's checkout: named only with consent.
    dropped: DroppedBuyers | None


@dataclass(frozen=True, slots=True)
class _Waiting:
    ts: float
    viewer: str
    text: str
    key: str


def _title_index(titles: Mapping[str, str]) -> dict[str, str]:
    """Words that name one product only ("scarf", "linen"), to the product.

    A word in two titles ("shirt" in "Linen shirt" and "Denim shirt") names neither.
    """
    owners: dict[str, set[str]] = {}
    for product, title in titles.items():
        for word in content_words(title):
            if len(word) >= 3:
                owners.setdefault(word, set()).add(product)
    return {word: next(iter(found)) for word, found in owners.items() if len(found) == 1}


class RoomPulse:
    """Fold a show's events, in time order; ask for a :class:`Pulse` at any moment."""

    def __init__(self, titles: Mapping[str, str] | None = None) -> None:
        self.funnel = FunnelBoard()
        self.blockers = BlockerBoard()
        self._titles: dict[str, str] = {}
        self._index: dict[str, str] = {}
        self.set_titles(titles or {})
        self._counts: deque[tuple[float, int]] = deque()
        self._comment_times: deque[float] = deque()
        self._waiting: dict[int, _Waiting] = {}
        self._mentions: deque[tuple[float, str]] = deque()
        self._deal = False
        self._change: StageChange | None = None

    def set_titles(self, titles: Mapping[str, str]) -> None:
        """The catalogue's titles, for the words that name a product in questions."""
        self._titles = dict(titles)
        self._index = _title_index(self._titles)

    def _title(self, product: str) -> str:
        return self._titles.get(product, product)

    def add(self, event: Event) -> None:
        self.funnel.add(event)
        match event:
            case Joined(ts=ts) | Left(ts=ts):
                self._counts.append((ts, self.funnel.watching))
                while len(self._counts) > 1 and self._counts[1][0] < ts - alerts.DROP_SECONDS:
                    self._counts.popleft()
            case Pinned(ts=ts, product=product):
                self._change = StageChange(ts, f"{self._title(product)} was pinned")
            case Unpinned(ts=ts):
                self._change = StageChange(ts, "the pin was taken down")
            case DealStarted(ts=ts, product=product):
                self._deal = True
                self._change = StageChange(ts, f"the deal on {self._title(product)} started")
            case DealEnded(ts=ts):
                self._deal = False
                self._change = StageChange(ts, "the deal ended")
            case Commented():
                self._comment(event)
            case Answered(question=question):
                self._waiting.pop(question, None)
            case _:
                pass

    def add_all(self, events: Iterable[Event]) -> None:
        for event in events:
            self.add(event)

    def _comment(self, comment: Commented) -> None:
        if self.blockers.add(comment) is None:
            return
        kept = alerts.STALL_SECONDS + alerts.STALL_BASELINE_SECONDS
        self._comment_times.append(comment.ts)
        while self._comment_times and self._comment_times[0] <= comment.ts - kept:
            self._comment_times.popleft()
        if not is_question(comment.text):
            return
        self._waiting[comment.id] = _Waiting(
            comment.ts, comment.viewer, comment.text, group_key(comment.text)
        )
        named = {self._index[w] for w in content_words(comment.text) if w in self._index}
        self._mentions.extend((comment.ts, product) for product in sorted(named))
        while self._mentions and self._mentions[0][0] <= comment.ts - alerts.ASKED_SECONDS:
            self._mentions.popleft()

    def _recent_waiting(self, now: float) -> list[_Waiting]:
        stale = [qid for qid, q in self._waiting.items() if q.ts <= now - alerts.ASKED_SECONDS]
        for qid in stale:
            del self._waiting[qid]
        return [q for q in self._waiting.values() if q.ts <= now]

    def _most_asked(self, now: float) -> AskedProduct | None:
        counts = Counter(
            product
            for ts, product in self._mentions
            if now - alerts.ASKED_SECONDS < ts <= now and product != self.funnel.pinned
        )
        if not counts:
            return None
        product, questions = min(counts.items(), key=lambda item: (-item[1], item[0]))
        return AskedProduct(product, self._title(product), questions)

    @staticmethod
    def _top_question(waiting: list[_Waiting]) -> TopQuestion | None:
        askers: dict[str, set[str]] = {}
        first: dict[str, _Waiting] = {}
        for question in sorted(waiting, key=lambda q: q.ts):
            askers.setdefault(question.key, set()).add(question.viewer)
            first.setdefault(question.key, question)
        if not askers:
            return None
        key = min(askers, key=lambda k: (-len(askers[k]), first[k].ts))
        return TopQuestion(key, len(askers[key]), first[key].text)

    def snapshot(
        self, now: float, consent: Mapping[str, Consent], names: Mapping[str, str]
    ) -> Pulse:
        """The pulse at ``now``; ``consent`` and ``names`` only shape per-person rows."""
        pinned_id = self.funnel.pinned
        pinned = self.funnel.funnel(pinned_id, now) if pinned_id is not None else None
        waiting = self._recent_waiting(now)
        top = self._top_question(waiting)
        asked = self._most_asked(now)
        on_stage = (pinned_id, self._title(pinned_id)) if pinned_id is not None else None

        found: list[Alert] = []
        metrics: list[Metric | None] = []
        drop = alerts.viewer_drop(self._counts, now)
        if drop is not None:
            peak, current = drop
            if alerts.viewers_dropped(peak, current):
                found.append(
                    Alert(
                        "viewers_drop",
                        f"Viewers fell from {peak} to {current} in two minutes.",
                        alerts.suggest("viewers_drop", asked, top, on_stage, self._deal),
                    )
                )
            metrics.append(alerts.viewers_metric(peak, current, self._change, now))
        recent, per_minute = alerts.comment_rates(self._comment_times, now)
        if alerts.comments_stalled(recent, per_minute):
            found.append(
                Alert(
                    "comments_stall",
                    f"The chat went quiet: {counted(recent, 'comment')} in the last minute, "
                    f"about {per_minute:.0f} a minute before.",
                    alerts.suggest("comments_stall", asked, top, on_stage, self._deal),
                )
            )
        metrics.append(alerts.comments_metric(recent, per_minute, self._change, now))
        if pinned is not None and on_stage is not None:
            metrics.append(alerts.checkout_metric(pinned, on_stage[1]))
        oldest = now - min(q.ts for q in waiting) if waiting else None
        metrics.append(alerts.questions_metric(oldest, len(waiting), top))

        return Pulse(
            now=now,
            viewers=self.funnel.watching,
            pinned=pinned,
            funnels=tuple(self.funnel.funnels(now)),
            blockers=tuple(self.blockers.summary(now)),
            alerts=tuple(found),
            worst=alerts.worst(metrics),
            dropped=(
                self.funnel.dropped(pinned_id, consent, names) if pinned_id is not None else None
            ),
        )
