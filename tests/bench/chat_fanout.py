"""Chat fan-out: the hub against a plain Node ``ws`` relay under the same load (issue 7).

For each N in the grid, each server in turn is started fresh, N listeners connect (ramped,
before the timed phase), then one sender posts R stamped comments a second for T seconds.
Listeners count every comment delivered (several may arrive in one hub frame) and its
delay. Reported per server: deliveries/s, lost, delay p50/p99/max (ms), server CPU; per N
the ratio of the hub's deliveries/s to the relay's.

    .venv/bin/python tests/bench/chat_fanout.py                # N=1000,5000,10000 R=50 T=20
    .venv/bin/python tests/bench/chat_fanout.py --quick        # N=200 T=5
    .venv/bin/python tests/bench/chat_fanout.py --listeners 1000 --seconds 10

Target (issue 7): at 10,000 x 50/s (500k deliveries/s) p99 <= 500 ms and nothing lost on
one hub process; at 5,000 listeners at least 5x the relay's deliveries/s. At R = 50 the
5,000-listener point offers 250k deliveries/s, so no server can reach 5x a relay that
delivers more than 50k/s (``ratio_ceiling``); a last run at ``--capacity`` (5,000 x 100/s,
500k/s offered) saturates both and compares what each can deliver. Not a pass/fail test:
it prints one JSON object on stdout (progress on stderr).

Several hubs (issue 17): ``--hubs H`` runs the hub only (no relay, no capacity run) as a
cluster (``cluster.py``): a PostgreSQL server and a redis-server of the benchmark's own,
H hubs on one data folder with ``--database URL --redis URL``. The N listeners of a point
are split evenly over the hubs (N/H on each, the load workers too) and the sender posts
into hub 1, so every comment reaches the other hubs' listeners over Redis. Each point's
``cluster`` run reports, besides the totals above, ``per_hub`` (each hub's listeners,
deliveries/s, lost, delay p50/p99/max, CPU) and ``cross_hub_delay_ms``: the delay p50/p99
of hub 1's listeners against those of the other hubs in the same run, and what crossing
adds (``added_p50``, ``added_p99``). With ``--compare`` the point's ``single_hub`` run sits
beside it: one hub (SQLite, no bus) with N/H listeners, the same load per hub.

    .venv/bin/python tests/bench/chat_fanout.py --hubs 2 --compare  # N=2000,20000 R=50 T=20

Target (issue 17): at 20,000 listeners over two hubs x 50/s, p99 <= 500 ms and nothing
lost; at 1,000 listeners per hub, crossing adds <= 50 ms (p50 and p99). On a 2-core
machine the hubs, PostgreSQL, Redis and the listeners share the cores: a cluster's figure
here is a floor, not what the hubs would do on machines of their own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import load
import numpy as np
from cluster import start_cluster

from tests.support.system import MissingPackage

SERVERS = ("shopcast", "node-ws")


def _profile_start(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes] | None:
    """Sample the hub with py-spy (collapsed stacks) while the load runs, if installed."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not os.path.exists(py_spy):
        load.log("py-spy not found; no profile")
        return None
    return subprocess.Popen(
        [
            py_spy,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(max(1, round(seconds))),
            "--rate",
            "100",
            "--nonblocking",
            "--format",
            "raw",
            "--output",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _function(frame: str) -> str:
    """``Room._deliver (console/hub/room.py:291)`` -> ``Room._deliver (room.py)``."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0].rsplit("/", 1)[-1]
    return f"{name} ({where})" if where else name


def hot_spots(collapsed: Path, top: int = 15) -> dict[str, Any]:
    """Self and inclusive share of samples per function, from py-spy's collapsed stacks."""
    self_n: dict[str, int] = {}
    incl_n: dict[str, int] = {}
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        total += n
        frames = [_function(f) for f in stack.split(";") if not f.startswith("process ")]
        if frames:
            self_n[frames[-1]] = self_n.get(frames[-1], 0) + n
        for f in set(frames):
            incl_n[f] = incl_n.get(f, 0) + n

    def share(table: dict[str, int]) -> list[list[Any]]:
        best = sorted(table.items(), key=lambda kv: -kv[1])[:top]
        return [[name, round(100 * n / total, 1)] for name, n in best]

    # Frames on (nearly) every stack (the loop, runpy, main) say nothing: leave them out.
    inclusive = {k: v for k, v in incl_n.items() if v < 0.9 * total}
    return {"samples": total, "self_pct": share(self_n), "inclusive_pct": share(inclusive)}


@contextmanager
def start_servers(kind: str, hubs: int, wd: Path) -> Iterator[list[load.Server]]:
    """The relay, or ``hubs`` hubs (several: on the bench's own PostgreSQL and Redis)."""
    if kind != "shopcast":
        relay = load.start_relay(wd)
        try:
            yield [relay]
        finally:
            if relay.proc.poll() is None:
                relay.stop()
        return
    with start_cluster(wd, hubs, "postgresql" if hubs > 1 else "sqlite") as cluster:
        yield cluster.hubs


def merged(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """The pools' results (one pool per server) as one pool's (``LoadPool.finish``)."""
    return {
        "counts": np.concatenate([p["counts"] for p in parts]),
        "delays_us": np.concatenate([p["delays_us"] for p in parts]),
        "read_delays_us": np.concatenate([p["read_delays_us"] for p in parts]),
        "last_ns": max(p["last_ns"] for p in parts),
        "closed_during": sum(p["closed_during"] for p in parts),
        "close_codes": sum((p["close_codes"] for p in parts), Counter()),
        "worker_cpu_s": [cpu for p in parts for cpu in p["worker_cpu_s"]],
    }


def cross_hub(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Delay of hub 1's listeners (the sender's hub) against the other hubs' (via Redis)."""
    local = load.percentiles_ms(parts[0]["delays_us"])
    remote = load.percentiles_ms(np.concatenate([p["delays_us"] for p in parts[1:]]))
    added = {
        f"added_{q}": round(remote[q] - local[q], 2)
        if remote[q] is not None and local[q] is not None
        else None
        for q in ("p50", "p99")
    }
    return {"hub1": local, "other_hubs": remote, **added}


async def one_run(
    kind: str, n: int, rate: float, args: argparse.Namespace, hubs: int = 1
) -> dict[str, Any]:
    wd = load.workdir(f"bench-{kind}-")
    report: dict[str, Any] = {"hubs": hubs} if hubs > 1 else {}
    out = Path(args.profile_out.format(n=n))
    profiles: list[subprocess.Popen[bytes]] = []
    try:
        with start_servers(kind, hubs, wd) as servers:
            try:
                profile_to = out if kind == "shopcast" and n in args.profile_at else None
                await timed_run(kind, n, rate, args, servers, report, profile_to, profiles)
            finally:
                for profile in profiles:
                    try:
                        profile.wait(30)
                        report["profile"] = hot_spots(out)
                        report["profile"]["collapsed"] = str(out)
                    except Exception as exc:  # a profile is a bonus, never the result
                        report["profile"] = {"error": repr(exc)}
                        profile.kill()
                stopped = [server.stop() for server in servers]
                report["server"] = stopped if hubs > 1 else stopped[0]
    finally:
        shutil.rmtree(wd, ignore_errors=True)
    load.log(
        f"{kind} x{hubs} N={n}: {report.get('deliveries_per_s')} deliveries/s, lost "
        f"{report.get('lost')}, delay {report.get('delay_ms')}"
    )
    return report


async def timed_run(
    kind: str,
    n: int,
    rate: float,
    args: argparse.Namespace,
    servers: list[load.Server],
    report: dict[str, Any],
    profile_to: Path | None,
    profiles: list[subprocess.Popen[bytes]],
) -> None:
    """Connect N listeners split over ``servers``, send into the first; fill ``report``.

    With ``profile_to``, py-spy samples the first server while the sender runs; its
    process goes into ``profiles`` at once, so the caller collects it even if the run
    fails."""
    share, extra = divmod(n, len(servers))
    sizes = [share + (1 if i < extra else 0) for i in range(len(servers))]
    load.log(f"{kind}: {len(servers)} server(s); connecting {sizes} listeners")
    workers = max(1, args.workers // len(servers))
    pools = [
        load.LoadPool(
            server,
            size,
            workers=workers,
            batch=max(1, args.batch // len(servers)),
            id_prefix=f"bench-h{i + 1}" if len(servers) > 1 else "bench",
        )
        for i, (server, size) in enumerate(zip(servers, sizes, strict=True))
    ]
    try:
        connects = await asyncio.gather(*(pool.connect() for pool in pools))
        report["connect"] = {
            "connected": sum(c["connected"] for c in connects),
            "failed": sum(c["failed"] for c in connects),
            "errors": dict(sum((Counter(c["errors"]) for c in connects), Counter())),
            "seconds": max(c["seconds"] for c in connects),
        }
        load.log(f"{kind}: connected {report['connect']}")
        sender = await load.open_sender(servers[0])
        await asyncio.sleep(1.5)  # let the join-time presence update go out
        await asyncio.gather(*(pool.go() for pool in pools))
        if profile_to is not None:
            profile = _profile_start(servers[0].pid, args.seconds, profile_to)
            if profile is not None:
                profiles.append(profile)
        machine = load.MachineLoad()
        cpu0 = [server.cpu_seconds() for server in servers]
        t0 = time.monotonic_ns() + 200_000_000
        sent = await load.run_sender(sender, rate, args.seconds, t0)
        cpu1 = [server.cpu_seconds() for server in servers]
        load.log(f"{kind}: sent {sent['sent']}; draining")
        deadline = sent["last_ns"] + int(args.drain * 1e9)
        parts = await asyncio.gather(*(pool.finish(sent, deadline) for pool in pools))
        cpu2 = [server.cpu_seconds() for server in servers]
        results = merged(parts)
        report["machine"] = machine.stop(sum(cpu2) - sum(cpu0), sum(results["worker_cpu_s"]))
        report.update(load.delivery_report(results, sent, n * rate))
        send_s = (sent["last_ns"] - sent["first_ns"]) / 1e9 + 1 / rate

        def server_cpu(before: float, sending: float, after: float) -> dict[str, float]:
            return {
                "sending_s": round(sending - before, 2),
                "sending_util": round((sending - before) / send_s, 2),
                "total_s": round(after - before, 2),
            }

        report["server_cpu"] = server_cpu(sum(cpu0), sum(cpu1), sum(cpu2))
        if len(servers) > 1:
            report["per_hub"] = [
                {
                    "hub": i + 1,
                    **load.delivery_report(part, sent, size * rate),
                    "server_cpu": server_cpu(cpu0[i], cpu1[i], cpu2[i]),
                    "server_rss_mb": servers[i].rss_mb(),
                }
                for i, (part, size) in enumerate(zip(parts, sizes, strict=True))
            ]
            report["cross_hub_delay_ms"] = cross_hub(parts)
        else:
            report["server_rss_mb"] = servers[0].rss_mb()
        report["load_worker_cpu_s"] = results["worker_cpu_s"]
        report["listeners_closed"] = results["closed_during"]
        report["close_codes"] = dict(results["close_codes"])
        report["sender"] = {
            k: sent[k] for k in ("sent", "acked", "errors", "max_lag_ms") if sent[k] is not None
        }
        await sender.close()
    finally:
        await asyncio.gather(*(pool.close() for pool in pools))


async def compare(n: int, rate: float, args: argparse.Namespace) -> dict[str, Any]:
    """Each server in turn at N listeners and R comments/s, and the ratio of deliveries/s.

    ``ratio_ceiling`` is the most any server could reach against the relay's figure: it
    cannot deliver more than N x R a second.
    """
    row: dict[str, Any] = {}
    for kind in args.servers:
        row[kind] = await one_run(kind, n, rate, args)
        await asyncio.sleep(2)  # let the closed sockets settle
    if "shopcast" in row and "node-ws" in row:
        peer = row["node-ws"]["deliveries_per_s"]
        if peer:
            row["ratio_deliveries_per_s"] = round(row["shopcast"]["deliveries_per_s"] / peer, 2)
            row["ratio_ceiling"] = round(n * rate / peer, 2)
    return row


async def cluster_point(n: int, rate: float, args: argparse.Namespace) -> dict[str, Any]:
    """N listeners over ``args.hubs`` hubs; with ``--compare``, one hub with N/H beside it."""
    row = {"cluster": await one_run("shopcast", n, rate, args, args.hubs)}
    if args.compare:
        await asyncio.sleep(2)  # let the closed sockets settle
        row["single_hub"] = await one_run("shopcast", n // args.hubs, rate, args)
    return row


def cluster_targets(grid: dict[str, Any], args: argparse.Namespace) -> dict[str, bool]:
    """Issue 17's two figures, where the grid has their points (R = 50)."""
    targets: dict[str, bool] = {}
    if args.rate != 50:
        return targets
    top = grid.get(str(10000 * args.hubs), {}).get("cluster")
    if top is not None:
        targets[f"{10000 * args.hubs}x50_p99_le_500ms_and_no_loss"] = bool(
            top["lost"] == 0 and (top["delay_ms"]["p99"] or 1e9) <= 500
        )
    low = grid.get(str(1000 * args.hubs), {}).get("cluster")
    if low is not None:
        added = low["cross_hub_delay_ms"]
        targets["1000_per_hub_cross_hub_adds_le_50ms"] = all(
            added[q] is not None and added[q] <= 50 for q in ("added_p50", "added_p99")
        )
    return targets


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    grid: dict[str, Any] = {}
    capacity: dict[str, Any] = {}
    targets: dict[str, Any] = {}
    if args.hubs > 1:
        for n in args.listeners:
            grid[str(n)] = await cluster_point(n, args.rate, args)
        return summary(args, grid, capacity, cluster_targets(grid, args))
    for n in args.listeners:
        grid[str(n)] = await compare(n, args.rate, args)
    if args.capacity:
        n, rate = args.capacity
        capacity[f"{n}x{rate:g}"] = await compare(n, rate, args)
    top = grid.get("10000", {}).get("shopcast")
    if top is not None and args.rate == 50:
        targets["10000x50_p99_le_500ms_and_no_loss"] = bool(
            top["lost"] == 0 and (top["delay_ms"]["p99"] or 1e9) <= 500
        )
    mid = grid.get("5000", {})
    if "ratio_deliveries_per_s" in mid:
        targets["5000_ratio_ge_5"] = bool((mid["ratio_deliveries_per_s"] or 0) >= 5)
    for key, row in capacity.items():
        if key.startswith("5000x") and "ratio_deliveries_per_s" in row:
            targets[f"{key}_saturated_ratio_ge_5"] = bool(row["ratio_deliveries_per_s"] >= 5)
    return summary(args, grid, capacity, targets)


def summary(
    args: argparse.Namespace,
    grid: dict[str, Any],
    capacity: dict[str, Any],
    targets: dict[str, Any],
) -> dict[str, Any]:
    """The one JSON object: what was run, its results and which targets were met."""
    return {
        "bench": "chat_fanout",
        "params": {
            "hubs": args.hubs,
            "listeners": args.listeners,
            "rate_per_s": args.rate,
            "seconds": args.seconds,
            "drain_s": args.drain,
            "lost_means": "stamped comments a listener had not received drain_s after the "
            "last send (when the listeners stopped)",
            "delay_means": "kernel receive time of the read that brought the comment "
            "(SO_TIMESTAMPNS) minus its send stamp; read_delay_ms: when the listener "
            "process read it",
            "load_workers": args.workers,
            "cpus": os.cpu_count(),
        },
        "results": grid,
        "capacity": capacity,
        "targets": targets,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--listeners",
        default=None,
        help="comma-separated N, in all (default 1000,5000,10000; with --hubs H, 1000xH,10000xH)",
    )
    parser.add_argument("--rate", type=float, default=50.0, help="comments/s (default 50)")
    parser.add_argument("--seconds", type=float, default=20.0, help="send time T (default 20)")
    parser.add_argument(
        "--drain", type=float, default=10.0, help="seconds to wait after the last send (10)"
    )
    parser.add_argument("--workers", type=int, default=2, help="listener processes (2)")
    parser.add_argument("--batch", type=int, default=200, help="connections opened at once")
    parser.add_argument(
        "--servers", default=",".join(SERVERS), help="shopcast,node-ws (default both)"
    )
    parser.add_argument(
        "--profile-at",
        default="",
        help="N at which to sample the hub with py-spy (adds the hot spots to the output)",
    )
    parser.add_argument(
        "--profile-out",
        default="/tmp/hub-profile-{n}.txt",
        help="where py-spy's collapsed stacks go (default %(default)s)",
    )
    parser.add_argument(
        "--capacity",
        default="5000x100",
        help="NxR run after the grid, at a load that saturates both servers, so the ratio "
        "compares what each can deliver; R at most 100, a staff connection's comment limit "
        "('' to skip; default %(default)s)",
    )
    parser.add_argument(
        "--hubs",
        type=int,
        default=1,
        help="hubs sharing the show, on a PostgreSQL and a Redis of the bench's own; the "
        "listeners are split over them, the sender posts into hub 1 (default 1)",
    )
    parser.add_argument(
        "--compare",
        action="store_true",
        help="with --hubs H: beside each point, one hub with N/H listeners (same JSON)",
    )
    parser.add_argument("--quick", action="store_true", help="N=200, T=5 s")
    args = parser.parse_args(argv)
    if args.hubs < 1:
        parser.error("--hubs is at least 1")
    if args.compare and args.hubs == 1:
        parser.error("--compare puts a single-hub run beside a run on --hubs 2 or more")
    if args.listeners is None:
        args.listeners = (
            "1000,5000,10000" if args.hubs == 1 else f"{1000 * args.hubs},{10000 * args.hubs}"
        )
    if args.quick:
        args.listeners, args.seconds, args.drain, args.capacity = "200", 5.0, 5.0, ""
    args.listeners = [int(x) for x in str(args.listeners).split(",") if x]
    args.servers = [s for s in args.servers.split(",") if s]
    args.profile_at = {int(x) for x in args.profile_at.split(",") if x}
    if args.capacity:
        n, _, rate = args.capacity.partition("x")
        args.capacity = (int(n), float(rate))
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load.raise_nofile()
    try:
        result = asyncio.run(main_async(args))
    except MissingPackage as exc:
        load.log(f"chat_fanout: {exc}")
        return 2
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
