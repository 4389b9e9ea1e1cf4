"""Host CPU per WebRTC viewer: encode once (Shopcast) against one encoder per viewer.

The host (this process) streams the 720p30 test pattern with audio to N aiortc viewers
that run in a child process, over 127.0.0.1. Two ways of serving them:

- ``shared``: Shopcast's ``Broadcast``: one H.264 and one Opus encode, the same packets
  to every viewer;
- ``relay``: aiortc's default, ``MediaRelay``: each viewer's sender encodes its own copy.

The viewers do not decode (their decoder thread only drains), so the figure is the
host's alone: its process CPU time over a window, as % of one core.

    python tests/bench/fanout.py [--viewers 1,2,5,20] [--seconds 10]

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import sys
import tempfile
import time
from fractions import Fraction
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import av
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

from media.capture import Capture
from media.encoder import PRESETS
from media.ice import configure_ice_hosts, rtc_configuration
from media.webrtc import Broadcast

WARM_UP = 3.0


# ------------------------------------------------------------------ viewers (child)


def _drain_without_decoding(
    loop: asyncio.AbstractEventLoop, input_q: Any, output_q: asyncio.Queue, decode_error: Any
) -> None:
    while input_q.get() is not None:
        pass
    asyncio.run_coroutine_threadsafe(output_q.put(None), loop)


def viewers_main(conn: Connection) -> None:
    import aiortc.rtcrtpreceiver

    aiortc.rtcrtpreceiver.decoder_worker = _drain_without_decoding
    configure_ice_hosts(["127.0.0.1"])
    asyncio.run(_viewers(conn))


async def _viewers(conn: Connection) -> None:
    loop = asyncio.get_running_loop()
    peers: list[RTCPeerConnection] = []
    while True:
        command, arg = await loop.run_in_executor(None, conn.recv)
        if command == "add":
            for _ in range(arg):
                pc = RTCPeerConnection(rtc_configuration())
                pc.addTransceiver("video", direction="recvonly")
                pc.addTransceiver("audio", direction="recvonly")
                await pc.setLocalDescription(await pc.createOffer())
                conn.send(("offer", pc.localDescription.sdp))
                answer = await loop.run_in_executor(None, conn.recv)
                await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
                peers.append(pc)
            conn.send(("added", len(peers)))
        elif command == "stats":
            packets = []
            for pc in peers:
                reports = (await pc.getStats()).values()
                packets.append(
                    sum(
                        r.packetsReceived
                        for r in reports
                        if r.type == "inbound-rtp" and r.kind == "video"
                    )
                )
            conn.send(("stats", packets))
        elif command == "close":
            await asyncio.gather(*(pc.close() for pc in peers))
            peers.clear()
            conn.send(("closed", 0))
        elif command == "quit":
            return


# ------------------------------------------------------------------ host (this process)


class CaptureTrack(VideoStreamTrack):
    """The capture's frames as a track, for aiortc to encode per viewer."""

    def __init__(self, capture: Capture) -> None:
        super().__init__()
        self._capture = capture
        self._seen = capture.frames_captured
        self._started = time.monotonic()

    async def recv(self) -> av.VideoFrame:
        frame = None
        while frame is None:
            frame = await asyncio.to_thread(self._capture.wait_newer, self._seen, 1.0)
        self._seen = self._capture.frames_captured
        # yuv420p, as a camera delivers: MediaRelay hands this one frame to every
        # viewer's encoder thread, and concurrent reformats of a shared frame crash PyAV.
        video = av.VideoFrame.from_ndarray(frame.image, format="rgb24").reformat(format="yuv420p")
        video.pts = int((time.monotonic() - self._started) * 90_000)
        video.time_base = Fraction(1, 90_000)
        return video


class RelayHost:
    """aiortc's default fan-out: MediaRelay, one encoder per viewer."""

    def __init__(self, capture: Capture) -> None:
        self._relay = MediaRelay()
        self._video = CaptureTrack(capture)
        self._audio = AudioStreamTrack()
        self._pcs: list[RTCPeerConnection] = []

    def start(self) -> None:
        pass

    async def answer(self, key: str, offer: str) -> str:
        pc = RTCPeerConnection(rtc_configuration())
        pc.addTrack(self._relay.subscribe(self._video))
        pc.addTrack(self._relay.subscribe(self._audio))
        await pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        self._pcs.append(pc)
        return pc.localDescription.sdp

    async def stop(self) -> None:
        await asyncio.gather(*(pc.close() for pc in self._pcs))


