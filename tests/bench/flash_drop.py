"""Flash drop: N viewers race for K units of the pinned product at the same moment (issue 4).

The hub runs as its own process (``python -m console hub --port 0`` on a fresh data
folder, started by ``load.start_hub``, which reads the port and the host token it
prints), so the buyers' client work never shares a loop or a GIL with the hub: what is
timed is the hub and its SQLite store, as a real show would load them. The buyers are
``websockets`` connections from this one process (asyncio); each reads every room frame
the drop causes but decodes only the frame that answers it, so the client stays light.

A host connection sets the stock of one demo variant to K and pins it. Each buyer then
connects, says hello, sets a name and waits at a barrier; when all are ready they send
``buy`` together (real buyer details, the sandbox's accepted test card, one unit each)
and time their own buy -> reply. The sandbox answers at once: the numbers are the hub's
and the store's, not a payment provider's network round trip.

Afterwards the store's file is read directly, so "nothing was oversold" is the store's
word, not the hub's. A latency is read on this process's loop, so it includes this
process's own delay in reading the reply; the hub's and this process's CPU during the
race, and how busy the (shared) machine was, are reported next to it. Not a pass/fail
test: one JSON object on stdout, progress on stderr.

    .venv/bin/python tests/bench/flash_drop.py                    # 1,000 buyers, 50 units
    .venv/bin/python tests/bench/flash_drop.py --buyers 200 --units 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import resource
import secrets
import sqlite3
import sys
import time
from collections import Counter
from contextlib import closing
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import load
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from console.store import DB_FILE_NAME

#: A demo-catalogue variant with one option, so every buyer wants the same units.
SKU = "CH-DEFAULT"
CARD = "4242 4242 4242 4242"
#: Connections opened at once while the crowd gathers (the listen backlog is finite).
CONNECT_AT_ONCE = 64
TARGETS = {"p99_ms": 250, "attempts_per_s": 500}
GOALS = {"p99_ms": 100, "attempts_per_s": 2000}


class Buyer:
    """One viewer's connection. Room frames carry no ``ref``; only answers are decoded."""

    def __init__(self, index: int, ws: ClientConnection) -> None:
        self.index = index
        self.ws = ws
        loop = asyncio.get_running_loop()
        self.welcome: asyncio.Future[list[dict[str, Any]]] = loop.create_future()
        self.answers: dict[str, asyncio.Future[tuple[int, dict[str, Any]]]] = {
            "name": loop.create_future(),
            "buy": loop.create_future(),
        }
        self.sent_ns = 0
        key = secrets.token_hex(8)
        self.buy = json.dumps(
            {
                "t": "buy",
                "key": key,
                "sku": SKU,
                "quantity": 1,
                "buyer": {
                    "name": f"Buyer {index}",
                    "email": f"buyer{index}@example.com",
                    "address1": f"Hauptstraße {index % 200 + 1}",
                    "city": "Berlin",
                    "postal_code": "10115",
                    "country": "DE",
                },
                "payment": CARD,
                "ref": "buy",
            }
        )
        self._reader = loop.create_task(self._read())

    async def _read(self) -> None:
        try:
            while True:
                data = await self.ws.recv(decode=False)
                if not self.welcome.done():
                    self.welcome.set_result(json.loads(data))
                    continue
                if b'"ref":"' not in data:
                    continue
                received = time.perf_counter_ns()
                for message in json.loads(data):
                    waiting = self.answers.get(message.get("ref"))
                    if waiting is not None and not waiting.done():
                        waiting.set_result((received, message))
        except ConnectionClosed:
            pass
        finally:
            gone = ConnectionError(f"buyer {self.index}: connection closed")
            for future in (self.welcome, *self.answers.values()):
                if not future.done():
                    future.set_exception(gone)

    async def join(self) -> None:
        await self.ws.send(
            json.dumps(
                {
                    "t": "hello",
                    "v": 1,
                    "role": "viewer",
                    "viewer_id": f"flash-{self.index:05d}-{secrets.token_hex(4)}",
                }
            )
        )
        [first, *_] = await asyncio.wait_for(asyncio.shield(self.welcome), 60)
        if first.get("t") != "welcome":
            raise RuntimeError(f"buyer {self.index}: hello refused: {first}")
        await self.ws.send(
            json.dumps({"t": "set_name", "name": f"Buyer {self.index}", "ref": "name"})
        )
        _, ack = await asyncio.wait_for(asyncio.shield(self.answers["name"]), 60)
        if ack.get("t") != "ack":
            raise RuntimeError(f"buyer {self.index}: name refused: {ack}")

    async def attempt(self, go: asyncio.Event) -> None:
        await go.wait()
        self.sent_ns = time.perf_counter_ns()
        await self.ws.send(self.buy)

    async def close(self) -> None:
        await self.ws.close()
        await asyncio.gather(self._reader, return_exceptions=True)


