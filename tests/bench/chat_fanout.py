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
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import load

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


async def one_run(kind: str, n: int, rate: float, args: argparse.Namespace) -> dict[str, Any]:
    wd = load.workdir(f"bench-{kind}-")
    server = load.start_server(kind, wd)
    load.log(f"{kind}: pid {server.pid} on port {server.port}; connecting {n} listeners")
    report: dict[str, Any] = {}
    profile: subprocess.Popen[bytes] | None = None
    try:
        pool = load.LoadPool(server, n, workers=args.workers, batch=args.batch)
        try:
            report["connect"] = await pool.connect()
            load.log(f"{kind}: connected {report['connect']}")
            sender = await load.open_sender(server)
            await asyncio.sleep(1.5)  # let the join-time presence update go out
            await pool.go()
            if kind == "shopcast" and n in args.profile_at:
                out = Path(args.profile_out.format(n=n))
                profile = _profile_start(server.pid, args.seconds, out)
            machine = load.MachineLoad()
            cpu0 = server.cpu_seconds()
            t0 = time.monotonic_ns() + 200_000_000
            sent = await load.run_sender(sender, rate, args.seconds, t0)
            cpu1 = server.cpu_seconds()
            load.log(f"{kind}: sent {sent['sent']}; draining")
            results = await pool.finish(sent, sent["last_ns"] + int(args.drain * 1e9))
            cpu2 = server.cpu_seconds()
            report["machine"] = machine.stop(cpu2 - cpu0, sum(results["worker_cpu_s"]))
            report.update(load.delivery_report(results, sent, n * rate))
            send_s = (sent["last_ns"] - sent["first_ns"]) / 1e9 + 1 / rate
            report["server_cpu"] = {
                "sending_s": round(cpu1 - cpu0, 2),
                "sending_util": round((cpu1 - cpu0) / send_s, 2),
                "total_s": round(cpu2 - cpu0, 2),
            }
            report["server_rss_mb"] = server.rss_mb()
            report["load_worker_cpu_s"] = results["worker_cpu_s"]
            report["listeners_closed"] = results["closed_during"]
            report["close_codes"] = dict(results["close_codes"])
            report["sender"] = {
                k: sent[k] for k in ("sent", "acked", "errors", "max_lag_ms") if sent[k] is not None
            }
            await sender.close()
        finally:
            await pool.close()
    finally:
        if profile is not None:
            try:
                profile.wait(30)
                report["profile"] = hot_spots(out)
                report["profile"]["collapsed"] = str(out)
            except Exception as exc:  # a profile is a bonus, never the result
                report["profile"] = {"error": repr(exc)}
                profile.kill()
        report["server"] = server.stop()
        shutil.rmtree(wd, ignore_errors=True)
    load.log(
        f"{kind} N={n}: {report.get('deliveries_per_s')} deliveries/s, lost {report.get('lost')}, "
        f"delay {report.get('delay_ms')}"
    )
    return report


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


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    grid: dict[str, Any] = {}
    for n in args.listeners:
        grid[str(n)] = await compare(n, args.rate, args)
    capacity: dict[str, Any] = {}
    if args.capacity:
        n, rate = args.capacity
        capacity[f"{n}x{rate:g}"] = await compare(n, rate, args)
    targets: dict[str, Any] = {}
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
    return {
        "bench": "chat_fanout",
        "params": {
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
        "--listeners", default="1000,5000,10000", help="comma-separated N (default %(default)s)"
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
    parser.add_argument("--quick", action="store_true", help="N=200, T=5 s")
    args = parser.parse_args(argv)
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
    result = asyncio.run(main_async(args))
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
