"""Opening a viewer's profile (issue 6): ``Profiles.assemble`` for a viewer with 10,000
events among many viewers, on a real SQLite file; the target is 100 ms.

The store is built with the store's own writers (comments in large transactions, orders
through reserve/complete, questions, answers and time-outs through the team records) so
the rows and indexes are the ones the hub makes. The viewer has every kind of history
the panel shows, across many streams and two linked devices:

- comments (6,000), questions (1,000, each also a comment) with answers (1,000),
  orders (1,000 paid), moderation actions (500), product views (500), checkouts (500);
- around them, other viewers' comments up to ``--total`` events (200,000 by default).

Then ``assemble`` runs ``--runs`` times (warm cache, as in a running hub). Not a
pass/fail test: one JSON object on stdout, progress on stderr.

    .venv/bin/python tests/bench/profile_open.py
    .venv/bin/python tests/bench/profile_open.py --total 50000 --runs 50
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from console import protocol
from console.store import Store
from console.store.records import Actor, NewOrder
from tests.support.storedb import value

TARGET_MS = 100
VIEWER = "bench-viewer-000001"
PHONE = "bench-viewer-000002"
PRODUCTS = [f"p{n:02d}" for n in range(20)]
STREAMS = 25
OTHERS = 2_000
BATCH = 5_000


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _catalogue(store: Store) -> None:
    store.replace_catalogue(
        [
            protocol.Product(
                id=pid,
                title=f"Product {pid}",
                description="",
                vendor="Bench",
                image=None,
                currency="EUR",
                options=["Default"],
                variants=[
                    protocol.Variant(
                        sku=f"{pid}-1", options={"Default": "One"}, price=2_500, stock=10**6
                    )
                ],
            )
            for pid in PRODUCTS
        ]
    )


def _comments(store: Store, authors: list[str], ts: float) -> None:
    """Comments by ``authors`` in order, in transactions of :data:`BATCH`."""
    for start in range(0, len(authors), BATCH):
        with store.events() as writer:
            for n, viewer_id in enumerate(authors[start : start + BATCH]):
                Store.write_comment(
                    writer, viewer_id, viewer_id[-6:], "viewer", f"comment {start + n}", ts
                )


def build(data_dir: Path, total: int) -> tuple[Store, int]:
    """The store described in the module doc; returns it and the viewer's event count."""
    store = Store.open(data_dir)
    _catalogue(store)
    profiles = store.profiles
    commerce = store.orders
    team = store.team
    actor = Actor("Mia", "moderator")
    for viewer_id in (VIEWER, PHONE):
        store.touch_viewer(viewer_id, "Ann", 1.0)
        profiles.record_consent(viewer_id, "remember", 1.0)
        profiles.link_by_email(viewer_id, "ann@example.com", 2.0)
    others = [f"bench-other-{n:06d}" for n in range(OTHERS)]
    for viewer_id in others:
        store.touch_viewer(viewer_id, viewer_id[-6:], 1.0)

    own_comments, questions, orders, mods = 6_000, 1_000, 1_000, 500
    # Each question, answer, order (completion) and mod action is also a stored event.
    own_events = own_comments + 3 * questions + orders + mods
    filler = max(0, total - own_events)
    per_stream = filler // STREAMS
    for stream in range(STREAMS):
        now = 1_000.0 + stream * 10_000.0
        profiles.stream_started(now)
        profiles.viewer_joined(VIEWER, now + 1)
        profiles.record_presence(VIEWER, 3_600.0, now + 3_600)
        _log(f"stream {stream + 1}/{STREAMS}: {store.last_seq} events so far")
        mine = [VIEWER if n % 2 else PHONE for n in range(own_comments // STREAMS)]
        crowd = [others[(stream * per_stream + n) % OTHERS] for n in range(per_stream)]
        # Interleave the viewer's comments with the crowd's, as in a real chat.
        step = max(1, len(crowd) // max(1, len(mine)))
        authors: list[str] = []
        for n, viewer_id in enumerate(mine):
            authors += [viewer_id, *crowd[n * step : (n + 1) * step]]
        authors += crowd[len(mine) * step :]
        _comments(store, authors, now + 10)
        for pid in PRODUCTS:
            profiles.record_product_view([VIEWER, *others[:200]], pid, now + 20)
        for n in range(questions // STREAMS):
            comment, _ = store.append_comment(VIEWER, "Ann", "viewer", f"question {n}?", now + 30)
            state, _ = team.add_question(comment, "general")
            team.add_answer(state, "Agent Al", f"answer {n}", n % 2 == 1, now + 31)
        for n in range(orders // STREAMS):
            pid = PRODUCTS[n % 5]
            order_id = f"SC-{stream:02d}{n:04d}"
            profiles.checkout_started(VIEWER, pid, f"{pid}-1", now + 40)
            commerce.reserve(
                NewOrder(
                    order_id=order_id,
                    key=order_id,
                    viewer_id=VIEWER,
                    name="Ann Real",
                    email="ann@example.com",
                    address={"line1": "1 Main St"},
                    country="BE",
                    product_id=pid,
                    sku=f"{pid}-1",
                    title=f"Product {pid}",
                    quantity=1,
                    unit_price=2_500,
                    shipping=0,
                    total=2_500,
                    currency="EUR",
                    deal=False,
                ),
                now + 41,
            )
            commerce.complete(order_id, "pay", "Ann", now + 42)
            profiles.checkout_completed(VIEWER, f"{pid}-1", order_id, now + 42)
        for n in range(mods // STREAMS):
            team.sanction(VIEWER, "Ann", "timeout", now + 600, actor, f"reason {n}", now + 50)
        for n in range(3):
            profiles.add_note(VIEWER, "Mia", f"note {stream}-{n}", now + 60)
        profiles.stream_ended(now + 5_000)
    profiles.stream_started(1_000.0 + STREAMS * 10_000.0)
    count = value(store, "SELECT COUNT(*) FROM events WHERE viewer_id IN (?, ?)", VIEWER, PHONE)
    store.analyze()
    return store, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--total", type=int, default=200_000, help="events in the store")
    parser.add_argument("--runs", type=int, default=200, help="profile openings timed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        store, viewer_events = build(Path(tmp), args.total)
        build_s = time.perf_counter() - started
        profiles = store.profiles
        now = 2_000_000.0
        profile = profiles.assemble(VIEWER, pinned_product_id="p01", now=now)
        assert profile is not None and profile.comment_count >= 6_000
        times: list[float] = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            profiles.assemble(VIEWER, pinned_product_id="p01", now=now)
            times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        result = {
            "bench": "profile_open",
            "events_total": store.last_seq,
            "viewer_events": viewer_events,
            "viewer_comments": profile.comment_count,
            "viewer_orders": profile.order_count,
            "runs": args.runs,
            "p50_ms": round(statistics.median(times), 2),
            "p99_ms": round(times[min(len(times) - 1, int(len(times) * 0.99))], 2),
            "max_ms": round(times[-1], 2),
            "target_ms": TARGET_MS,
            "within_target": times[min(len(times) - 1, int(len(times) * 0.99))] <= TARGET_MS,
            "build_s": round(build_s, 1),
        }
        store.close()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
