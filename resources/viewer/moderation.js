// The chat's rules as a viewer sees them: the room's modes (slow, buyers only, emoji only,
// paused), this viewer's own standing (timed out, banned), the slow-mode countdown on the
// send button, comments held for review (only their author sees them), comments a
// moderator deleted, and the team's answers threaded under the questions they answer.
// Every user string goes in with textContent (el() from dom.js), never as HTML.

import { el, elUser, userText } from "./dom.js";

const TICK_MS = 250;

// "30 s", "2 min", "1 min 30 s", "1 h 5 min".
export function formatSpan(seconds) {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  if (h) return m ? `${h} h ${m} min` : `${h} h`;
  if (m) return rest ? `${m} min ${rest} s` : `${m} min`;
  return `${rest} s`;
}

// "9:41" or "1:02:05" for a time-out's countdown.
export function formatClock(seconds) {
  const s = Math.max(0, Math.ceil(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const two = (n) => String(n).padStart(2, "0");
  return h ? `${h}:${two(m)}:${two(s % 60)}` : `${m}:${two(s % 60)}`;
}

// Descriptions of the modes that are on, in the order a viewer cares about them.
export function modeLines(modes) {
  const lines = [];
  if (modes.paused) lines.push({ kind: "paused", text: "Chat is paused by the moderators" });
  if (modes.buyers_only) lines.push({ kind: "buyers", text: "Only buyers can chat right now" });
  if (modes.slow_seconds > 0) {
    lines.push({ kind: "slow", text: `Slow mode: one comment every ${formatSpan(modes.slow_seconds)}` });
  }
  if (modes.emoji_only) lines.push({ kind: "emoji", text: "Emoji only" });
  return lines;
}

/**
 * hubClock: the hub's time (clock.js).
 * els: { list, mode, standing, input, sendLabel, countdown }
 * viewerId: this page's viewer id.
 * buildItem(msg, extraClass): a chat item element like a comment's (avatar, meta, text).
 * onChange(): the composer must be re-evaluated (a countdown started, ticked or ended).
 */
export function createModeration({ hubClock, els, viewerId, buildItem, onChange }) {
  let modes = { slow_seconds: 0, buyers_only: false, emoji_only: false, paused: false };
  let banned = false;
  let mutedUntil = null; // the hub's clock, seconds
  let reason = "";
  let slowUntil = 0; // this page's clock, ms
  let timer = null;

  const hubNow = hubClock.now;

  // ---------------------------------------------------------------- modes and standing

  function applyModes(msg) {
    modes = {
      slow_seconds: Number.isSafeInteger(msg.slow_seconds) && msg.slow_seconds > 0 ? msg.slow_seconds : 0,
      buyers_only: msg.buyers_only === true,
      emoji_only: msg.emoji_only === true,
      paused: msg.paused === true,
    };
    // The hub never asks for more than one slow period's wait; none without slow mode.
    if (!modes.slow_seconds) slowUntil = 0;
    else slowUntil = Math.min(slowUntil, Date.now() + modes.slow_seconds * 1000);
    renderModes();
    refresh();
  }

  function renderModes() {
    const lines = modeLines(modes);
    els.mode.replaceChildren();
    for (const line of lines) {
      els.mode.append(el("span", `mode-chip mode-${line.kind}`, line.text));
    }
    els.mode.dataset.paused = String(modes.paused);
  }

  function applyStanding(msg) {
    banned = msg.banned === true;
    mutedUntil = typeof msg.muted_until === "number" ? msg.muted_until : null;
    reason = typeof msg.reason === "string" ? msg.reason : "";
    refresh();
  }

  function mutedLeft() {
    if (mutedUntil === null) return 0;
    return Math.max(0, mutedUntil - hubNow());
  }

  function slowLeft() {
    return Math.max(0, (slowUntil - Date.now()) / 1000);
  }

  function startSlow(seconds) {
    if (!(typeof seconds === "number" && seconds > 0)) return;
    slowUntil = Math.max(slowUntil, Date.now() + seconds * 1000);
    refresh();
  }

  function renderStanding() {
    const box = els.standing;
    box.replaceChildren();
    box.dataset.state = "";
    if (banned) {
      box.dataset.state = "banned";
      box.append(el("strong", "standing-title", "You can't chat in this room"));
      if (reason) box.append(el("span", "standing-reason", `Reason: ${reason}`));
      return;
    }
    const left = mutedLeft();
    if (left > 0) {
      box.dataset.state = "timed-out";
      const line = el("strong", "standing-title", "You can chat again in ");
      const clock = el("span", "standing-clock", formatClock(left));
      // The region speaks once; the clock ticks silently (a timer is not announced).
      clock.setAttribute("role", "timer");
      clock.setAttribute("aria-live", "off");
      line.append(clock);
      box.append(line);
      if (reason) box.append(el("span", "standing-reason", `Reason: ${reason}`));
    }
  }

  function renderCountdown() {
    const left = slowLeft();
    const waiting = left > 0 && !banned && mutedLeft() <= 0;
    els.countdown.hidden = !waiting;
    els.sendLabel.hidden = waiting;
    els.countdown.textContent = waiting ? `Wait ${Math.ceil(left)} s` : "";
  }

  // Re-render what depends on the clock; keep ticking while a countdown runs. The
  // standing box is rebuilt only when the standing changes, so screen readers hear it
  // once; a time-out's clock then ticks in place.
  let standingKey = null;
  function refresh() {
    const left = mutedLeft();
    const key = banned ? `b:${reason}` : left > 0 ? `t:${reason}:${mutedUntil}` : "";
    if (key !== standingKey) {
      standingKey = key;
      renderStanding();
    } else if (left > 0) {
      const clock = els.standing.querySelector(".standing-clock");
      if (clock) clock.textContent = formatClock(left);
    }
    if (!banned && mutedUntil !== null && left <= 0) mutedUntil = null;
    renderCountdown();
    const running = !banned && (mutedLeft() > 0 || slowLeft() > 0);
    if (running && timer === null) timer = setInterval(refresh, TICK_MS);
    if (!running && timer !== null) {
      clearInterval(timer);
      timer = null;
    }
    onChange();
  }

  // ---------------------------------------------------------------- the chat list

  function itemBySeq(seq) {
    return els.list.querySelector(`li[data-seq="${Number(seq)}"]`);
  }

  function heldItem(heldId) {
    return els.list.querySelector(`li[data-held-id="${Number(heldId)}"]`);
  }

  function deleteComment(msg) {
    const item = itemBySeq(msg.target);
    if (!item) return false;
    item.remove();
    return true;
  }

  function addHeld(msg) {
    if (msg.viewer_id !== viewerId || !Number.isSafeInteger(msg.held_id)) return false;
    // A held review is not a chat message: the review form says it waits (shop.js).
    if (typeof msg.product_id === "string") return false;
    if (heldItem(msg.held_id)) return false;
    const item = buildItem(msg, "held");
    item.dataset.testid = "held-comment";
    item.dataset.heldId = String(msg.held_id);
    delete item.dataset.seq;
    const meta = item.querySelector(".chat-meta");
    const tag = el("span", "held-tag", "Held for review");
    tag.dataset.testid = "held-tag";
    meta.insertBefore(tag, meta.querySelector(".chat-time"));
    const reasonText = typeof msg.reason === "string" ? msg.reason.trim() : "";
    const note = el(
      "p",
      "held-note",
      reasonText ? `${reasonText} Only you can see it for now.`
        : "A moderator will look at it. Only you can see it for now."
    );
    item.querySelector(".chat-body-text").append(note);
    els.list.append(item);
    return true;
  }

  function resolveHeld(msg) {
    const item = heldItem(msg.held_id);
    if (!item) return;
    if (msg.approved === true) {
      item.remove();
      return;
    }
    item.classList.add("denied");
    item.querySelector(".held-tag").textContent = "Not published";
    item.querySelector(".held-note").textContent =
      "A moderator did not approve this comment. Nobody else saw it.";
  }

  function buildAnswer(msg) {
    const box = el("div", "answer");
    box.dataset.testid = "answer";
    if (msg.private === true) box.classList.add("private");
    const meta = el("div", "chat-meta");
    const arrow = el("span", "answer-arrow", "↳");
    arrow.setAttribute("aria-hidden", "true");
    const agent = elUser("span", "chat-author", msg.agent);
    const badge = el("span", "badge team-badge", "Team");
    meta.append(arrow, agent, badge);
    box.append(meta, elUser("p", "chat-text", msg.text));
    if (msg.private === true) {
      box.append(el("p", "answer-private", "Only you can see this"));
    }
    return box;
  }

  function addAnswer(msg) {
    if (msg.private === true && msg.viewer_id !== viewerId) return false;
    const question = itemBySeq(msg.question);
    if (question) {
      let thread = question.querySelector(".answers");
      if (!thread) {
        thread = el("div", "answers");
        question.querySelector(".chat-body-text").append(thread);
      }
      thread.append(buildAnswer(msg));
      return true;
    }
    // The question scrolled out of the history: show the answer on its own, quoting it.
    const item = el("li", "chat-item answer-item");
    item.dataset.question = String(msg.question);
    const body = el("div", "chat-body-text");
    const quote = el("blockquote", "answer-quote");
    const asker = elUser("span", "answer-quote-name", msg.name);
    asker.append(" asked");
    quote.append(asker, elUser("span", "answer-quote-text", msg.question_text));
    body.append(quote, buildAnswer(msg));
    item.append(body);
    els.list.append(item);
    return true;
  }

  // A viewer's data was deleted: their comments here are signed with the hub's name for
  // them ("deleted viewer"), without the Owner badge, as a reload would show them.
  function erase(msg) {
    const name = String(msg.name ?? "");
    for (const seq of Array.isArray(msg.comments) ? msg.comments : []) {
      const item = itemBySeq(seq);
      if (item) {
        item.querySelector(".chat-author").replaceChildren(userText(name));
        item.querySelector(".avatar").textContent = (Array.from(name)[0] || "?").toUpperCase();
        item.querySelector(".owner-badge")?.remove();
      }
      const quote = `li[data-question="${Number(seq)}"] .answer-quote-name`;
      els.list.querySelector(quote)?.replaceChildren(userText(name), " asked");
    }
  }

  // ---------------------------------------------------------------- the app's side

  return {
    onWelcome(msg) {
      // A rejoin hears its standing again only if it still has one.
      banned = false;
      mutedUntil = null;
      reason = "";
      refresh();
    },

    // Messages that are moderation's (true when it took the message); ``added`` tells the
    // chat list that something new appeared at its end.
    handle(msg, added) {
      switch (msg.t) {
        case "modes":
          applyModes(msg);
          return true;
        case "standing":
          applyStanding(msg);
          return true;
        case "delete":
          deleteComment(msg);
          return true;
        case "held":
          if (addHeld(msg)) added(true);
          return true;
        case "held_resolved":
          resolveHeld(msg);
          return true;
        case "answer":
          if (addAnswer(msg)) added(msg.viewer_id === viewerId);
          return true;
        case "erased":
          erase(msg);
          return true;
        default:
          return false;
      }
    },

    // The hub took this viewer's comment (published or held): slow mode starts counting.
    onPosted() {
      if (modes.slow_seconds) startSlow(modes.slow_seconds);
    },

    // A refused comment; returns true when the refusal is shown by the composer itself.
    onRefused(msg) {
      switch (msg.code) {
        case "slow_mode":
          startSlow(typeof msg.retry_after === "number" ? msg.retry_after : modes.slow_seconds);
          return false;
        case "timed_out":
          if (typeof msg.retry_after === "number" && msg.retry_after > 0) {
            mutedUntil = Math.max(mutedUntil ?? 0, hubNow() + msg.retry_after);
            refresh();
            return true;
          }
          return false;
        case "banned":
          banned = true;
          refresh();
          return true;
        default:
          return false;
      }
    },

    // What the composer may do now.
    composer() {
      if (banned) return { input: false, send: false, placeholder: "You can't chat in this room" };
      if (mutedLeft() > 0) return { input: false, send: false, placeholder: "You are timed out" };
      if (modes.paused) return { input: false, send: false, placeholder: "Chat is paused" };
      if (slowLeft() > 0) return { input: true, send: false, placeholder: null };
      if (modes.emoji_only) return { input: true, send: true, placeholder: "Emoji only" };
      return { input: true, send: true, placeholder: null };
    },
  };
}
