"""The chat dock under a flood: 1,000 comments/s for 60 s through the staff client.

The hub, the staff session and the chat dock share one qasync loop, as in the embedded
console; a child process posts the comments over a real WebSocket. Measured:

- the longest stall of the Qt event loop: how late a 10 ms timer fires;
- frames painted by the chat view, and memory (RSS) growth after a warm-up;
- how soon the newest comment is painted while the view follows the bottom;
- that a reader scrolled up keeps their place and sees "N new comments".

    python tests/bench/chat_ui_flood.py [--rate 1000] [--seconds 60]

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import sys
import tempfile
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import qasync
from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QApplication
from websockets.exceptions import ConnectionClosed

from console import protocol
from console.client import StaffClient
from console.gc_tuning import tune_collector
from console.hub.room import Limits
from console.hub.server import Hub
from console.store import Store
from widgets.chat_dock import ChatDock
from widgets.gc_guard import GuiThreadCollector

TIMER_MS = 10
WARM_UP = 3.0


def feeder(url: str, token: str, rate: float, seconds: float, conn: Connection) -> None:
    """Post ``rate`` comments a second for ``seconds``, paced, as a staff client."""
    from websockets.sync.client import connect

    # No keepalive: under a backlog the hub answers pings late, and the feeder must
    # keep feeding (the report shows any backlog as received < sent).
    with connect(url, compression=None, max_size=None, ping_interval=None) as ws:
        ws.send(json.dumps({"t": "hello", "v": 1, "role": "host", "token": token}))
        ws.recv()
        # Read (and drop) what the hub sends back, as a console does: a client that
        # never reads is dropped once its backlog passes the hub's limit.
        threading.Thread(target=_drain, args=(ws,), daemon=True).start()
        conn.send("ready")
        conn.recv()
        started = time.monotonic()
        sent = 0
        while (elapsed := time.monotonic() - started) < seconds:
            due = int(elapsed * rate) + 1
            while sent < due:
                sent += 1
                ws.send(json.dumps({"t": "comment", "text": f"flood {sent} " + "x" * 60}))
            time.sleep(0.002)
        conn.send(sent)


def _drain(ws: Any) -> None:
    with contextlib.suppress(ConnectionClosed):
        for _ in ws:
            pass


class PaintCounter(QObject):
    """Counts the chat view's paints and how old the newest comment was at each."""

    def __init__(self, dock: ChatDock) -> None:
        super().__init__()
        self._dock = dock
        self.paints = 0
        self.newest_age_ms: list[float] = []
        self.measuring = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.paints += 1
            model = self._dock.model
            if self.measuring and self._dock.following and model.rowCount():
                newest = model.comment(model.rowCount() - 1)
                self.newest_age_ms.append((time.time() - newest.ts) * 1000)
        return False


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def run(rate: float, seconds: float) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="shopcast-ui-flood-"))
    store = Store.open(work / "data")
    fast = Limits(
        staff_comments_per_s=1e6,
        staff_comment_burst=1e6,
        staff_messages_per_s=1e6,
        staff_message_burst=1e6,
    )
    hub = Hub(store, tick=0.03, limits=fast)
    await hub.start("127.0.0.1", 0)

    dock = ChatDock()
    dock.resize(420, 760)
    dock.show()
    counter = PaintCounter(dock)
    dock.view.viewport().installEventFilter(counter)
    received = 0

    def on_messages(messages: list[protocol.ServerMessage]) -> None:
        nonlocal received
        comments = [m for m in messages if isinstance(m, protocol.Comment)]
        received += len(comments)
        dock.add_comments(comments)

    client = StaffClient(
        hub.local_ws_url, hub.issue_token("host", "Console"), on_messages=on_messages
    )
    client.start()
    await client.wait_connected()

    lateness: list[float] = []
    last = time.monotonic()

    def tick() -> None:
        nonlocal last
        now = time.monotonic()
        lateness.append((now - last) * 1000 - TIMER_MS)
        last = now

    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.timeout.connect(tick)
    timer.start(TIMER_MS)

    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    feed = ctx.Process(
        target=feeder,
        args=(hub.local_ws_url, hub.issue_token("host", "Feeder"), rate, seconds, child),
        daemon=True,
    )
    feed.start()
    loop = asyncio.get_running_loop()
    assert await loop.run_in_executor(None, parent.recv) == "ready"
    parent.send("go")

    await asyncio.sleep(WARM_UP)
    lateness.clear()
    paints_before = counter.paints
    rss_before = rss_mb()
    counter.measuring = True
    started = time.monotonic()

    # Halfway, the reader scrolls up for 5 s: the view must stay put and count.
    await asyncio.sleep(max(0.0, seconds / 2 - WARM_UP))
    bar = dock.view.verticalScrollBar()
    bar.setValue(bar.maximum() // 2)
    held_at = bar.value()
    await asyncio.sleep(5)
    scrolled_up = {
        "view_stayed_put": bar.value() == held_at,
        "new_comments_label": dock.new_comments.text(),
        "label_shown": dock.new_comments.isVisible(),
    }
    dock.follow()

    sent = await loop.run_in_executor(None, parent.recv)
    measured = time.monotonic() - started
    received_at_end = received
    await asyncio.sleep(1.0)  # the last frames
    counter.measuring = False
    result_rss = rss_mb()
    timer.stop()
    feed.join(10)
    await client.close()
    await hub.stop()
    store.close()

    stalls = np.array(lateness)
    ages = np.array(counter.newest_age_ms)
    return {
        "bench": "chat_ui_flood",
        "rate_per_s": rate,
        "seconds": seconds,
        "sent": sent,
        "received_when_feeding_ended": received_at_end,
        "received": received,
        "rows_in_view": dock.model.rowCount(),
        "longest_stall_ms": round(float(stalls.max()), 1),
        "stall_ms_p99": round(float(np.percentile(stalls, 99)), 1),
        "frames_painted": counter.paints - paints_before,
        "paints_per_s": round((counter.paints - paints_before) / measured, 1),
        "rss_growth_mb": round(result_rss - rss_before, 1),
        "newest_comment_painted_after_ms": {
            "p50": round(float(np.percentile(ages, 50)), 1),
            "p99": round(float(np.percentile(ages, 99)), 1),
            "max": round(float(ages.max()), 1),
        },
        "scrolled_up": scrolled_up,
        "targets": {"longest_stall_ms": 50, "rss_growth_mb": 50, "newest_visible_ms": 100},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)
    tune_collector()  # as run_console does
    collector = GuiThreadCollector(parent=app)
    try:
        with asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(app)) as runner:
            result = runner.run(run(args.rate, args.seconds))
    finally:
        collector.stop()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
