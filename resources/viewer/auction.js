// A live auction on the viewer page (docs/protocol.md, "Auctions"). The hub's `auction`
// events carry the whole public state (price, leader, end on the hub's clock); this page
// only shows it and sends `bid`. The Bid button bids the hub's `next_bid`; a maximum bids
// for the viewer up to it (the hub's proxy bidding, console/domain/auction.py). The
// winner's Pay opens the usual checkout for the lot at the winning price. Every string
// from the network is set with textContent.

import { el, elUser } from "./dom.js";
import { exponent, formatMoney } from "./money.js";

// "12", "12.5" or "12,50" in the currency's units, to minor units; null if it is not one.
export function parseAmount(text, currency) {
  const digits = exponent(currency);
  const match = /^\s*(\d{1,9})(?:[.,](\d+))?\s*$/.exec(String(text));
  if (!match || (match[2] || "").length > digits) return null;
  return Number(match[1]) * 10 ** digits + Number((match[2] || "").padEnd(digits, "0") || 0);
}

function clock(seconds) {
  const left = Math.max(0, Math.ceil(seconds));
  return `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
}

// `hubClock`: the hub's time and this page's delay to it (clock.js); a countdown shows
// the time left to send a bid that reaches the hub before the end.
// What the countdown's tooltip says of the correction.
export function sendByNote(lead) {
  const ms = Math.round(lead * 1000);
  return `Time left to send a bid that reaches the hub in time: your connection takes about ${ms} ms.`;
}

export function createAuction({ send, makeRef, hubClock, viewerId, onPay }) {
  let state = null; // the hub's last `auction`
  let mine = null; // this viewer's highest maximum (`auction_bid`)
  let message = "";
  let timer = null;
  // Lines that count down: updated in place every tick, so nothing the viewer is
  // typing or about to tap is replaced under them.
  let ticking = [];
  const box = el("section", "auction");
  box.dataset.testid = "auction";
  box.hidden = true;
  const form = el("form", "auction-bid");
  const button = el("button", "button auction-bid-button");
  button.type = "submit";
  button.dataset.testid = "auction-bid";
  const max = el("input", "auction-max");
  max.inputMode = "decimal";
  max.placeholder = "or your maximum";
  max.dataset.testid = "auction-max";
  form.append(button, max);
  let next = 0;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!state) return;
    let maximum = next;
    if (max.value.trim()) {
      maximum = parseAmount(max.value, state.currency);
      if (maximum == null) {
        message = `Enter an amount in ${state.currency}, like 25 or 25.50.`;
        render();
        return;
      }
    }
    message = "";
    max.value = "";
    send({ t: "bid", auction_id: state.auction_id, maximum, ref: makeRef("bid") });
  });

  function tick() {
    for (const [line, text] of ticking) line.textContent = text();
    if (ticking.length) timer = setTimeout(tick, 250);
  }

  function render() {
    clearTimeout(timer);
    ticking = [];
    box.replaceChildren();
    if (!state || state.status === "cancelled") {
      box.hidden = true;
      return;
    }
    box.hidden = false;
    const { currency } = state;
    const what = state.label ? `${state.title} (${state.label})` : state.title;
    const heading = elUser("p", "auction-title", what);
    heading.prepend("Auction: ");
    box.append(heading);
    const price = el(
      "p",
      "auction-price",
      state.price == null
        ? `Starting bid ${formatMoney(state.start_price, currency)}`
        : `Current bid ${formatMoney(state.price, currency)}`
    );
    price.dataset.testid = "auction-price";
    box.append(price);
    const leading = state.leader_id === viewerId();
    if (state.leader) {
      const leader = elUser("p", "auction-leader", leading ? "You" : state.leader);
      leader.dataset.testid = "auction-leader";
      leader.append(leading ? " are the highest bidder" : " leads");
      if (leading && mine) leader.append(` (your maximum ${formatMoney(mine.maximum, currency)})`);
      box.append(leader);
    }
    if (state.status === "open") {
      const countdown = el("p", "auction-countdown");
      countdown.dataset.testid = "auction-countdown";
      ticking.push([countdown, () => `${clock(hubClock.leftToSend(state.ends))} left`]);
      countdown.title = sendByNote(hubClock.lead());
      next = leading && mine ? mine.maximum + state.increment : state.next_bid;
      button.textContent = `Bid ${formatMoney(next, currency)}`;
      max.setAttribute("aria-label", `Maximum bid in ${currency}`);
      box.append(countdown, form);
    } else {
      box.append(outcome());
    }
    if (message) {
      const note = el("p", "auction-message", message);
      note.dataset.testid = "auction-message";
      box.append(note);
    }
    tick();
  }

  function outcome() {
    const won = state.winner_id === viewerId();
    const line = el("div", "auction-outcome");
    line.dataset.testid = "auction-outcome";
    const price = state.price == null ? "" : formatMoney(state.price, state.currency);
    if (state.status === "sold") {
      line.append(won ? `You won it for ${price}. Thank you!` : `Sold for ${price}.`);
    } else if (state.status === "unsold") {
      line.append("Nobody won this one: it is back on sale.");
    } else if (won) {
      const until = state.checkout_until || 0;
      const text = el("span", "auction-won");
      ticking.push([
        text,
        () => `You won at ${price}: ${clock(hubClock.leftToSend(until))} left to pay.`,
      ]);
      const pay = el("button", "button auction-pay", "Pay");
      pay.type = "button";
      pay.dataset.testid = "auction-pay";
      pay.addEventListener("click", () => onPay(state));
      line.append(text, pay);
    } else {
      line.append(state.winner ? `Bidding ended: ${state.winner} won.` : "Bidding ended.");
    }
    return line;
  }

  return {
    element: box,
    apply(msg) {
      if (msg.t === "auction") {
        if (!state || state.auction_id !== msg.auction_id) mine = null;
        state = msg;
      } else if (msg.t === "auction_bid" && msg.viewer_id === viewerId()) {
        mine = msg;
      }
      render();
    },
    // The hub's answer to a bid: an ack, or an error to show.
    answered(msg) {
      message = msg.t === "error" ? String(msg.message || "The bid was not taken.") : "";
      render();
    },
  };
}