async def gather_crowd(url: str, buyers: int) -> list[Buyer]:
    gate = asyncio.Semaphore(CONNECT_AT_ONCE)

    async def one(index: int) -> Buyer:
        async with gate:
            ws = await connect(
                url,
                compression=None,
                max_size=None,
                ping_interval=None,
                open_timeout=60,
                additional_headers={"X-Forwarded-For": load.phone_address(index)},
            )
            buyer = Buyer(index, ws)
            await buyer.join()
            return buyer

    return list(await asyncio.gather(*(one(i) for i in range(buyers))))


async def staff(url: str, token: str, messages: list[dict[str, Any]]) -> None:
    """Run host commands one by one; any refusal stops the benchmark."""
    async with connect(url, compression=None, max_size=None) as ws:
        await ws.send(json.dumps({"t": "hello", "v": 1, "role": "host", "token": token}))
        [welcome, *_] = json.loads(await ws.recv())
        if welcome["t"] != "welcome":
            raise RuntimeError(f"host refused: {welcome}")
        for n, message in enumerate(messages):
            ref = f"s{n}"
            await ws.send(json.dumps({**message, "ref": ref}))
            while True:
                found = [m for m in json.loads(await ws.recv()) if m.get("ref") == ref]
                if found:
                    if found[0]["t"] == "error":
                        raise RuntimeError(f"{message['t']} refused: {found[0]}")
                    break


def percentiles(values_ms: list[float]) -> dict[str, float | None]:
    """p50/p99 by nearest rank, and the maximum, in milliseconds."""
    if not values_ms:
        return {"p50": None, "p99": None, "max": None}
    ordered = sorted(values_ms)

    def rank(q: float) -> float:
        return round(ordered[max(0, math.ceil(q * len(ordered)) - 1)], 2)

    return {"p50": rank(0.50), "p99": rank(0.99), "max": round(ordered[-1], 2)}


def store_view(data_dir: Path) -> dict[str, Any]:
    """What the store's file says after the race, read on a connection of its own."""
    with closing(sqlite3.connect(data_dir / DB_FILE_NAME)) as db:
        (stock,) = db.execute("SELECT stock FROM variants WHERE sku = ?", (SKU,)).fetchone()
        by_status = dict(
            db.execute(
                "SELECT status, SUM(quantity) FROM orders WHERE sku = ? GROUP BY status", (SKU,)
            ).fetchall()
        )
        (paid_orders,) = db.execute(
            "SELECT COUNT(*) FROM orders WHERE sku = ? AND status = 'paid'", (SKU,)
        ).fetchone()
    return {"stock_left": stock, "paid_orders": paid_orders, "units_by_status": by_status}


def cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run(args: argparse.Namespace) -> dict[str, Any]:
    fd_limit = load.raise_nofile()  # inherited by the hub process, which needs as many
    if fd_limit < args.buyers + 100:
        raise RuntimeError(f"open-file limit {fd_limit} is too low for {args.buyers} buyers")
    workdir = load.workdir("bench-flash-")
    server = load.start_hub(workdir)
    assert server.token is not None
    report: dict[str, Any] = {"buyers": args.buyers, "units": args.units}
    crowd: list[Buyer] = []
    try:
        load.log(f"hub pid {server.pid} on port {server.port}; {SKU} stock {args.units}")
        await staff(
            server.ws_url,
            server.token,
            [
                {"t": "update_variant", "sku": SKU, "stock": args.units},
                {"t": "pin", "product": SKU},
            ],
        )
        started = time.monotonic()
        crowd = await gather_crowd(server.ws_url, args.buyers)
        report["connect_s"] = round(time.monotonic() - started, 2)
        load.log(f"{len(crowd)} buyers ready in {report['connect_s']} s; go")
        await asyncio.sleep(1.5)  # the join-time viewer count goes out before the race

        go = asyncio.Event()
        attempts = [asyncio.create_task(b.attempt(go)) for b in crowd]
        await asyncio.sleep(0)  # every buyer is waiting at the barrier
        hub_cpu0, client_cpu0 = server.cpu_seconds(), cpu_self()
        machine = load.MachineLoad()
        go.set()
        await asyncio.gather(*attempts)
        results = await asyncio.gather(
            *(asyncio.wait_for(asyncio.shield(b.answers["buy"]), 60) for b in crowd),
            return_exceptions=True,
        )
        hub_cpu1, client_cpu1 = server.cpu_seconds(), cpu_self()
        machine_load = machine.stop(hub_cpu1 - hub_cpu0, 0.0)

        confirmed_ms: list[float] = []
        all_ms: list[float] = []
        errors: Counter[str] = Counter()
        units_sold = 0
        lost = 0
        last_ns = 0
        for buyer, result in zip(crowd, results, strict=True):
            if isinstance(result, BaseException):
                lost += 1
                continue
            received, message = result
            last_ns = max(last_ns, received)
            ms = (received - buyer.sent_ns) / 1e6
            all_ms.append(ms)
            if message["t"] == "order_confirmed":
                confirmed_ms.append(ms)
                units_sold += message["quantity"]
            else:
                errors[message.get("code", message["t"])] += 1
        first_ns = min(b.sent_ns for b in crowd)
        wall_s = (last_ns - first_ns) / 1e9 if last_ns else float("nan")
        stored = store_view(workdir / "data")
        stored_units = stored["units_by_status"].get("paid", 0)
        report.update(
            {
                "orders": len(confirmed_ms),
                "units_sold": units_sold,
                "oversold": max(0, units_sold - args.units)
                + max(0, stored_units - args.units)
                + max(0, -stored["stock_left"]),
                "sold_out_errors": errors.pop("sold_out", 0),
                "other_errors": dict(errors),
                "no_reply": lost,
                "latency_ms": {
                    "confirmed": percentiles(confirmed_ms),
                    "all_replies": percentiles(all_ms),
                },
                "race_wall_s": round(wall_s, 3),
                "attempts_per_s": round(len(all_ms) / wall_s) if wall_s > 0 else None,
                "store": stored,
                "store_agrees": stored["paid_orders"] == len(confirmed_ms)
                and stored_units == units_sold
                and stored["stock_left"] == args.units - units_sold,
                "cpu_s_during_race": {
                    "hub": round(hub_cpu1 - hub_cpu0, 3),
                    "buyers_process": round(client_cpu1 - client_cpu0, 3),
                },
                # Two cores shared with other people's work: how much of them was ours.
                "machine_during_race": machine_load,
                "targets": TARGETS,
                "goals": GOALS,
            }
        )
    finally:
        await asyncio.gather(*(b.close() for b in crowd), return_exceptions=True)
        report["server"] = server.stop()
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--buyers", type=int, default=1000, help="concurrent buyers (1,000)")
    parser.add_argument("--units", type=int, default=50, help="units on the shelf (50)")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args)), indent=2))


if __name__ == "__main__":
    main()
