"""The report as one self-contained HTML file: inline CSS, charts as data: URIs, no script.

It opens offline in any browser and passes a strict Content-Security-Policy (the page
declares one: no scripts at all, images only from data: URIs).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping
from html import escape

from console.domain.insight.events import DROP_REASONS
from console.domain.insight.funnel import DROP_LABELS, STEPS
from console.report.summary import Metric, QuestionGroup, Report

#: Shown where there is no figure.
NONE = "\u2013"
_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

_CSS = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px;
       padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { padding: .25em .7em; border-bottom: 1px solid #eee; text-align: left; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
td:first-child { white-space: nowrap; }
.cards { display: flex; gap: 1em; flex-wrap: wrap; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: .6em 1em; min-width: 8em; }
.card b { display: block; font-size: 1.4em; }
.bad { color: #b10026; } img { max-width: 100%; } .note { color: #666; font-size: .9em; }
"""


def _img(name: str, png: bytes | None) -> str:
    if png is None:
        return ""
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{escape(name)}" src="data:image/png;base64,{data}">'


def _pct(value: float | None) -> str:
    return NONE if value is None else f"{value:.0%}"


def _wait(seconds: float | None) -> str:
    if seconds is None:
        return '<span class="bad">never answered</span>'
    if seconds < 60:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min"


def _metric(report: Report, metric: Metric, value: float | None) -> str:
    if value is None:
        return NONE
    if metric.name == "revenue_per_hour":
        return report.money(round(value))
    if metric.name.endswith("_share"):
        return f"{value:.0%}"
    return f"{value:,.1f}"


def _questions(groups: list[QuestionGroup]) -> str:
    if not groups:
        return "<p>No questions.</p>"
    rows = "".join(
        f"<tr><td>{escape(g.text)}</td><td class=n>{g.askers}</td><td class=n>{g.asked}</td>"
        f"<td class=n>{_wait(g.answered_after)}</td></tr>"
        for g in groups
    )
    return (
        "<table><tr><th>Question</th><th class=n>Viewers</th><th class=n>Times asked</th>"
        f"<th class=n>Answered after</th></tr>{rows}</table>"
    )


def render(report: Report, charts: Mapping[str, bytes | None], exports: list[str]) -> str:
    """The whole page; ``charts`` are PNGs by name, ``exports`` the CSV file names."""
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(report.started))
    minutes = (report.ended - report.started) / 60
    cards = "".join(
        f'<div class="card">{label}<b>{value}</b></div>'
        for label, value in (
            ("Revenue", report.money(report.revenue)),
            ("Orders", report.orders),
            ("Units", report.units),
            ("Average order", report.money(report.average)),
            ("New buyers", report.new_buyers),
            ("Returning buyers", report.returning_buyers),
        )
    )
    products = "".join(
        f"<tr><td>{escape(p.title)}</td><td class=n>{report.money(p.revenue)}</td>"
        f"<td class=n>{p.orders}</td><td class=n>{p.units}</td>"
        f"<td class=n>{report.money(p.average)}</td><td class=n>{_pct(p.conversion)}</td></tr>"
        for p in report.products
    )
    step_heads = "".join(f"<th class=n>{s}</th>" for s in STEPS) + "".join(
        f"<th class=n>dropped: {escape(DROP_LABELS[d])}</th>" for d in DROP_REASONS
    )
    funnels = "".join(
        f"<tr><td>{escape(p.title)}</td>"
        + "".join(f"<td class=n>{p.funnel.count(step)}</td>" for step in STEPS)
        + "".join(f"<td class=n>{p.funnel.drops[d]}</td>" for d in DROP_REASONS)
        + "</tr>"
        for p in report.products
        if p.funnel is not None
    )
    blockers = "".join(
        f"<tr><td>{escape(b.label)}</td><td class=n>{b.comments}</td><td class=n>{b.viewers}</td>"
        f"<td>{escape(b.example)}</td></tr>"
        for b in report.blockers
    )
    buyers = "".join(
        f"<tr><td>{escape(b.person.name)}</td><td class=n>{b.orders}</td>"
        f"<td class=n>{b.orders_total}</td><td class=n>{report.money(b.lifetime_value)}</td></tr>"
        for b in report.buyers
    )
    metrics = "".join(
        f"<tr{' class=bad' if m in report.worst else ''}><td>{escape(m.label)}</td>"
        f"<td class=n>{_metric(report, m, m.value)}</td>"
        f"<td class=n>{' · '.join(_metric(report, m, v) for v in m.past) or NONE}</td></tr>"
        for m in report.metrics
    )
    tips = "".join(f"<li>{escape(tip)}</li>" for tip in report.try_next) or "<li>\u2013</li>"
    past = (
        f"Compared with shows {', '.join(f'#{s}' for s in report.past_shows)}: in red, the "
        f"{len(report.worst) or 'no'} that fell most (at most three)."
        if report.past_shows
        else "No earlier show to compare with yet."
    )
    links = " · ".join(f'<a href="{escape(name)}">{escape(name)}</a>' for name in exports)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Show #{report.show_id} report</title><style>{_CSS}</style></head><body>
