"""Claim burst: N viewers comment "sold" on the pinned product within a few seconds (issue 19).

The hub runs as its own process (``python -m console hub --port 0 --trusted-proxy
127.0.0.1`` on a fresh data folder), so the viewers' client work never shares its loop.
Each viewer is one ``websockets`` connection from this process that names its own
network address in ``X-Forwarded-For`` (as a reverse proxy would), so the chat's
per-address rules see a crowd of phones, not one machine. A host connection sets the
stock of one demo variant with a single option to K, pins it and turns claims on.

Each viewer then sends one "sold" at its slot, spread evenly over the burst, and times
its own comment -> claim card (units held for it) or comment -> the hub's private
answer (sold out: its place in the waitlist). Afterwards the store's file is read
directly: exactly K claims, the stock at 0, every other viewer in line. Not a
pass/fail test: one JSON object on stdout, progress on stderr.

    .venv/bin/python tests/bench/claim_burst.py                  # 2,000 viewers, 5 s, 100 units
    .venv/bin/python tests/bench/claim_burst.py --viewers 300 --seconds 2 --units 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sqlite3
import sys
import time
from contextlib import closing
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import load
from flash_drop import cpu_self, percentiles, staff
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from console.store import DB_FILE_NAME

#: A demo-catalogue variant of a product with one variant: "sold" names it.
SKU = "CH-DEFAULT"
CONNECT_AT_ONCE = 64
TARGETS = {"p99_claim_card_ms": 250}


class Viewer:
    """One phone: its claim card, or its place in line, is what it waits for."""

    def __init__(self, index: int, ws: ClientConnection) -> None:
        self.index = index
        self.ws = ws
        loop = asyncio.get_running_loop()
        self.welcome: asyncio.Future[None] = loop.create_future()
        self.named: asyncio.Future[None] = loop.create_future()
        self.outcome: asyncio.Future[tuple[int, str]] = loop.create_future()
        self.sent_ns = 0
        self._reader = loop.create_task(self._read())

    async def _read(self) -> None:
        try:
            while True:
                data = await self.ws.recv(decode=False)
                if not self.welcome.done():
                    self.welcome.set_result(None)
                    continue
                if b'"claim_' not in data and b'"ref":"name"' not in data:
                    continue
                received = time.perf_counter_ns()
                for message in json.loads(data):
                    kind = message.get("t")
                    if message.get("ref") == "name" and not self.named.done():
                        self.named.set_result(None)
                    elif kind in ("claim_card", "claim_ask") and not self.outcome.done():
                        self.outcome.set_result((received, kind))
        except ConnectionClosed:
            pass
        finally:
            gone = ConnectionError(f"viewer {self.index}: connection closed")
            for future in (self.welcome, self.named, self.outcome):
                if not future.done():
                    future.set_exception(gone)

    async def join(self) -> None:
        viewer_id = f"claim-{self.index:05d}-{secrets.token_hex(4)}"
        await self.ws.send(
            json.dumps({"t": "hello", "v": 1, "role": "viewer", "viewer_id": viewer_id})
        )
        await asyncio.wait_for(asyncio.shield(self.welcome), 60)
        await self.ws.send(
            json.dumps({"t": "set_name", "name": f"Viewer {self.index}", "ref": "name"})
        )
        await asyncio.wait_for(asyncio.shield(self.named), 60)

    async def comment_at(self, at: float) -> None:
        await asyncio.sleep(max(0.0, at - time.monotonic()))
        self.sent_ns = time.perf_counter_ns()
        await self.ws.send('{"t":"comment","text":"sold","ref":"c"}')

    async def close(self) -> None:
        await self.ws.close()
        await asyncio.gather(self._reader, return_exceptions=True)


async def gather_crowd(url: str, viewers: int) -> list[Viewer]:
    gate = asyncio.Semaphore(CONNECT_AT_ONCE)

    async def one(index: int) -> Viewer:
        async with gate:
            ws = await connect(
                url,
                compression=None,
                max_size=None,
                ping_interval=None,
                open_timeout=60,
                additional_headers={"X-Forwarded-For": load.phone_address(index)},
            )
            viewer = Viewer(index, ws)
            await viewer.join()
            return viewer

    return list(await asyncio.gather(*(one(i) for i in range(viewers))))


def store_view(data_dir: Path) -> dict[str, Any]:
    with closing(sqlite3.connect(data_dir / DB_FILE_NAME)) as db:
        (stock,) = db.execute("SELECT stock FROM variants WHERE sku = ?", (SKU,)).fetchone()
        (cards,) = db.execute("SELECT COUNT(*) FROM events WHERE type = 'claim_card'").fetchone()
        (ends,) = db.execute("SELECT COUNT(*) FROM events WHERE type = 'claim_end'").fetchone()
    return {"stock_left": stock, "claim_cards_logged": cards, "claim_ends_logged": ends}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    fd_limit = load.raise_nofile()
    if fd_limit < args.viewers + 100:
        raise RuntimeError(f"open-file limit {fd_limit} is too low for {args.viewers} viewers")
    workdir = load.workdir("bench-claims-")
    server = load.start_hub(workdir)
    assert server.token is not None
    report: dict[str, Any] = {"viewers": args.viewers, "units": args.units, "seconds": args.seconds}
    crowd: list[Viewer] = []
    try:
        await staff(
            server.ws_url,
            server.token,
            [
                {"t": "update_variant", "sku": SKU, "stock": args.units},
                {"t": "pin", "product": SKU},
                {"t": "set_claims", "on": True},
            ],
        )
        started = time.monotonic()
        crowd = await gather_crowd(server.ws_url, args.viewers)
        report["connect_s"] = round(time.monotonic() - started, 2)
        load.log(f"{len(crowd)} viewers ready in {report['connect_s']} s; go")
        await asyncio.sleep(1.5)
        hub_cpu0, client_cpu0 = server.cpu_seconds(), cpu_self()
        t0 = time.monotonic() + 0.2
        step = args.seconds / len(crowd)
        await asyncio.gather(*(v.comment_at(t0 + i * step) for i, v in enumerate(crowd)))
        results = await asyncio.gather(
            *(asyncio.wait_for(asyncio.shield(v.outcome), 30) for v in crowd),
            return_exceptions=True,
        )
        hub_cpu1, client_cpu1 = server.cpu_seconds(), cpu_self()
        card_ms: list[float] = []
        ask_ms: list[float] = []
        lost = 0
        for viewer, result in zip(crowd, results, strict=True):
            if isinstance(result, BaseException):
                lost += 1
                continue
            received, kind = result
            (card_ms if kind == "claim_card" else ask_ms).append((received - viewer.sent_ns) / 1e6)
        stored = store_view(workdir / "data")
        report.update(
            {
                "claims": len(card_ms),
                "waitlisted_or_asked": len(ask_ms),
                "no_answer": lost,
                "latency_ms": {
                    "comment_to_claim_card": percentiles(card_ms),
                    "comment_to_private_answer": percentiles(ask_ms),
                },
                "store": stored,
                "store_agrees": stored["claim_cards_logged"] == len(card_ms) == args.units
                and stored["stock_left"] == 0,
                "cpu_s_during_burst": {
                    "hub": round(hub_cpu1 - hub_cpu0, 3),
                    "viewers_process": round(client_cpu1 - client_cpu0, 3),
                },
                "targets": TARGETS,
            }
        )
    finally:
        await asyncio.gather(*(v.close() for v in crowd), return_exceptions=True)
        report["server"] = server.stop()
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--viewers", type=int, default=2000, help="viewers, one comment each")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of the burst (5)")
    parser.add_argument("--units", type=int, default=100, help="units on the shelf (100)")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args)), indent=2))


if __name__ == "__main__":
    main()
