"""The report's CSV exports: chat, questions, orders, the funnel.

A viewer who did not choose "Remember me" is never a named row: their comments and
questions are signed "a viewer" with no viewer id, their orders carry no buyer (the
order itself is the shop's record, kept with its amounts).
"""

from __future__ import annotations

import csv
import io
import time

from console.domain.insight.events import DROP_REASONS, named
from console.domain.insight.funnel import DROP_LABELS, STEPS
from console.report.summary import Report
from console.store.showlog import ShowLog

ANONYMOUS = "a viewer"


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def _who(log: ShowLog, viewer: str, name: str, role: str) -> tuple[str, str]:
    """(viewer id, name) as an export may show them."""
    if role != "viewer":
        return "", name
    person = named(viewer, name, log.consent)
    return (person.viewer, person.name) if person is not None else ("", ANONYMOUS)


def _csv(header: list[str], rows: list[list[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def chat(log: ShowLog) -> str:
    """Every comment of the show; a big show's chat repeats its authors and its seconds
    (100,000 comments in three hours), so each author and each second is read once."""
    rows: list[list[object]] = []
    who: dict[tuple[str, str, str], tuple[str, str]] = {}
    when: dict[int, str] = {}
    for row in log.chat:
        key = (row.viewer_id, row.name, row.role)
        author = who.get(key)
        if author is None:
            author = who[key] = _who(log, *key)
        second = int(row.ts)
        stamp = when.get(second)
        if stamp is None:
            stamp = when[second] = _when(second)
        rows.append([row.seq, stamp, *author, row.role, row.text])
    return _csv(["seq", "time", "viewer_id", "name", "role", "text"], rows)


def questions(log: ShowLog) -> str:
    rows: list[list[object]] = []
    for q in log.questions:
        viewer, name = _who(log, q.viewer_id, q.name, "viewer")
        wait = "" if q.answered_at is None else f"{max(0.0, q.answered_at - q.ts):.0f}"
        answered = "" if q.answered_at is None else _when(q.answered_at)
        rows.append([q.id, _when(q.ts), viewer, name, q.text, q.group, answered, wait])
    return _csv(
        ["id", "time", "viewer_id", "name", "text", "group", "answered", "seconds_to_answer"],
        rows,
    )


def orders(log: ShowLog) -> str:
    rows: list[list[object]] = []
    for o in log.orders:
        viewer, name = _who(log, o.viewer_id, o.name, "viewer")
        rows.append(
            [
                o.order_id,
                _when(o.ts),
                viewer,
                name,
                o.product_id,
                o.title,
                o.quantity,
                f"{o.total / 100:.2f}",
                o.currency,
                "yes" if o.deal else "",
            ]
        )
    return _csv(
        [
            "order",
            "time",
            "viewer_id",
            "buyer",
            "product",
            "title",
            "quantity",
            "total",
            "currency",
            "deal",
        ],
        rows,
    )


def funnel(report: Report) -> str:
    rows: list[list[object]] = []
    for p in report.products:
        if p.funnel is None:
            continue
        rows.append(
            [
                p.product,
                p.title,
                f"{p.funnel.pinned_seconds:.0f}",
                *(p.funnel.count(step) for step in STEPS),
                *(p.funnel.drops[drop] for drop in DROP_REASONS),
            ]
        )
    return _csv(
        [
            "product",
            "title",
            "pinned_seconds",
            *STEPS,
            *(f"dropped: {DROP_LABELS[d]}" for d in DROP_REASONS),
        ],
        rows,
    )