<h1>Show #{report.show_id}: {escape(when)}, {minutes:.0f} minutes</h1>
<div class="cards">{cards}</div>
<h2>Try next time</h2><ul id="try-next">{tips}</ul>
<h2>Over time</h2>{_img("timeline", charts.get("timeline"))}
<p class="note">Viewers watching: the most at once in each bucket, from the room's count
(a number, kept for everyone; shows before it was kept have no such line). The other
lines count the viewers who commented or bought in each bucket, and those watching who
chose "Remember me" (only their joins and leaves are stored).</p>
<h2>Products</h2>
<table id="products"><tr><th>Product</th><th class=n>Revenue</th><th class=n>Orders</th>
<th class=n>Units</th><th class=n>Average order</th><th class=n>Conversion</th></tr>
{products}</table>
{_img("products", charts.get("products"))}
<h2>Funnel per product</h2>
<table id="funnel"><tr><th>Product</th>{step_heads}</tr>{funnels}</table>
{_img("funnel", charts.get("funnel"))}
<p class="note">Conversion is paid over viewers when pinned. Joins and checkouts opened are
stored only for viewers who chose "Remember me"; everyone who commented or bought counts.
"Dropped" columns: every checkout of the product that stopped, from its first pin on, by
why (the card declined, sold out, a form error, the checkout closed unpaid). They are kept
for everyone with nobody's id, so each drop counts as it happened: a buyer declined twice
is two, one declined who then paid with another card is still one.</p>
<h2>Top questions</h2>{_questions(report.questions)}
<h2>Never answered</h2>{_questions(report.unanswered)}
<h2>Blockers</h2>
<table id="blockers"><tr><th>Group</th><th class=n>Comments</th><th class=n>Viewers</th>
<th>Latest example</th></tr>{blockers}</table>
{_img("blockers", charts.get("blockers"))}
<h2>Buyers</h2>
<p>{report.new_buyers} new and {report.returning_buyers} returning buyers;
{report.repeat_buyers} of the buyers who chose "Remember me" have bought more than once.</p>
<table id="buyers"><tr><th>Buyer (chose "Remember me")</th><th class=n>Orders this show</th>
<th class=n>Orders ever</th><th class=n>Lifetime value</th></tr>{buyers}</table>
<p class="note">{report.other_buyers} other buyers did not choose "Remember me" and are
counted only.</p>
<h2>Worst metrics</h2><p>{past}</p>
<table id="metrics"><tr><th>Metric</th><th class=n>This show</th><th class=n>Past shows</th></tr>
{metrics}</table>
{_img("trends", charts.get("trends"))}
<h2>Exports</h2><p>{links}</p>
</body></html>
"""
