"""The Room pulse dock under a flash drop: 200 comments/s, how far behind is what it shows?

The dock and the feeding share one qasync loop, as in the console: every 50 ms (the
hub's tick) a frame of comments arrives, drawn from the labelled shopping chat of
``tests/data/blockers*.tsv`` and made different from each other, with a viewer count
each second, two orders a second and a new pin each minute. The dock folds frames as
they come and redraws once a second, shown and painted offscreen. Measured:

- ``behind_ms``: for each comment, from its frame's arrival to the end of the first
  redraw that includes it (p50, p99, max), after a warm-up;
- ``refresh_ms``: how long one redraw takes (p50, p99, max).

    python tests/bench/pulse.py [--rate 200] [--seconds 20]

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import qasync
from PySide6.QtWidgets import QApplication

from console import protocol
from widgets.pulse_dock import PulseDock

TICK = 0.05
WARM_UP = 3.0
DATA = Path(__file__).resolve().parents[1] / "data"
PRODUCTS = [
    protocol.Product(id=f"p{i}", title=title, currency="EUR", variants=[])
    for i, title in enumerate(("Silk scarf", "Leather boots", "Linen shirt", "Wool coat"))
]


def chat_texts() -> list[str]:
    texts = []
    for path in sorted(DATA.glob("blockers*.tsv")):
        for line in path.read_text(encoding="utf-8").splitlines()[1:]:
            if line and not line.startswith("#") and "\t" in line:
                texts.append(line.split("\t")[0])
    return [t for t in texts if t != "text"]


class TimedDock(PulseDock):
    """The dock, noting when each redraw ends and how many comments it included."""

    def __init__(self) -> None:
        self.arrivals: list[float] = []
        self.behind: list[float] = []
        self.refreshes: list[float] = []
        self.measuring = False
        self._shown = 0
        super().__init__()

    def refresh(self) -> None:
        start = time.perf_counter()
        included = len(self.arrivals)
        super().refresh()
        end = time.perf_counter()
        if self.measuring:
            self.behind.extend(end - at for at in self.arrivals[self._shown : included])
            self.refreshes.append(end - start)
        self._shown = included


def figures(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ms = np.array(values) * 1000
    return {
        "p50": round(float(np.percentile(ms, 50)), 1),
        "p99": round(float(np.percentile(ms, 99)), 1),
        "max": round(float(ms.max()), 1),
    }


async def flood(dock: TimedDock, rate: int, seconds: float) -> int:
    texts = chat_texts()
    rng = random.Random(18)
    seq = 0
    viewers = 2000
    sent = 0
    start = time.perf_counter()
    dock.add_messages([protocol.Viewers(count=viewers)])
    ticks = int(seconds / TICK)
    for tick in range(ticks):
        now = time.time()
        frame: list[protocol.ServerMessage] = []
        if tick % int(60 / TICK) == 0:
            pinned = PRODUCTS[(tick // int(60 / TICK)) % len(PRODUCTS)]
            frame.append(protocol.ShowState(seq=seq, pinned=pinned, shelf=PRODUCTS))
        if tick % int(1 / TICK) == 0:
            viewers = max(100, viewers + rng.randint(-40, 50))
            frame.append(protocol.Viewers(count=viewers))
        if tick % int(0.5 / TICK) == 0:
            seq += 1
            frame.append(
                protocol.OrderPlaced(
                    seq=seq,
                    order_id=f"o{seq}",
                    product_id=PRODUCTS[0].id,
                    sku="s",
                    title="t",
                    quantity=1,
                    total=3900,
                    currency="EUR",
                    name="Someone",
                    ts=now,
                )
            )
        count = int(rate * (tick + 1) * TICK) - int(rate * tick * TICK)
        for _ in range(count):
            seq += 1
            viewer = f"v{rng.randint(1, viewers)}"
            text = f"{rng.choice(texts)} {rng.choice(('', '!', '??', ' pls', ' lol'))}{seq}"
            frame.append(
                protocol.Comment(
                    seq=seq, id=seq, viewer_id=viewer, name=viewer, text=text.strip(), ts=now
                )
            )
        dock.measuring = time.perf_counter() - start >= WARM_UP
        dock.arrivals.extend([time.perf_counter()] * count)
        dock.add_messages(frame)
        sent += count
        await asyncio.sleep(max(0.0, start + (tick + 1) * TICK - time.perf_counter()))
    await asyncio.sleep(1.2)  # the last comments' redraw
    return sent


async def main(rate: int, seconds: float) -> dict[str, object]:
    dock = TimedDock()
    dock.resize(420, 1000)
    dock.set_products(PRODUCTS)
    dock.show()
    sent = await flood(dock, rate, seconds)
    result: dict[str, object] = {
        "rate": rate,
        "seconds": seconds,
        "comments_sent": sent,
        "refreshes_measured": len(dock.refreshes),
        "behind_ms": figures(dock.behind),
        "refresh_ms": figures(dock.refreshes),
        "goal": "behind_ms.p99 <= 1000",
    }
    dock.close()
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        outcome = loop.run_until_complete(main(args.rate, args.seconds))
    print(json.dumps(outcome))
