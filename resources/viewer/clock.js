// The hub's clock on this page, and how long a tap takes to reach the hub (issue 19:
// countdowns corrected for this viewer's own delay). Auctions, giveaways and deals end
// by the hub's clock, so what matters to a viewer is how long is left to *send* a bid
// or an entry that arrives in time. The page asks the hub its time (`clock`, answered
// with `now`) and keeps the answer with the shortest round trip, as NTP does: the
// hub's time then was `now` at the middle of the round trip, and the way there took
// about half of it. A phone's clock that is minutes off changes nothing.

// A few asks right after connecting, then one now and then: the connection's delay
// changes slowly, and ten thousand pages asking often would load the hub for nothing.
const FIRST_ASKS = 3;
const FIRST_GAP_MS = 1000;
const LATER_GAP_MS = 30000;
const KEPT_SAMPLES = 8;

// From samples {sent, received, hub} (seconds; `sent`/`received` on this page's clock),
// the offset to add to this page's clock for the hub's, and the one-way `lead`.
export function estimate(samples) {
  if (!samples.length) return null;
  const best = samples.reduce((a, b) => (b.received - b.sent < a.received - a.sent ? b : a));
  const trip = best.received - best.sent;
  return { offset: best.hub - (best.sent + trip / 2), lead: trip / 2 };
}

export function createHubClock({ send, pageNow = () => Date.now() / 1000 }) {
  let offset = 0;
  let lead = 0;
  let samples = [];
  const asked = new Map();
  let count = 0;
  let timer = null;

  function ask() {
    count += 1;
    const ref = `clock-${count}`;
    asked.set(ref, pageNow());
    send({ t: "clock", ref });
    timer = setTimeout(ask, count < FIRST_ASKS ? FIRST_GAP_MS : LATER_GAP_MS);
  }

  return {
    // The hub's time now, as well as this page knows it.
    now: () => pageNow() + offset,
    // Seconds left to send something that reaches the hub before `ends` (hub time).
    leftToSend: (ends) => ends - (pageNow() + offset) - lead,
    // The one-way delay to the hub, in seconds.
    lead: () => lead,
    // `welcome` carries the hub's time: a first guess until the first answer.
    welcome(hubNow) {
      if (!samples.length && typeof hubNow === "number" && hubNow > 0) {
        offset = hubNow - pageNow();
      }
    },
    answered(msg) {
      const sent = asked.get(msg.ref);
      if (sent === undefined || typeof msg.now !== "number") return;
      asked.delete(msg.ref);
      samples = [...samples, { sent, received: pageNow(), hub: msg.now }].slice(-KEPT_SAMPLES);
      ({ offset, lead } = estimate(samples));
    },
    start() {
      clearTimeout(timer);
      count = 0;
      ask();
    },
    // A new connection may take another path: its samples start afresh.
    stop() {
      clearTimeout(timer);
      timer = null;
      asked.clear();
      samples = [];
    },
  };
}
