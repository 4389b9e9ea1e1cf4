"""SFU CPU per viewer: Janus forwarding the show against the embedded path, same run.

The console publishes the 720p30 test pattern with a tone once, by WHIP, to a real Janus
(``python -m console.sfu``), all inside a network namespace (tests/bench/sfu_show.py).
Receive-only aiortc viewers subscribe to the show's VideoRoom as the hub's broker does
(join as subscriber to the audio and the H.264 video, by mid, answer Janus's offer,
start), in worker processes of their own;
they count the frames their jitter buffer assembles but do not decode them, so they
stay light. For N = 1, 25, 50, 100 the figure is Janus's own CPU time (every thread,
from /proc/<pid>/stat) over a fixed window, as % of one core, and its slope per added
viewer. Then the embedded path, where the host's process sends each viewer its copy
(``tests/bench/fanout.py``'s shared mode), is measured the same way, for the ratio.

    sudo python tests/bench/sfu_fanout.py [--viewers 1,25,50,100] [--seconds 10]
        [--embedded-viewers 1,10,25] [--workers 4]

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from aiortc import RTCPeerConnection, RTCSessionDescription

from console.hub.sfu import feed_streams, pick_streams
from console.sfu.config import DEFAULT_ROOM
from console.sfu.janus import JanusConnection
from media.ice import configure_ice_hosts, rtc_configuration
from tests.bench import fanout
from tests.bench.sfu_show import SfuShow, process_cpu_seconds, sfu_show

WARM_UP = 4.0
#: Janus ends a session idle this long before its 60 s timeout.
KEEPALIVE = 20.0
#: A viewer who decodes this many frames a second or more still gets the show (the
#: end-to-end test's bar, tests/test_sfu_janus.py); below it the receivers, not Janus,
#: are the limit and the run leaves the slope.
FULL_RATE_FPS = 24.0
TARGET_PER_VIEWER = 0.2
GOAL_PER_VIEWER = 0.1
TARGET_RATIO = 8.0

# ------------------------------------------------------------------ viewers (workers)

#: Encoded frames each receiver's jitter buffer handed on, by the id of its track's queue.
_frames: dict[int, int] = {}


def _count_frames(loop: Any, input_q: Any, output_q: asyncio.Queue, decode_error: Any) -> None:
    """aiortc's decoder thread, counting assembled frames instead of decoding them."""
    key = id(output_q)
    _frames[key] = 0
    while input_q.get() is not None:
        _frames[key] += 1
    asyncio.run_coroutine_threadsafe(output_q.put(None), loop)


class Viewers:
    """Receive-only aiortc subscribers to ``feed``, on one Janus session."""

    def __init__(self, janus: JanusConnection, session: int, feed: int) -> None:
        self._janus = janus
        self._session = session
        self._feed = feed
        self._peers: list[RTCPeerConnection] = []
        self._picked: list[dict[str, Any]] | None = None

    async def _streams(self) -> list[dict[str, Any]]:
        """The audio and the H.264 video a page gets, by mid, picked as the hub's broker
        picks them: the show also sends VP8, which a real viewer never gets with H.264."""
        if self._picked is None:
            handle = await self._janus.attach(self._session)
            body = {"request": "join", "room": DEFAULT_ROOM, "ptype": "subscriber"}
            data, _ = await self._janus.negotiate(
                self._session, handle, {**body, "streams": [{"feed": self._feed}]}
            )
            await self._janus.detach(self._session, handle)
            pick = pick_streams(feed_streams(data.get("streams", [])), None)
            assert pick is not None, "the show sends no video a page plays"
            self._picked = [{"feed": self._feed, "mid": mid} for mid in pick.mids]
        return self._picked

    async def add(self) -> None:
        streams = await self._streams()
        handle = await self._janus.attach(self._session)
        body = {
            "request": "join",
            "room": DEFAULT_ROOM,
            "ptype": "subscriber",
            "streams": streams,
        }
        _, offer = await self._janus.negotiate(self._session, handle, body)
        assert offer is not None, "Janus joined a subscriber without an offer"
        pc = RTCPeerConnection(rtc_configuration())
        await pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], "offer"))
        for transceiver in pc.getTransceivers():
            # aiortc estimates the bandwidth for REMB in Python on every video packet,
            # which made the receivers, not Janus, the limit near 25 viewers on 2 cores;
            # Janus's VideoRoom caps the publisher by the room, not by subscribers' REMB.
            transceiver.receiver._RTCRtpReceiver__remote_bitrate_estimator = None  # type: ignore[attr-defined]
        await pc.setLocalDescription(await pc.createAnswer())
        jsep = {"type": "answer", "sdp": pc.localDescription.sdp, "trickle": False}
        start = {"request": "start", "room": DEFAULT_ROOM}
        await self._janus.negotiate(self._session, handle, start, jsep)
        self._peers.append(pc)

    async def stats(self) -> dict[str, list[int]]:
        packets, frames = [], []
        for pc in self._peers:
            reports = (await pc.getStats()).values()
            packets.append(
                sum(
                    r.packetsReceived
                    for r in reports
                    if r.type == "inbound-rtp" and r.kind == "video"
                )
            )
            video = [
                t.receiver for t in pc.getTransceivers() if t.kind == "video" and t.receiver._track
            ]
            frames.append(sum(_frames.get(id(r._track._queue), 0) for r in video))
        return {"packets": packets, "frames": frames}

    async def close(self) -> None:
        await asyncio.gather(*(pc.close() for pc in self._peers))


