"""The report's charts, drawn with matplotlib (Agg: no display, no Qt) as PNG bytes.

matplotlib because it is the well-kept standard for static charts, renders headless to
PNG with no browser, and the same bytes go into the HTML (as data: URIs) and beside it.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from console.domain.insight.funnel import STEP_LABELS, STEPS
from console.domain.words import counted
from console.report.summary import Report

_PIN = "#9ecae1"
_DEAL = "#e6550d"


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    return buffer.getvalue()


def timeline(report: Report) -> bytes:
    """Viewers watching and active, comments and orders per bucket; pins shaded, deals
    marked."""
    t = report.timeline
    minutes = np.arange(len(t.comments)) * t.bucket / 60.0
    width = t.bucket / 60.0 * 0.8
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(10, 5.5), sharex=True)
    if t.audience:
        top.plot(minutes, t.audience, color="#3182bd", marker=".", label="viewers watching")
    top.plot(
        minutes, t.active, color="#31a354", marker=".", label="viewers who commented or bought"
    )
    top.plot(
        minutes,
        t.remembered,
        color="#636363",
        marker=".",
        label='viewers watching who chose "Remember me"',
    )
    top.set_ylabel("viewers")
    bottom.bar(minutes, t.comments, width=width, align="edge", color="#6baed6", label="comments")
    orders = bottom.twinx()
    orders.plot(minutes + width / 2, t.orders, color="#756bb1", marker="o", label="orders")
    bottom.set_ylabel("comments")
    orders.set_ylabel("orders")
    for counts in (top, bottom, orders):
        counts.yaxis.set_major_locator(MaxNLocator(integer=True))
    bottom.set_xlabel(f"minutes since going live ({t.bucket / 60:.0f}-minute buckets)")
    for axes in (top, bottom):
        for pin in t.pins:
            axes.axvspan(
                (pin.start - t.start) / 60, (pin.end - t.start) / 60, color=_PIN, alpha=0.25
            )
        for deal in t.deals:
            axes.axvline((deal.start - t.start) / 60, color=_DEAL, linestyle="--")
    for pin in t.pins:
        top.annotate(
            pin.label,
            ((pin.start - t.start) / 60, 1.0),
            xycoords=("data", "axes fraction"),
            fontsize=8,
            va="top",
            rotation=0,
        )
    for deal in t.deals:
        bottom.annotate(
            f"deal: {deal.label}",
            ((deal.start - t.start) / 60, 1.0),
            xycoords=("data", "axes fraction"),
            fontsize=8,
            va="top",
            color=_DEAL,
        )
    top.legend(loc="lower right", fontsize=8)
    handles = bottom.get_legend_handles_labels()[0] + orders.get_legend_handles_labels()[0]
    bottom.legend(handles=handles, loc="upper right", fontsize=8)
    top.set_title("Show timeline: pins shaded blue, deals dashed orange")
    return _png(figure)


def products(report: Report) -> bytes:
    """Revenue per product, with its orders."""
    rows = report.products or []
    figure, axes = plt.subplots(figsize=(10, max(2.0, 0.5 * len(rows) + 1)))
    labels = [p.title for p in rows]
    values = [p.revenue / 100 for p in rows]
    bars = axes.barh(labels, values, color="#3182bd")
    axes.invert_yaxis()
    for bar, row in zip(bars, rows, strict=True):
        axes.annotate(
            f" {counted(row.orders, 'order')}",
            (bar.get_width(), bar.get_y() + bar.get_height() / 2),
            va="center",
            fontsize=8,
        )
    axes.set_xlabel(f"revenue ({report.currency})")
    axes.set_title("Revenue per product")
    return _png(figure)


def funnel(report: Report) -> bytes:
    """Each pinned product's funnel, step by step."""
    rows = [p for p in report.products if p.funnel is not None]
    figure, axes = plt.subplots(figsize=(10, max(2.5, 0.6 * len(rows) + 1.5)))
    y = np.arange(len(rows))
    height = 0.8 / len(STEPS)
    colours = ("#c6dbef", "#6baed6", "#2171b5", "#08306b")
    for index, step in enumerate(STEPS):
        counts = [p.funnel.count(step) if p.funnel else 0 for p in rows]
        axes.barh(
            y + index * height, counts, height=height, color=colours[index], label=STEP_LABELS[step]
        )
    axes.set_yticks(y + 0.4 - height / 2, [p.title for p in rows])
    axes.invert_yaxis()
    axes.set_xlabel("viewers")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    axes.set_title("Funnel per pinned product")
    return _png(figure)


def blockers(report: Report) -> bytes:
    """What stopped buyers, as heard in the chat."""
    rows = report.blockers
    figure, axes = plt.subplots(figsize=(10, max(2.0, 0.45 * len(rows) + 1)))
    axes.barh([b.label for b in rows], [b.comments for b in rows], color="#de2d26")
    axes.invert_yaxis()
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("comments")
    axes.set_title("Blockers heard in the chat")
    return _png(figure)


def trends(report: Report) -> bytes | None:
    """The three worst metrics over the last shows and this one, with a trend line."""
    if not report.worst:
        return None
    figure, grid = plt.subplots(1, len(report.worst), figsize=(10, 3.2), squeeze=False)
    shows = [*report.past_shows, report.show_id]
    for axes, metric in zip(grid[0], report.worst, strict=False):
        values = [*metric.past, metric.value]
        # Money is kept in minor units (cents); the chart reads in the currency's units.
        scale = 100.0 if metric.name == "revenue_per_hour" else 1.0
        points = [(i, v / scale) for i, v in enumerate(values) if v is not None]
        xs = np.array([p[0] for p in points], dtype=float)
        ys = np.array([p[1] for p in points], dtype=float)
        axes.plot(xs, ys, marker="o", color="#3182bd")
        axes.plot(xs[-1:], ys[-1:], marker="o", color="#de2d26", markersize=9)
        if len(points) >= 2:
            slope, intercept = np.polyfit(xs, ys, 1)
            axes.plot(xs, slope * xs + intercept, linestyle="--", color="#636363", label="trend")
        axes.set_xticks(range(len(shows)), [f"#{s}" for s in shows])
        unit = f" ({report.currency})" if scale != 1.0 else ""
        axes.set_title(metric.label + unit, fontsize=9)
    figure.suptitle("The metrics that fell most against the last shows (this show in red)")
    return _png(figure)


def sparkline(values: Sequence[int], width: int = 120, height: int = 28) -> bytes:
    """A show's viewers over time as a small line with no axes, for a row of the Shows
    window. Drawn on a :class:`~matplotlib.figure.Figure` of its own, not pyplot's, so
    the window's loader thread shares no state with a report being written."""
    dpi = 100
    figure = Figure(figsize=(width / dpi, height / dpi), dpi=dpi)
    axes = figure.add_axes((0.02, 0.08, 0.96, 0.84))
    axes.set_axis_off()
    ys = np.array(values if len(values) >= 2 else [*values, *values, 0][:2], dtype=float)
    xs = np.arange(len(ys), dtype=float)
    axes.fill_between(xs, ys, color="#c6dbef", linewidth=0)
    axes.plot(xs, ys, color="#3182bd", linewidth=1.2)
    axes.set_xlim(0, max(len(ys) - 1, 1))
    axes.set_ylim(0, max(float(ys.max()), 1.0) * 1.1)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, transparent=True)
    return buffer.getvalue()
