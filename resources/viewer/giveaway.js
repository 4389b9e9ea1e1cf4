// A giveaway on the viewer page (docs/protocol.md, "Giveaways"). The hub's `giveaway`
// events carry its state: the prize, the end on the hub's clock, and from the start the
// SHA-256 of the seed it will draw with (the commitment). At the draw the hub reveals the
// seed and the entries, and this page checks the draw itself with SubtleCrypto: the seed
// is the one committed to, and the winner follows from it by the rule in
// console/domain/giveaway.py. Every string from the network is set with textContent.

import { el, elUser } from "./dom.js";

const bytes = (hex) => Uint8Array.from(hex.match(/../g) || [], (h) => parseInt(h, 16));
const hex = (buffer) =>
  Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");

// "ok", "bad seed" or "bad winner: <who the rule gives>".
export async function checkDraw({ commitment, seed, entries, winner }) {
  const seedBytes = bytes(seed);
  if (hex(await crypto.subtle.digest("SHA-256", seedBytes)) !== commitment) return "bad seed";
  const sorted = [...new Set(entries)].sort();
  if (sorted.length === 0) return winner == null ? "ok" : "bad winner";
  const list = new TextEncoder().encode(sorted.join("\n"));
  const message = new Uint8Array(seedBytes.length + 1 + list.length);
  message.set(seedBytes, 0);
  message[seedBytes.length] = 0x0a;
  message.set(list, seedBytes.length + 1);
  const digest = hex(await crypto.subtle.digest("SHA-256", message));
  const index = Number(BigInt("0x" + digest) % BigInt(sorted.length));
  return sorted[index] === winner ? "ok" : "bad winner: " + sorted[index];
}

function clock(seconds) {
  const left = Math.max(0, Math.ceil(seconds));
  return `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
}

export function createGiveaway({ send, makeRef, hubClock, viewerId, onShown }) {
  let state = null; // the hub's last `giveaway`
  let entered = null; // the giveaway id this viewer entered
  let message = "";
  let verdict = ""; // the page's own check of the draw
  let timer = null;
  const box = el("section", "giveaway");
  box.dataset.testid = "giveaway";
  box.hidden = true;
  const countdown = el("p", "giveaway-countdown");
  countdown.dataset.testid = "giveaway-countdown";
  const enter = el("button", "button giveaway-enter", "Enter");
  enter.type = "button";
  enter.dataset.testid = "giveaway-enter";
  enter.addEventListener("click", () => {
    if (!state) return;
    message = "";
    send({ t: "enter_giveaway", giveaway_id: state.giveaway_id, ref: makeRef("giveaway") });
  });

  function tick() {
    if (!state || state.status !== "open") return;
    const left = hubClock.leftToSend(state.ends);
    countdown.textContent = left > 0 ? `${clock(left)} to enter` : "Entries closed: the draw is next";
    enter.hidden = left <= 0 || entered === state.giveaway_id;
    timer = setTimeout(tick, 250);
  }

  function render() {
    clearTimeout(timer);
    box.replaceChildren();
    const shown = Boolean(state) && state.status !== "cancelled";
    if (box.hidden === shown) {
      box.hidden = !shown;
      onShown(shown);
    }
    if (!shown) return;
    const prize = elUser("p", "giveaway-prize", state.prize);
    prize.prepend("Giveaway: ");
    box.append(prize);
    const rule = el(
      "p",
      "giveaway-rule",
      state.no_purchase_necessary
        ? "No purchase necessary."
        : "For viewers who bought during this show."
    );
    rule.dataset.testid = "giveaway-rule";
    box.append(rule);
    if (state.status === "open") {
      if (state.keyword) box.append(el("p", "giveaway-keyword", `Or comment "${state.keyword}".`));
      box.append(countdown, enter);
      if (entered === state.giveaway_id) {
        const mine = el("p", "giveaway-entered", "You're in. Good luck!");
        mine.dataset.testid = "giveaway-entered";
        box.append(mine);
      }
      tick();
    } else {
      const won = state.winner_id && state.winner_id === viewerId();
      const outcome = state.winner_id
        ? elUser("p", "giveaway-winner", won ? "You" : state.winner || "A viewer")
        : el("p", "giveaway-winner", "Nobody entered.");
      if (state.winner_id) outcome.append(won ? " won! The host will be in touch." : " won.");
      outcome.dataset.testid = "giveaway-winner";
      const check = el("p", "giveaway-check", verdict || "Checking the draw…");
      check.dataset.testid = "giveaway-check";
      box.append(outcome, check);
    }
    if (message) {
      const note = el("p", "giveaway-message", message);
      note.dataset.testid = "giveaway-message";
      box.append(note);
    }
  }

  async function verify(drawn) {
    let result;
    try {
      result = await checkDraw({
        commitment: drawn.commitment,
        seed: drawn.seed || "",
        entries: drawn.entries || [],
        winner: drawn.winner_id ?? null,
      });
    } catch {
      result = "unavailable";
    }
    if (state !== drawn) return;
    const count = (drawn.entries || []).length;
    verdict =
      result === "ok"
        ? `Draw checked on this device: the seed matches the one committed to at the start, and it picks this winner from the ${count} ${count === 1 ? "entry" : "entries"}.`
        : result === "unavailable"
          ? "This browser cannot check the draw."
          : "This draw does not check out: the seed or the winner is not what the rule gives.";
    render();
  }

  return {
    element: box,
    apply(msg) {
      if (msg.t === "giveaway") {
        if (!state || state.giveaway_id !== msg.giveaway_id) verdict = "";
        state = msg;
        if (msg.status === "drawn") verify(msg);
      } else if (msg.t === "giveaway_entry" && msg.viewer_id === viewerId()) {
        entered = msg.giveaway_id;
      }
      render();
    },
    answered(msg) {
      message = msg.t === "error" ? String(msg.message || "You could not enter.") : "";
      render();
    },
  };
}
