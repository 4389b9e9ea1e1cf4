// The delay this viewer actually sees (issue 16), reported to the hub so the host can
// time a deal's last seconds by it. Every REPORT_INTERVAL_MS the page reads its peer
// connection's getStats(): the video's jitter buffer delay per frame over the period
// (the growth of jitterBufferDelay over that of jitterBufferEmittedCount) plus half the
// current round trip of the candidate pair in use, and sends `playout` with `delay_ms`
// (docs/protocol.md, "The delay viewers see"). It reads whichever peer connection plays
// the video (the console's own fan-out or an SFU), so the figure means the same for both.

// console/domain/playout.py: REPORT_INTERVAL and MAX_DELAY_MS.
const REPORT_INTERVAL_MS = 5000;
const MAX_DELAY_MS = 60000;

async function readStats(peer) {
  const report = await peer.getStats();
  const pairs = new Map();
  let video = null;
  let selected = null;
  report.forEach((entry) => {
    if (entry.type === "inbound-rtp" && entry.kind === "video") video = entry;
    else if (entry.type === "transport" && entry.selectedCandidatePairId) {
      selected = entry.selectedCandidatePairId;
    } else if (entry.type === "candidate-pair") pairs.set(entry.id, entry);
  });
  const pair =
    pairs.get(selected) || [...pairs.values()].find((p) => p.nominated && p.state === "succeeded");
  return {
    buffer: video ? video.jitterBufferDelay : undefined,
    emitted: video ? video.jitterBufferEmittedCount : undefined,
    rtt: pair && typeof pair.currentRoundTripTime === "number" ? pair.currentRoundTripTime : 0,
  };
}

export function createPlayout({ send }) {
  let peer = null;
  let timer = null;
  // The previous period's counters; before the first, the stream's start (all zero).
  let last = { buffer: 0, emitted: 0 };

  async function report() {
    const measured = peer;
    if (!measured) return;
    let now;
    try {
      now = await readStats(measured);
    } catch {
      return;
    }
    if (measured !== peer || typeof now.buffer !== "number" || typeof now.emitted !== "number") {
      return;
    }
    const before = last;
    last = now;
    const frames = now.emitted - before.emitted;
    // No frame left the buffer in this period: the viewer saw nothing, so says nothing.
    if (frames <= 0) return;
    const delay = ((now.buffer - before.buffer) / frames) * 1000 + (now.rtt * 1000) / 2;
    if (!Number.isFinite(delay) || delay < 0 || delay > MAX_DELAY_MS) return;
    send({ t: "playout", delay_ms: Math.round(delay) });
  }

  function stop() {
    clearInterval(timer);
    timer = null;
    peer = null;
    last = { buffer: 0, emitted: 0 };
  }

  // Measure `pc` from now on (a new peer connection starts from zero again).
  function start(pc) {
    stop();
    peer = pc;
    timer = setInterval(report, REPORT_INTERVAL_MS);
  }

  return { start, stop };
}
