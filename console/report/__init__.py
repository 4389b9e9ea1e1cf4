"""The post-show report (issue 18): HTML, PNG charts and CSV exports of one stored show.

:func:`write_report` reads the show from the data folder, or from the PostgreSQL database
a cluster's hubs share (read-only either way, so the hubs may keep running), computes its
figures (:mod:`.summary`), draws the charts (:mod:`.charts`, matplotlib) and writes
``report.html`` beside the PNGs and CSVs. Kept out of ``console.domain`` because it does
I/O and imports matplotlib.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from console.blocker_groups import grouped_while
from console.domain.insight.events import Commented
from console.errors import ShopcastError, StoreError
from console.gc_tuning import collector_paused
from console.report import charts, exports
from console.report.page import render
from console.report.summary import PAST_SHOWS, summarize
from console.store.showlog import ShowReader

log = logging.getLogger(__name__)


def default_out(data_dir: Path, show_id: int, database: str | None = None) -> Path:
    """Where a report goes without ``--out``: ``reports/show-N`` in the data folder, or for
    a show kept in a database, in the current folder (a cluster numbers its shows apart
    from this machine's data folder, whose own show N has its report there)."""
    return (Path.cwd() if database else data_dir) / "reports" / f"show-{show_id}"


def write_report(
    data_dir: Path,
    show_id: int | None = None,
    out: Path | None = None,
    database: str | None = None,
) -> list[Path]:
    """Write the report of show ``show_id`` (the latest by default) kept in ``data_dir``'s
    data file, or with ``database`` (a PostgreSQL URL) in that database; return the files.

    The collector is paused: a big show is millions of short-lived objects, which it
    would walk again and again for no cycle.
    """
    with collector_paused():
        return _write_report(data_dir, show_id, out, database)


def _write_report(
    data_dir: Path, show_id: int | None, out: Path | None, database: str | None
) -> list[Path]:
    with ShowReader(data_dir, database) as reader:
        span = reader.show(show_id)
        log = reader.read(span)
        earlier = [s for s in reader.shows() if s.id < span.id][-PAST_SHOWS:]
        past = [reader.read(s) for s in earlier]
    # The exports of the stored rows need no blocker groups: read while the worker reads.
    raised, stored = grouped_while(
        [e.text for e in log.events if isinstance(e, Commented)],
        lambda: {
            "chat.csv": exports.chat(log),
            "questions.csv": exports.questions(log),
            "orders.csv": exports.orders(log),
        },
    )
    report = summarize(log, past, raised.__getitem__)
    folder = out if out is not None else default_out(data_dir, span.id, database)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"Cannot create the report folder {folder} ({exc.strerror}); choose another with --out."
        ) from exc
    pictures = {
        "timeline": charts.timeline(report),
        "products": charts.products(report),
        "funnel": charts.funnel(report),
        "blockers": charts.blockers(report),
        "trends": charts.trends(report),
    }
    tables = {**stored, "funnel.csv": exports.funnel(report)}
    written: list[Path] = []
    try:
        for name, png in pictures.items():
            if png is not None:
                path = folder / f"{name}.png"
                path.write_bytes(png)
                written.append(path)
        for name, text in tables.items():
            path = folder / name
            path.write_text(text, encoding="utf-8")
            written.append(path)
        page = folder / "report.html"
        page.write_text(render(report, pictures, list(tables)), encoding="utf-8")
    except OSError as exc:
        raise StoreError(f"Cannot write the report in {folder} ({exc.strerror}).") from exc
    return [page, *written]


async def report_ended_show(data_dir: Path) -> list[Path] | None:
    """The console's hook when the host ends a show: the latest show's report, written in
    a worker thread so the window stays responsive; a failure is logged, not raised (the
    show has ended well, and ``python -m console.report`` can write it again)."""
    try:
        files = await asyncio.to_thread(write_report, data_dir)
    except ShopcastError as exc:
        log.warning("The show's report could not be written: %s", exc)
        return None
    log.info("The show's report: %s", files[0])
    return files
