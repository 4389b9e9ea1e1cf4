"""Flash drop: N viewers race for K units of the pinned product at the same moment (issue 4;
on several hubs, issue 17).

The hub runs as its own process (``python -m console hub --port 0`` on a fresh data
folder, started by ``load.start_hub``, which reads the port and the host token it
prints), so the buyers' client work never shares a loop or a GIL with the hub: what is
timed is the hub and its store, as a real show would load them. The buyers are
``websockets`` connections from this one process (asyncio); each reads every room frame
the drop causes but decodes only the frame that answers it, so the client stays light.

With ``--hubs N --database postgresql`` the show runs as a cluster (``cluster.py``): a
PostgreSQL server and a redis-server of the benchmark's own, N hubs on one data folder,
each with ``--database URL --redis URL``, and the buyers spread round-robin over the
hubs' ports (no nginx: it would add a hop of its own to every buy). Several hubs need
PostgreSQL; ``--hubs 1`` on SQLite (the default) is the single-hub run.

A host connection to hub 1 sets the stock of one demo variant to K and pins it. Each
buyer then connects, says hello, sets a name and waits at a barrier; when all are ready
they send ``buy`` together (real buyer details, the sandbox's accepted test card, one unit
each) and time their own buy -> reply. The sandbox answers at once: the numbers are the
hubs' and the store's, not a payment provider's network round trip.

Afterwards the store is opened as one more hub would open it (``Store.open``) and its
stock and orders read, so "nothing was oversold" is the store's word, not the hubs'. A
latency is read on this process's loop, so it includes this process's own delay in
reading the reply (its objects are frozen out of the garbage collector before the race:
a full collection paused the loop ~200 ms); the hubs' and this process's CPU during the
race, and how busy the (shared) machine was, are reported next to it. Not a pass/fail
test: one JSON object on stdout, progress on stderr. Per run:

- ``confirmed``: buyers told ``order_confirmed`` (exactly K when the drop sells out);
  ``sold_out``: buyers told ``sold_out``; ``lost``: buyers with no reply within 60 s;
  ``oversold``: units sold past K, by the replies or the store (always 0);
- ``latency_ms.confirmed``: p50/p99/max of buy -> ``order_confirmed``, ms;
  ``latency_ms.all_replies``: the same over every reply;
- ``attempts_per_s``: replies over the time from the first buy sent to the last reply;
- ``cpu_s_during_race.hubs``: each hub's CPU seconds during the race (PostgreSQL's and
  Redis's count in ``machine_during_race.other_cores``).

With several hubs the single-hub SQLite run is made beside it, in the same JSON
(``cluster`` and ``single_hub``; ``--no-compare`` skips it, ``--compare`` adds it to a
single-hub PostgreSQL run). PostgreSQL and Redis come from Debian's ``postgresql`` and
``redis-server`` packages; without them the benchmark stops and names them.

    .venv/bin/python tests/bench/flash_drop.py                    # 1,000 buyers, 50 units
    .venv/bin/python tests/bench/flash_drop.py --buyers 200 --units 10
    .venv/bin/python tests/bench/flash_drop.py --hubs 3 --database postgresql

Targets: on one hub p99 <= 250 ms and >= 500 attempts/s (goals 100 ms, 2,000/s); on three
hubs (issue 17) exactly 50 of 50 confirmed, confirmed p99 <= 150 ms, >= 2,000 attempts/s.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import resource
import secrets
import shutil
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import load
from cluster import ENGINES, Cluster, start_cluster
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.support.storedb import rows, value
from tests.support.system import MissingPackage

#: A demo-catalogue variant with one option, so every buyer wants the same units.
SKU = "CH-DEFAULT"
CARD = "4242 4242 4242 4242"
#: Connections opened at once while the crowd gathers (the listen backlog is finite).
CONNECT_AT_ONCE = 64
TARGETS = {"p99_ms": 250, "attempts_per_s": 500}
GOALS = {"p99_ms": 100, "attempts_per_s": 2000}
#: Issue 17, on several hubs: every unit confirmed, none oversold, and these.
CLUSTER_TARGETS = {"confirmed_p99_ms": 150, "attempts_per_s": 2000}


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


async def gather_crowd(urls: list[str], buyers: int) -> list[Buyer]:
    """Connect ``buyers`` viewers, buyer i to ``urls[i % len(urls)]`` (round-robin)."""
    gate = asyncio.Semaphore(CONNECT_AT_ONCE)

    async def one(index: int) -> Buyer:
        async with gate:
            ws = await connect(
                urls[index % len(urls)],
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


def store_view(cluster: Cluster) -> dict[str, Any]:
    """What the store says after the race, opened as one more hub would open it."""
    store = cluster.store()
    try:
        stock = value(store, "SELECT stock FROM variants WHERE sku = ?", SKU)
        # PostgreSQL sums a BIGINT column as NUMERIC (a Decimal): units are whole.
        by_status = {
            status: int(units)
            for status, units in rows(
                store,
                "SELECT status, SUM(quantity) FROM orders WHERE sku = ? GROUP BY status",
                SKU,
            )
        }
        paid_orders = value(
            store, "SELECT COUNT(*) FROM orders WHERE sku = ? AND status = 'paid'", SKU
        )
    finally:
        store.close()
    return {"stock_left": stock, "paid_orders": paid_orders, "units_by_status": by_status}


def cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def drop(args: argparse.Namespace, hubs: int, engine: str) -> dict[str, Any]:
    """One race on ``hubs`` hubs on ``engine``, its servers started for it and stopped."""
    workdir = load.workdir("bench-flash-")
    report: dict[str, Any] = {
        "hubs": hubs,
        "database": engine,
        "buyers": args.buyers,
        "units": args.units,
    }
    try:
        with start_cluster(workdir, hubs, engine) as cluster:
            try:
                await race(args, cluster, report)
            finally:
                report["servers"] = cluster.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    load.log(
        f"{hubs} hub(s) on {engine}: confirmed {report.get('confirmed')}, sold_out "
        f"{report.get('sold_out')}, lost {report.get('lost')}, "
        f"{report.get('attempts_per_s')} attempts/s, {report.get('latency_ms')}"
    )
    return report


async def race(args: argparse.Namespace, cluster: Cluster, report: dict[str, Any]) -> None:
    """Set the drop up on hub 1, gather the crowd over every hub, race; fill ``report``."""
    host = cluster.hubs[0]
    assert host.token is not None
    crowd: list[Buyer] = []
    try:
        load.log(f"{len(cluster.hubs)} hub(s) up; {SKU} stock {args.units}")
        await staff(
            host.ws_url,
            host.token,
            [
                {"t": "update_variant", "sku": SKU, "stock": args.units},
                {"t": "pin", "product": SKU},
            ],
        )
        started = time.monotonic()
        crowd = await gather_crowd([hub.ws_url for hub in cluster.hubs], args.buyers)
        report["connect_s"] = round(time.monotonic() - started, 2)
        load.log(f"{len(crowd)} buyers ready in {report['connect_s']} s; go")
        await asyncio.sleep(1.5)  # the join-time viewer count goes out before the race

        go = asyncio.Event()
        attempts = [asyncio.create_task(b.attempt(go)) for b in crowd]
        await asyncio.sleep(0)  # every buyer is waiting at the barrier
        # This process's own garbage collection of its 1,000 connections paused its loop
        # for about 200 ms in the race, before it read any reply: a delay no phone has.
        gc.collect()
        gc.freeze()
        hub_cpu0, client_cpu0 = cluster.cpu_seconds(), cpu_self()
        machine = load.MachineLoad()
        go.set()
        await asyncio.gather(*attempts)
        results = await asyncio.gather(
            *(asyncio.wait_for(asyncio.shield(b.answers["buy"]), 60) for b in crowd),
            return_exceptions=True,
        )
        hub_cpu1, client_cpu1 = cluster.cpu_seconds(), cpu_self()
        hub_cpu = [after - before for before, after in zip(hub_cpu0, hub_cpu1, strict=True)]
        machine_load = machine.stop(sum(hub_cpu), 0.0)

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
        stored = store_view(cluster)
        stored_units = stored["units_by_status"].get("paid", 0)
        report.update(
            {
                "confirmed": len(confirmed_ms),
                "units_sold": units_sold,
                "oversold": max(0, units_sold - args.units)
                + max(0, stored_units - args.units)
                + max(0, -stored["stock_left"]),
                "sold_out": errors.pop("sold_out", 0),
                "other_errors": dict(errors),
                "lost": lost,
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
                    "hubs": [round(cpu, 3) for cpu in hub_cpu],
                    "buyers_process": round(client_cpu1 - client_cpu0, 3),
                },
                # Two cores shared with other people's work: how much of them was ours.
                "machine_during_race": machine_load,
            }
        )
        if len(cluster.hubs) > 1:
            report["targets"] = CLUSTER_TARGETS
            report["targets_met"] = {
                "confirmed_all_units": len(confirmed_ms) == args.units and report["oversold"] == 0,
                "confirmed_p99_ms": (report["latency_ms"]["confirmed"]["p99"] or 1e9)
                <= CLUSTER_TARGETS["confirmed_p99_ms"],
                "attempts_per_s": (report["attempts_per_s"] or 0)
                >= CLUSTER_TARGETS["attempts_per_s"],
            }
        else:
            report["targets"], report["goals"] = TARGETS, GOALS
    finally:
        await asyncio.gather(*(b.close() for b in crowd), return_exceptions=True)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """The run asked for; with ``--compare``, the single-hub SQLite run beside it."""
    fd_limit = load.raise_nofile()  # inherited by the hub processes, which need as many
    if fd_limit < args.buyers + 100:
        raise RuntimeError(f"open-file limit {fd_limit} is too low for {args.buyers} buyers")
    asked = await drop(args, args.hubs, args.database)
    if not args.compare:
        return asked
    await asyncio.sleep(2)  # let the closed sockets settle
    return {
        "bench": "flash_drop",
        "cluster": asked,
        "single_hub": await drop(args, 1, "sqlite"),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--buyers", type=int, default=1000, help="concurrent buyers (1,000)")
    parser.add_argument("--units", type=int, default=50, help="units on the shelf (50)")
    parser.add_argument("--hubs", type=int, default=1, help="hubs sharing the show (1)")
    parser.add_argument(
        "--database",
        choices=ENGINES,
        default=None,
        help="the store: sqlite (one hub only) or a PostgreSQL server of the bench's own "
        "(default: sqlite for one hub, postgresql for several)",
    )
    parser.add_argument(
        "--compare",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also run the single-hub SQLite race, beside it in the JSON (default: with "
        "several hubs)",
    )
    args = parser.parse_args(argv)
    if args.hubs < 1:
        parser.error("--hubs is at least 1")
    if args.database is None:
        args.database = "sqlite" if args.hubs == 1 else "postgresql"
    if args.database == "sqlite" and args.hubs > 1:
        parser.error("several hubs share one show only on --database postgresql")
    if args.compare is None:
        args.compare = args.hubs > 1
    if args.compare and args.hubs == 1 and args.database == "sqlite":
        parser.error("--compare puts the single-hub SQLite run beside another one")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        result = asyncio.run(run(args))
    except MissingPackage as exc:
        load.log(f"flash_drop: {exc}")
        return 2
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