async def measure(mode: str, count: int, seconds: float, conn: Connection) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    capture = Capture("test")
    capture.start()
    host: Broadcast | RelayHost = (
        Broadcast(capture, PRESETS["720p"]) if mode == "shared" else RelayHost(capture)
    )
    host.start()
    try:
        conn.send(("add", count))
        for index in range(count):
            kind, offer = await loop.run_in_executor(None, conn.recv)
            assert kind == "offer"
            conn.send(await host.answer(f"viewer-{index}", offer))
        kind, _ = await loop.run_in_executor(None, conn.recv)
        assert kind == "added"
        await asyncio.sleep(WARM_UP)
        conn.send(("stats", None))
        _, before = await loop.run_in_executor(None, conn.recv)
        cpu0, wall0 = time.process_time(), time.monotonic()
        await asyncio.sleep(seconds)
        cpu1, wall1 = time.process_time(), time.monotonic()
        conn.send(("stats", None))
        _, after = await loop.run_in_executor(None, conn.recv)
        conn.send(("close", None))
        await loop.run_in_executor(None, conn.recv)
    finally:
        await host.stop()
        capture.stop()
    wall = wall1 - wall0
    rates = [(b - a) / wall for a, b in zip(before, after, strict=True)]
    return {
        "viewers": count,
        "cpu_percent_of_one_core": round((cpu1 - cpu0) / wall * 100, 1),
        "viewers_receiving": sum(1 for r in rates if r > 0),
        "video_packets_per_s_per_viewer_min": round(min(rates), 1),
        "video_packets_per_s_per_viewer_max": round(max(rates), 1),
    }


def per_added_viewer(rows: list[dict[str, Any]]) -> tuple[float, int | None]:
    """CPU per added viewer, from runs that still deliver the full frame rate.

    Once the machine saturates, more viewers only get fewer frames each and the CPU
    stops growing: a slope across that point would flatter the saturated way. Returns
    the slope and the first viewer count that no longer got the full rate, if any.
    """
    full_rate = rows[0]["video_packets_per_s_per_viewer_min"]
    healthy = [r for r in rows if r["video_packets_per_s_per_viewer_min"] >= 0.9 * full_rate]
    saturated = next((r["viewers"] for r in rows if r not in healthy), None)
    first, last = healthy[0], healthy[-1]
    extra = last["viewers"] - first["viewers"]
    if extra == 0:
        return float("nan"), saturated
    slope = (last["cpu_percent_of_one_core"] - first["cpu_percent_of_one_core"]) / extra
    return round(slope, 2), saturated


async def run(counts: list[int], seconds: float, conn: Connection) -> dict[str, Any]:
    configure_ice_hosts(["127.0.0.1"])
    result: dict[str, Any] = {"bench": "fanout", "resolution": "1280x720", "fps": 30}
    for mode in ("shared", "relay"):
        rows = []
        for count in counts:
            print(f"{mode}: {count} viewers…", file=sys.stderr)
            rows.append(await measure(mode, count, seconds, conn))
        slope, saturated = per_added_viewer(rows)
        result[mode] = {
            "runs": rows,
            "cpu_per_added_viewer": slope,
            "full_rate_lost_at_viewers": saturated,
        }
    shared = result["shared"]["cpu_per_added_viewer"]
    relay = result["relay"]["cpu_per_added_viewer"]
    result["ratio_relay_to_shared_per_viewer"] = round(relay / shared, 1) if shared > 0 else None
    result["note"] = (
        "cpu_per_added_viewer is the slope over the runs where every viewer still got the "
        "full frame rate; past full_rate_lost_at_viewers the machine is saturated"
    )
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", default="1,2,5,20")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    counts = [int(n) for n in args.viewers.split(",")]
    tempfile.tempdir = tempfile.mkdtemp(prefix="shopcast-fanout-")
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    viewers = ctx.Process(target=viewers_main, args=(child,), daemon=True)
    viewers.start()
    try:
        result = asyncio.run(run(counts, args.seconds, parent))
    finally:
        parent.send(("quit", None))
        viewers.join(10)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
