"""The post-show report of a big show: how long from the store file to the written files?

A 3-hour show written through the store's API: 20,000 viewers' joins (every one chose
"Remember me", so each join is stored), 100,000 comments (a tenth of them questions, a
third of those answered) from the labelled shopping chat of ``tests/data/blockers*.tsv``
made different from each other, 5,000 paid orders, a new pin every nine minutes and a
deal every half hour. Then ``write_report`` of that show, timed (``seconds``), with
the time to read the show (``read_seconds``) and the files' sizes.

    python tests/bench/report.py [--comments 100000] [--orders 5000] [--joins 20000]

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from console import protocol
from console.report import write_report
from console.store import Store
from console.store.commerce import Commerce, NewOrder
from console.store.profiles import Profiles
from console.store.showlog import ShowReader

HOURS = 3.0
PRODUCTS = 20
T0 = 1_700_000_000.0


def _texts() -> list[str]:
    texts: list[str] = []
    for path in sorted((Path(__file__).parents[1] / "data").glob("blockers*.tsv")):
        for line in path.read_text(encoding="utf-8").splitlines():
            parts = line.split("\t")
            if len(parts) >= 2 and parts[0] != "text" and not line.startswith("#"):
                texts.append(parts[0])
    return texts or ["is it in stock?", "love it", "too expensive", "does it ship to Canada?"]


def _catalogue() -> list[protocol.Product]:
    return [
        protocol.Product(
            id=f"p{i}",
            title=f"Product {i}",
            currency="EUR",
            variants=[
                protocol.Variant(sku=f"p{i}-1", options={}, price=1000 + i * 100, stock=10**6)
            ],
        )
        for i in range(PRODUCTS)
    ]


def build(data_dir: Path, comments: int, orders: int, joins: int) -> None:
    rng = random.Random(18)
    texts = _texts()
    length = HOURS * 3600
    store = Store.open(data_dir)
    try:
        products = _catalogue()
        store.replace_catalogue(products)
        profiles = Profiles(store)
        commerce = Commerce(store)
        store.append_stream_state(True, T0)
        profiles.stream_started(T0)
        viewers = [f"viewer-{i}" for i in range(joins)]
        for i, viewer in enumerate(viewers):
            profiles.record_consent(viewer, "remember", T0)
            profiles.viewer_joined(viewer, T0 + length * i / joins)
        timeline: list[tuple[float, str, int]] = []
        timeline += [(T0 + length * i / comments, "comment", i) for i in range(comments)]
        timeline += [(T0 + length * (i + 0.5) / orders, "order", i) for i in range(orders)]
        timeline += [(T0 + 540.0 * i + 1, "pin", i) for i in range(int(length // 540))]
        timeline += [(T0 + 1800.0 * i + 5, "deal", i) for i in range(int(length // 1800))]
        timeline.sort()
        pinned = products[0]
        batch: list[tuple[float, int]] = []

        def flush() -> None:
            with store.events() as writer:
                for ts, i in batch:
                    viewer = viewers[i % joins]
                    text = f"{rng.choice(texts)} #{i}"
                    if i % 10 == 0:
                        text = f"{text} is it in stock?"
                    comment, _ = store.write_comment(writer, viewer, viewer, "viewer", text, ts)
                    if i % 10 == 0:
                        writer.db.execute(
                            "INSERT INTO questions (id, viewer_id, name, text, grp, ts, "
                            "answered_at, done) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                            (
                                comment.seq,
                                viewer,
                                viewer,
                                text,
                                f"stock {i % 50}",
                                ts,
                                ts + 30 if i % 30 == 0 else None,
                                int(i % 30 == 0),
                            ),
                        )
            batch.clear()

        for ts, kind, i in timeline:
            if kind == "comment":
                batch.append((ts, i))
                if len(batch) >= 500:
                    flush()
                continue
            flush()
            if kind == "pin":
                pinned = products[i % PRODUCTS]
                commerce.save_show(protocol.ShowState(seq=0, pinned=pinned), ts)
            elif kind == "deal":
                deal = protocol.DealInfo(
                    product_id=pinned.id, price=500, currency="EUR", ends=ts + 300
                )
                commerce.save_show(protocol.ShowState(seq=0, pinned=pinned, deal=deal), ts)
            else:
                viewer = viewers[rng.randrange(joins)]
                variant = pinned.variants[0]
                order_id = f"o{i}"
                commerce.reserve(
                    NewOrder(
                        order_id=order_id,
                        key=order_id,
                        viewer_id=viewer,
                        name=viewer,
                        email=f"{viewer}@example.com",
                        address={"line1": "1 Main St"},
                        country="BE",
                        product_id=pinned.id,
                        sku=variant.sku,
                        title=pinned.title,
                        quantity=1,
                        unit_price=variant.price,
                        shipping=0,
                        total=variant.price,
                        currency="EUR",
                        deal=False,
                    ),
                    ts,
                )
                commerce.complete(order_id, "pay", viewer, ts)
                profiles.checkout_started(viewer, pinned.id, variant.sku, ts - 20)
        flush()
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comments", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=5_000)
    parser.add_argument("--joins", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder) / "data"
        started = time.perf_counter()
        build(data_dir, args.comments, args.orders, args.joins)
        built = time.perf_counter() - started
        started = time.perf_counter()
        with ShowReader(data_dir) as reader:
            reader.read(reader.show())
        read = time.perf_counter() - started
        started = time.perf_counter()
        files = write_report(data_dir, out=Path(folder) / "report")
        seconds = time.perf_counter() - started
        print(
            json.dumps(
                {
                    "comments": args.comments,
                    "orders": args.orders,
                    "joins": args.joins,
                    "build_seconds": round(built, 1),
                    "read_seconds": round(read, 2),
                    "seconds": round(seconds, 2),
                    "goal_seconds": 5.0,
                    "files": {p.name: p.stat().st_size for p in files},
                }
            )
        )


if __name__ == "__main__":
    main()