async def _worker(janus_api: str, secret: str, feed: int, host: str) -> None:
    import aiortc.rtcrtpreceiver

    aiortc.rtcrtpreceiver.decoder_worker = _count_frames
    configure_ice_hosts([host])
    loop = asyncio.get_running_loop()
    async with await JanusConnection.open(janus_api, secret) as janus:
        session = await janus.session()
        viewers = Viewers(janus, session, feed)

        async def keep_alive() -> None:
            while True:
                await asyncio.sleep(KEEPALIVE)
                await janus.keepalive(session)

        alive = asyncio.create_task(keep_alive())
        try:
            while line := await loop.run_in_executor(None, sys.stdin.readline):
                command = json.loads(line)
                if "add" in command:
                    for _ in range(command["add"]):
                        await viewers.add()
                    reply: dict[str, Any] = {"added": command["add"]}
                else:
                    reply = await viewers.stats()
                print(json.dumps(reply), flush=True)
        finally:
            alive.cancel()
            await viewers.close()


class Workers:
    """Worker processes in the namespace, the viewers spread evenly over them."""

    def __init__(self, show: SfuShow, feed: int, count: int) -> None:
        argv = [
            sys.executable, __file__, "--worker", show.janus_api, show.api_secret, str(feed),
            show.namespace.client,
        ]  # fmt: skip
        self._show = show
        self._procs = [
            show.spawn(argv, f"viewers-{n}.log", stdin=-1, stdout=-1) for n in range(count)
        ]
        self.viewers = 0

    def _ask(self, commands: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for proc, command in zip(self._procs, commands, strict=True):
            assert proc.stdin is not None
            proc.stdin.write(json.dumps(command) + "\n")
            proc.stdin.flush()
        replies = []
        for proc in self._procs:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError(f"a viewers' worker stopped:\n{self._show.logs()}")
            replies.append(json.loads(line))
        return replies

    def grow_to(self, total: int) -> None:
        """Add viewers, round robin, until there are ``total``."""
        extra = total - self.viewers
        share = [
            extra // len(self._procs) + (n < extra % len(self._procs))
            for n in range(len(self._procs))
        ]
        self._ask([{"add": k} for k in share])
        self.viewers = total

    def cpu_seconds(self) -> float:
        """The viewers' own CPU time (``ip netns exec`` execs the worker: same pid)."""
        return sum(process_cpu_seconds(proc.pid) for proc in self._procs)

    def stats(self) -> dict[str, list[int]]:
        merged: dict[str, list[int]] = {"packets": [], "frames": []}
        for reply in self._ask([{"stats": True}] * len(self._procs)):
            merged["packets"] += reply["packets"]
            merged["frames"] += reply["frames"]
        return merged


def measure_janus(show: SfuShow, workers: Workers, count: int, seconds: float) -> dict[str, Any]:
    """Janus's CPU over ``seconds`` with ``count`` viewers, and what they received."""
    janus = show.pid("janus")
    workers.grow_to(count)
    time.sleep(WARM_UP)
    before = workers.stats()
    idle0, viewers0 = machine_idle_seconds(), workers.cpu_seconds()
    cpu0, wall0 = process_cpu_seconds(janus), time.monotonic()
    time.sleep(seconds)
    cpu1, wall1 = process_cpu_seconds(janus), time.monotonic()
    idle1, viewers1 = machine_idle_seconds(), workers.cpu_seconds()
    after = workers.stats()
    wall = wall1 - wall0
    packets = [(b - a) / wall for a, b in zip(before["packets"], after["packets"], strict=True)]
    frames = [(b - a) / wall for a, b in zip(before["frames"], after["frames"], strict=True)]
    return {
        "viewers": count,
        "cpu_percent_of_one_core": round((cpu1 - cpu0) / wall * 100, 2),
        "viewers_receiving": sum(1 for r in frames if r > 0),
        "frames_per_s_per_viewer_min": round(min(frames), 1),
        "frames_per_s_per_viewer_max": round(max(frames), 1),
        "video_packets_per_s_per_viewer_min": round(min(packets), 1),
        "video_packets_per_s_per_viewer_max": round(max(packets), 1),
        # Why a run misses the full rate: the receivers' CPU and what the machine had left.
        "viewers_cpu_percent_of_one_core": round((viewers1 - viewers0) / wall * 100, 1),
        "machine_idle_cores": round((idle1 - idle0) / wall, 2),
    }


def machine_idle_seconds() -> float:
    """Idle time of every core together since boot (/proc/stat's ``cpu`` line)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()
    return int(fields[4]) / os.sysconf("SC_CLK_TCK")


def janus_per_added_viewer(rows: list[dict[str, Any]]) -> tuple[float | None, int | None]:
    """Janus's slope over the runs where every viewer decoded ``FULL_RATE_FPS`` or more;
    the first viewer count that did not, if any."""
    healthy = [r for r in rows if r["frames_per_s_per_viewer_min"] >= FULL_RATE_FPS]
    saturated = next((r["viewers"] for r in rows if r not in healthy), None)
    if len(healthy) < 2:
        return None, saturated
    first, last = healthy[0], healthy[-1]
    extra = last["viewers"] - first["viewers"]
    cpu = last["cpu_percent_of_one_core"] - first["cpu_percent_of_one_core"]
    return round(cpu / extra, 3), saturated


def measure_sfu(counts: list[int], seconds: float, workers: int, folder: Path) -> dict[str, Any]:
    with sfu_show(folder) as show:
        show.start_console()
        feed = show.publisher()
        janus = show.pid("janus")
        time.sleep(WARM_UP)
        cpu0, wall0 = process_cpu_seconds(janus), time.monotonic()
        time.sleep(seconds)
        idle = (process_cpu_seconds(janus) - cpu0) / (time.monotonic() - wall0) * 100
        pool = Workers(show, feed, workers)
        rows = []
        for count in counts:
            print(f"janus: {count} viewers…", file=sys.stderr)
            rows.append(measure_janus(show, pool, count, seconds))
    slope, saturated = janus_per_added_viewer(rows)
    return {
        "publisher_only_cpu_percent": round(idle, 2),
        "runs": rows,
        "cpu_per_added_viewer": slope,
        "full_rate_lost_at_viewers": saturated,
    }


def per_added_viewer(rows: list[dict[str, Any]]) -> tuple[float | None, int | None]:
    """``fanout.per_added_viewer``, with no slope (JSON's null, not NaN) when fewer than two
    runs kept the full rate."""
    slope, saturated = fanout.per_added_viewer(rows)
    return (None if math.isnan(slope) else slope), saturated


def measure_embedded(counts: list[int], seconds: float) -> dict[str, Any]:
    """``fanout.py``'s shared mode: the host's process serving each viewer its copy."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    viewers = ctx.Process(target=fanout.viewers_main, args=(child,), daemon=True)
    viewers.start()

    async def runs() -> list[dict[str, Any]]:
        configure_ice_hosts(["127.0.0.1"])
        found = []
        for count in counts:
            print(f"embedded: {count} viewers…", file=sys.stderr)
            found.append(await fanout.measure("shared", count, seconds, parent))
        return found

    try:
        rows = asyncio.run(runs())
    finally:
        parent.send(("quit", None))
        viewers.join(10)
    slope, saturated = per_added_viewer(rows)
    return {"runs": rows, "cpu_per_added_viewer": slope, "full_rate_lost_at_viewers": saturated}


def main() -> int:
    if sys.argv[1:2] == ["--worker"]:
        janus_api, secret, feed, host = sys.argv[2:6]
        asyncio.run(_worker(janus_api, secret, int(feed), host))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", default="1,25,50,100")
    parser.add_argument("--embedded-viewers", default="1,10,25")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=4, help="viewer processes for Janus")
    args = parser.parse_args()
    counts = [int(n) for n in args.viewers.split(",")]
    embedded_counts = [int(n) for n in args.embedded_viewers.split(",")]
    work = Path(tempfile.mkdtemp(prefix="shopcast-sfu-fanout-"))
    tempfile.tempdir = str(work)
    sfu = measure_sfu(counts, args.seconds, args.workers, work)
    embedded = measure_embedded(embedded_counts, args.seconds)
    janus_slope = sfu["cpu_per_added_viewer"]
    embedded_slope = embedded["cpu_per_added_viewer"]
    result = {
        "bench": "sfu_fanout",
        "resolution": "1280x720",
        "fps": 30,
        "seconds": args.seconds,
        "janus": sfu,
        "embedded": embedded,
        "ratio_embedded_to_janus_per_viewer": (
            round(embedded_slope / janus_slope, 1)
            if janus_slope and embedded_slope is not None and janus_slope > 0
            else None
        ),
        "target": {
            "janus_per_viewer_max": TARGET_PER_VIEWER,
            "goal_per_viewer_max": GOAL_PER_VIEWER,
            "ratio_min": TARGET_RATIO,
        },
        "note": "cpu_per_added_viewer: % of one core; Janus's process only, over the runs "
        f"where every viewer decoded >= {FULL_RATE_FPS:g} frames/s; the embedded path: the "
        "host's process, over the runs that kept fanout.py's full packet rate",
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
