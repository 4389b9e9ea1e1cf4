"""Pin to card: how long after the host pins a product every viewer sees its card (issue 4).

The hub runs as its own process (``python -m console hub --port 0`` on a fresh data
folder, started by ``load.start_hub``). Beside it:

- **N listening viewers** (``websockets`` connections in this process) that time the
  arrival of the ``show`` event naming the new pin;
- **one Chromium page** (the real viewer page) whose MutationObserver times the moment
  the card's title shows the new product, after the page's own JavaScript rendered it;
- a **host** connection that pins a different demo product every ``--every`` seconds.

Every delay is pin sent (host, ``time.time()``) to seen (this machine's wall clock in the
listener or the page), so the two clocks are one. The target is the issue's: the card
within 200 ms. Not a pass/fail test: one JSON object on stdout, progress on stderr.

    .venv/bin/python tests/bench/pin_card.py                  # 1,000 viewers, 30 pins
    .venv/bin/python tests/bench/pin_card.py --viewers 200 --pins 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import load
import numpy as np
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.support.browser import chromium

TARGET_MS = 200
CONNECT_AT_ONCE = 64

# Runs in the page: record when the card's title changes, by this machine's clock.
OBSERVE_JS = """() => {
  const title = document.querySelector('[data-testid=product-title]');
  window.__seen = [];
  new MutationObserver(() => {
    window.__seen.push([title.textContent, performance.timeOrigin + performance.now()]);
  }).observe(title, {childList: true, characterData: true, subtree: true});
}"""


class Listener:
    """A viewer that notes when each pinned product id first reaches it."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.seen: dict[str, float] = {}

    async def run(self) -> None:
        try:
            async for raw in self.ws:
                now = time.time()
                if isinstance(raw, bytes) or '"pinned"' not in raw:
                    continue
                for event in json.loads(raw):
                    pinned = event.get("pinned") if event.get("t") == "show" else None
                    if pinned:
                        self.seen.setdefault(pinned["id"], now)
        except ConnectionClosed:
            pass


async def _viewer(url: str, index: int) -> Listener:
    ws = await connect(
        url,
        compression=None,
        max_size=None,
        open_timeout=30,
        additional_headers={"X-Forwarded-For": load.phone_address(index)},
    )
    hello = {"t": "hello", "v": 1, "role": "viewer", "viewer_id": f"pin-bench-{index:06d}"}
    await ws.send(json.dumps(hello))
    await ws.recv()
    return Listener(ws)


async def _host(url: str, token: str) -> ClientConnection:
    ws = await connect(url, compression=None, max_size=None)
    await ws.send(json.dumps({"t": "hello", "v": 1, "role": "host", "token": token}))
    await ws.recv()
    return ws


async def _pin(host: ClientConnection, product: str, ref: str) -> float:
    sent = time.time()
    await host.send(json.dumps({"t": "pin", "product": product, "ref": ref}))
    while True:
        for event in json.loads(await host.recv()):
            if event.get("ref") == ref:
                if event.get("t") == "error":
                    raise SystemExit(f"the hub refused the pin: {event['message']}")
                return sent


def _page_thread(
    url: str, work: Path, ready: threading.Event, done: threading.Event
) -> dict[str, Any]:
    """The browser runs on its own thread: Playwright's sync API has a loop of its own."""
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            with chromium(work / "profiles") as browsers:
                page = browsers.page(url)
                page.wait_for_function(
                    "document.querySelector('[data-testid=status]').textContent !== 'Connecting…'"
                )
                page.evaluate(OBSERVE_JS)
                ready.set()
                done.wait()
                out["seen"] = page.evaluate("window.__seen")
        except Exception as exc:  # reported in the JSON instead of a silent "no cards"
            out["error"] = repr(exc)
            ready.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    out["thread"] = thread
    return out


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    work = load.workdir("shopcast-pin-")
    hub = load.start_hub(work)
    assert hub.token is not None
    ready, done = threading.Event(), threading.Event()
    page = _page_thread(f"http://{load.HOST}:{hub.port}/", work, ready, done)
    try:
        listeners: list[Listener] = []
        for start in range(0, args.viewers, CONNECT_AT_ONCE):
            batch = range(start, min(args.viewers, start + CONNECT_AT_ONCE))
            listeners += await asyncio.gather(*(_viewer(hub.ws_url, i) for i in batch))
        load.log(f"{len(listeners)} viewers connected")
        readers = [asyncio.create_task(v.run()) for v in listeners]
        host = await _host(hub.ws_url, hub.token)
        await host.send(json.dumps({"t": "catalogue", "ref": "cat"}))
        products: list[dict[str, Any]] = []
        while not products:
            for event in json.loads(await host.recv()):
                if event.get("ref") == "cat":
                    products = event["products"]
        titles = {p["id"]: p["title"] for p in products}
        if not await asyncio.to_thread(ready.wait, 90):
            raise SystemExit("the viewer page did not open within 90 s; no pins were sent")
        sent: dict[str, float] = {}
        cpu0 = hub.cpu_seconds()
        for n in range(args.pins):
            product = products[n % len(products)]["id"]
            if product in sent:
                raise SystemExit("more pins than demo products; lower --pins")
            sent[product] = await _pin(host, product, f"pin-{n}")
            await asyncio.sleep(args.every)
        cpu = hub.cpu_seconds() - cpu0
        done.set()
        await asyncio.to_thread(page["thread"].join, 60)
        for v in listeners:
            await v.ws.close()
        await host.close()
        await asyncio.gather(*readers)
    finally:
        done.set()
        server = hub.stop()

    ws_delays = np.array(
        [(v.seen[p] - t) * 1000 for v in listeners for p, t in sent.items() if p in v.seen]
    )
    missing = len(listeners) * len(sent) - ws_delays.size
    by_title = {title: pid for pid, title in titles.items()}
    shown: dict[str, float] = {}
    for text, at_ms in page.get("seen", []):
        pid = by_title.get(text)
        if pid in sent:
            shown.setdefault(pid, at_ms - sent[pid] * 1000)
    card = list(shown.values())

    def summary(values: np.ndarray) -> dict[str, float | None]:
        if values.size == 0:
            return {"p50": None, "p99": None, "max": None}
        return {
            "p50": round(float(np.percentile(values, 50)), 1),
            "p99": round(float(np.percentile(values, 99)), 1),
            "max": round(float(values.max()), 1),
        }

    card_ms = summary(np.array(card))
    return {
        "bench": "pin_card",
        "viewers": len(listeners),
        "pins": args.pins,
        "event_to_viewer_ms": summary(ws_delays),
        "events_missing": int(missing),
        "card_in_page_ms": card_ms,
        "cards_seen": len(card),
        "page_error": page.get("error"),
        "hub_cpu_s": round(cpu, 2),
        "target_ms": TARGET_MS,
        "target_met": card_ms["max"] is not None and card_ms["max"] <= TARGET_MS and missing == 0,
        "hub": server,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", type=int, default=1000)
    parser.add_argument("--pins", type=int, default=14)
    parser.add_argument("--every", type=float, default=1.0, help="seconds between pins")
    args = parser.parse_args()
    load.raise_nofile()
    print(json.dumps(asyncio.run(bench(args))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
