"""Glass-to-glass latency: test-pattern capture to a frame presented in headless Chromium.

Each test-pattern frame carries its capture time in a strip of black and white cells
(``media/testpattern.py``). The page reads the strip of every presented frame through
``requestVideoFrameCallback`` and a canvas, and subtracts it from the presentation time;
both clocks are this machine's wall clock. Media flows over 127.0.0.1 only (the default).

    python tests/bench/latency.py [--seconds 60] [--preset 720p] [--via embedded|sfu]

``--via sfu`` measures the same through a real Janus: the console publishes by WHIP, the
headless hub brokers the page's subscription, all in a network namespace (run as root).

Prints one JSON object: frames measured, decoded frame rate, latency p50/p95/max (ms),
and beside it the delay the page itself reported to the hub meanwhile (``playout``
messages: jitter buffer plus half the round trip, what the host's health line shows),
so the two can be compared.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from playwright.sync_api import Page

from console import protocol
from media.encoder import PRESETS
from media.testpattern import STAMP_BITS, stamp_height
from tests.bench.sfu_show import sfu_show
from tests.support.browser import Chromium, chromium
from tests.support.live import CAPTURE_PEERS_JS, LiveHub

#: The issue's targets (issue 16 for the SFU) and how far the page's own figure may be.
TARGETS = {
    "embedded": {"p50": 150, "p95": 250, "goal_p50": 100},
    "sfu": {"p50": 120, "p95": 200, "goal_p50": 100},
}
REPORTED_WITHIN_MS = 50
START_TIMEOUT = 15.0

# Runs in the page before its own scripts: keeps the delays the page reports to the hub.
CAPTURE_REPORTS_JS = """
window.__playout = [];
const nativeSend = WebSocket.prototype.send;
WebSocket.prototype.send = function (data) {
  if (typeof data === 'string' && data.includes('"playout"')) {
    window.__playout.push(JSON.parse(data).delay_ms);
  }
  return nativeSend.call(this, data);
};
"""

# Runs in the page: the video receiver's running totals (seconds) and the round trip, to
# split the glass-to-glass time into what the page can see and what it cannot.
RECEIVER_JS = """async () => {
  const pc = window.__peers[window.__peers.length - 1];
  const out = {buffer: 0, emitted: 0, decode: 0, processing: 0, decoded: 0, rtt: 0};
  if (!pc) return out;
  (await pc.getStats()).forEach((r) => {
    if (r.type === 'inbound-rtp' && r.kind === 'video') {
      out.buffer = r.jitterBufferDelay || 0; out.emitted = r.jitterBufferEmittedCount || 0;
      out.decode = r.totalDecodeTime || 0; out.decoded = r.framesDecoded || 0;
      out.processing = r.totalProcessingDelay || 0;
    }
    if (r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded') {
      out.rtt = r.currentRoundTripTime || 0;
    }
  });
  return out;
}"""

# Runs in the page: one sample per presented frame, until told to stop.
MEASURE_JS = """([bits, stripRows]) => {
  const video = document.querySelector('[data-testid=stream]');
  const canvas = document.createElement('canvas');
  const ctx = canvas.getContext('2d', {willReadFrequently: true});
  window.__latency = [];
  window.__measuring = true;
  const onFrame = (now, meta) => {
    if (!window.__measuring) return;
    const w = meta.width, h = meta.height;
    const rows = stripRows;
    canvas.width = w; canvas.height = rows;
    ctx.drawImage(video, 0, 0, w, rows, 0, 0, w, rows);
    const cell = Math.floor(w / bits);
    const row = ctx.getImageData(0, Math.floor(rows / 2), w, 1).data;
    let value = 0n;
    for (let i = 0; i < bits; i++) {
      const x = i * cell + Math.floor(cell / 2);
      const luma = (row[4 * x] + row[4 * x + 1] + row[4 * x + 2]) / 3;
      value = (value << 1n) | (luma > 128 ? 1n : 0n);
    }
    const captured = Number(value & ((1n << 48n) - 1n));
    const shown = performance.timeOrigin + meta.presentationTime;
    window.__latency.push(shown % 2 ** 48 - captured);
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
}"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--preset", default="720p", choices=("360p", "540p", "720p", "1080p"))
    parser.add_argument(
        "--via",
        default="embedded",
        choices=("embedded", "sfu"),
        help="embedded: the host's own fan-out in this process; sfu: the console publishes "
        "by WHIP to a real Janus and the headless hub brokers the page (needs root)",
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="shopcast-latency-"))
    load_before = os.getloadavg()[0]
    measured = via_sfu(work, args) if args.via == "sfu" else embedded(work, args)
    samples, reports, (width, height), hub_median, hub_p95, receiver = measured

    values = np.array(samples, dtype=float)
    # A frame whose stamp was misread (a compression artefact) gives an absurd value.
    sane = values[(values > -50) & (values < 5000)]
    p50 = float(np.percentile(sane, 50))
    reported_p50 = float(np.percentile(reports, 50)) if reports else None
    result = {
        "bench": "latency",
        "via": args.via,
        "preset": args.preset,
        "resolution": f"{width}x{height}",
        "seconds": args.seconds,
        "frames": int(sane.size),
        "misread_stamps": int(values.size - sane.size),
        "presented_fps": round(values.size / args.seconds, 1),
        "latency_ms": {
            "p50": round(p50, 1),
            "p95": round(float(np.percentile(sane, 95)), 1),
            "max": round(float(sane.max()), 1),
        },
        "target_ms": TARGETS[args.via],
        "reported_playout_ms": {
            "reports": len(reports),
            "p50": round(reported_p50, 1) if reported_p50 is not None else None,
            "p95": round(float(np.percentile(reports, 95)), 1) if reports else None,
            "hub_median": hub_median,
            "hub_p95": hub_p95,
        },
        "glass_to_glass_minus_reported_p50_ms": (
            round(p50 - reported_p50, 1) if reported_p50 is not None else None
        ),
        "reported_within_ms_target": REPORTED_WITHIN_MS,
        # Per frame over the window, from the page's getStats: the part of the delay the
        # page can see (processing = first packet in to decoded, so it holds the jitter
        # buffer and decoding); the rest is capture, encoding, the network and display.
        "receiver_ms": receiver,
        # The machine is shared: a late frame grows the page's jitter buffer, so a busy
        # machine shows in both figures.
        "machine_load_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "cores": os.cpu_count(),
    }
    print(json.dumps(result))
    return 0


