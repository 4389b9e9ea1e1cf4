"""Glass-to-glass latency: test-pattern capture to a frame presented in headless Chromium.

Each test-pattern frame carries its capture time in a strip of black and white cells
(``media/testpattern.py``). The page reads the strip of every presented frame through
``requestVideoFrameCallback`` and a canvas, and subtracts it from the presentation time;
both clocks are this machine's wall clock. Media flows over 127.0.0.1 only.

    python tests/bench/latency.py [--seconds 60] [--preset 720p]

Prints one JSON object: frames measured, decoded frame rate, latency p50/p95/max (ms),
and beside it the delay the page itself reported to the hub meanwhile (``playout``
messages: jitter buffer plus half the round trip, what the host's health line shows),
so the two can be compared.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from console import protocol
from media.testpattern import STAMP_BITS, stamp_height
from tests.support.browser import chromium
from tests.support.live import LiveHub

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
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="shopcast-latency-"))
    live = LiveHub(work / "data", args.preset)
    try:
        with chromium(work / "profiles") as browsers:
            context = browsers.profile()
            context.add_init_script(CAPTURE_REPORTS_JS)
            page = context.pages[0] if context.pages else context.new_page()
            page.goto(live.hub.viewer_url)
            deadline = time.monotonic() + 15
            while page.evaluate("document.querySelector('[data-testid=stream]').videoWidth") == 0:
                if time.monotonic() > deadline:
                    raise SystemExit("the video never started in the page")
                time.sleep(0.05)
            time.sleep(1.0)  # past the first keyframe's start-up
            strip = stamp_height(live.broadcast.preset.height)
            page.evaluate(MEASURE_JS, [STAMP_BITS, strip])
            reports_before = page.evaluate("window.__playout.length")
            print(f"measuring for {args.seconds:.0f} s…", file=sys.stderr)
            time.sleep(args.seconds)
            samples = page.evaluate("window.__measuring = false, window.__latency")
            reports = page.evaluate("window.__playout")[reports_before:]
            hub_figure = live.call(_hub_figure(live))
            width = page.evaluate("document.querySelector('[data-testid=stream]').videoWidth")
            height = page.evaluate("document.querySelector('[data-testid=stream]').videoHeight")
    finally:
        live.close()

    values = np.array(samples, dtype=float)
    # A frame whose stamp was misread (a compression artefact) gives an absurd value.
    sane = values[(values > -50) & (values < 5000)]
    result = {
        "bench": "latency",
        "preset": args.preset,
        "resolution": f"{width}x{height}",
        "seconds": args.seconds,
        "frames": int(sane.size),
        "misread_stamps": int(values.size - sane.size),
        "presented_fps": round(values.size / args.seconds, 1),
        "latency_ms": {
            "p50": round(float(np.percentile(sane, 50)), 1),
            "p95": round(float(np.percentile(sane, 95)), 1),
            "max": round(float(sane.max()), 1),
        },
        "target_ms": {"p50": 150, "p95": 250, "goal_p50": 100},
        "reported_playout_ms": {
            "reports": len(reports),
            "p50": round(float(np.percentile(reports, 50)), 1) if reports else None,
            "p95": round(float(np.percentile(reports, 95)), 1) if reports else None,
            "hub_median": hub_figure.median_ms,
            "hub_p95": hub_figure.p95_ms,
        },
    }
    print(json.dumps(result))
    return 0


async def _hub_figure(live: LiveHub) -> protocol.Playout:
    """What the host's console would show now (read on the hub's own loop)."""
    return live.hub.room.playout.snapshot()


if __name__ == "__main__":
    raise SystemExit(main())