Sampled = tuple[list[float], list[float], tuple[int, int], dict[str, float]]
Measured = tuple[
    list[float], list[float], tuple[int, int], int | None, int | None, dict[str, float]
]


def embedded(work: Path, args: argparse.Namespace) -> Measured:
    """The hub and its broadcast in this process, the page on 127.0.0.1."""
    live = LiveHub(work / "data", args.preset)
    try:
        with chromium(work / "profiles") as browsers:
            page = open_page(browsers, live.hub.viewer_url)
            samples, reports, size, receiver = measure(
                page, PRESETS[args.preset].height, args.seconds
            )
            hub_figure = live.call(_hub_figure(live))
    finally:
        live.close()
    return samples, reports, size, hub_figure.median_ms, hub_figure.p95_ms, receiver


def via_sfu(work: Path, args: argparse.Namespace) -> Measured:
    """The console live by WHIP to Janus, the headless hub brokering the page: all in a
    network namespace (tests/bench/sfu_show.py), Chromium too. The hub runs in its own
    process, so its aggregate is not read here: the page's own reports are the figure."""
    with sfu_show(work) as show, contextlib.ExitStack() as stack:
        viewer_page = show.start_hub()
        show.start_console(args.preset)
        show.publisher()
        # Playwright's driver and its Chromium in the namespace: Janus offers media there.
        with show.namespace.inside():
            browsers = stack.enter_context(chromium(work / "profiles"))
        page = open_page(browsers, viewer_page)
        samples, reports, size, receiver = measure(page, PRESETS[args.preset].height, args.seconds)
    return samples, reports, size, None, None, receiver


def open_page(browsers: Chromium, url: str) -> Page:
    """The viewer page, playing, past its first keyframe's start-up."""
    context = browsers.profile()
    context.add_init_script(CAPTURE_REPORTS_JS)
    context.add_init_script(CAPTURE_PEERS_JS)
    page = context.pages[0] if context.pages else context.new_page()
    page.goto(url)
    deadline = time.monotonic() + START_TIMEOUT
    while page.evaluate("document.querySelector('[data-testid=stream]').videoWidth") == 0:
        if time.monotonic() > deadline:
            raise SystemExit("the video never started in the page")
        time.sleep(0.05)
    time.sleep(1.0)
    return page


def measure(page: Page, height: int, seconds: float) -> Sampled:
    """Glass-to-glass samples of every frame presented over ``seconds``, the delays the
    page reported meanwhile, the video's size, and the receiver's delays per frame."""
    page.evaluate(MEASURE_JS, [STAMP_BITS, stamp_height(height)])
    reports_before = page.evaluate("window.__playout.length")
    before = page.evaluate(RECEIVER_JS)
    print(f"measuring for {seconds:.0f} s…", file=sys.stderr)
    time.sleep(seconds)
    samples = page.evaluate("window.__measuring = false, window.__latency")
    after = page.evaluate(RECEIVER_JS)
    reports = page.evaluate("window.__playout")[reports_before:]
    size = page.evaluate(
        "(() => { const v = document.querySelector('[data-testid=stream]');"
        " return [v.videoWidth, v.videoHeight]; })()"
    )
    return samples, reports, (int(size[0]), int(size[1])), _per_frame(before, after)


def _per_frame(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    emitted = max(after["emitted"] - before["emitted"], 1)
    decoded = max(after["decoded"] - before["decoded"], 1)
    return {
        "jitter_buffer": round((after["buffer"] - before["buffer"]) / emitted * 1000, 1),
        "decode": round((after["decode"] - before["decode"]) / decoded * 1000, 1),
        "processing": round((after["processing"] - before["processing"]) / decoded * 1000, 1),
        "half_rtt": round(after["rtt"] / 2 * 1000, 1),
    }


async def _hub_figure(live: LiveHub) -> protocol.Playout:
    """What the host's console would show now (read on the hub's own loop)."""
    return live.hub.room.playout.snapshot()


if __name__ == "__main__":
    raise SystemExit(main())
