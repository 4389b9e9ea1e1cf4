// Shopcast viewer page: live chat over the hub's WebSocket (see console/protocol.py and
// docs/protocol.md for the message names), the stream, and the shop (shop.js and
// checkout.js). Every user string is rendered with textContent; nothing from the network
// ever reaches innerHTML. An ES module: the page has no build step and a strict CSP.

import { el, elUser, randomId, storage, userText } from "./dom.js";
import { createHubClock } from "./clock.js";
import { createModeration } from "./moderation.js";
import { createPlayout } from "./playout.js";
import { createPrivacy } from "./privacy.js";
import { createShop } from "./shop.js";

(() => {
  const PROTOCOL_VERSION = 1;
  const MAX_COMMENT_CHARS = 500;
  const MAX_NAME_CHARS = 40;
  const COUNTER_FROM = 400;
  const MAX_ITEMS = 500;
  const BOTTOM_SLACK_PX = 48;
  const BACKOFF_MIN_S = 0.5;
  const BACKOFF_MAX_S = 10;
  const VIEWER_ID_KEY = "shopcast.viewer_id";
  const NAME_KEY = "shopcast.name";
  // A secret made with the viewer id and never shown: ids are public (every comment has
  // one), the key proves to the hub that this browser made the id (to read or delete
  // the viewer's data).
  const VIEWER_SECRET_KEY = "shopcast.viewer_key";
  const VIEWER_ID_PATTERN = /^[A-Za-z0-9_-]{22,64}$/;
  const VIEWER_SECRET_PATTERN = /^[A-Za-z0-9_-]{16,128}$/;
  const ROLE_BADGES = { host: "Host", agent: "Brand", moderator: "Mod" };

  const $ = (id) => document.getElementById(id);
  const els = {
    video: document.querySelector("[data-testid=stream]"),
    overlay: $("stage-overlay"),
    overlayTitle: $("stage-overlay-title"),
    overlayHint: $("stage-overlay-hint"),
    unmute: $("unmute"),
    roomTitle: $("room-title"),
    viewerCount: $("viewer-count"),
    viewerNumber: $("viewer-number"),
    status: $("status"),
    list: $("chat-list"),
    pill: $("new-pill"),
    nameForm: $("name-form"),
    nameInput: $("name-input"),
    nameCancel: $("name-cancel"),
    nameError: $("name-error"),
    commentForm: $("comment-form"),
    commentInput: $("comment-input"),
    commentSend: $("comment-send"),
    sendLabel: $("send-label"),
    slowCountdown: $("slow-countdown"),
    chatMode: $("chat-mode"),
    standing: $("standing"),
    commentError: $("comment-error"),
    counter: $("comment-counter"),
    meName: $("me-name"),
    changeName: $("change-name"),
  };

  // ------------------------------------------------------------------ identity

  function loadViewerId() {
    const stored = storage.get(VIEWER_ID_KEY);
    if (stored && VIEWER_ID_PATTERN.test(stored)) return stored;
    const fresh = randomId(18);
    storage.set(VIEWER_ID_KEY, fresh);
    storage.remove(VIEWER_SECRET_KEY);
    return fresh;
  }

  function loadViewerSecret() {
    const stored = storage.get(VIEWER_SECRET_KEY);
    if (stored && VIEWER_SECRET_PATTERN.test(stored)) return stored;
    const fresh = randomId(32);
    storage.set(VIEWER_SECRET_KEY, fresh);
    return fresh;
  }

  function cleanName(raw) {
    return raw.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, " ").replace(/\s+/g, " ").trim();
  }

  function loadName() {
    const stored = cleanName(storage.get(NAME_KEY) || "");
    return stored && stored.length <= MAX_NAME_CHARS ? stored : null;
  }

  const viewerId = loadViewerId();
  const viewerSecret = loadViewerSecret();
  let myName = loadName();

  // ------------------------------------------------------------------ connection state

  let socket = null;
  let connected = false;
  let stopped = false;
  let attempt = 0;
  let retryTimer = null;
  let countdownTimer = null;
  // The hub said when to come back (too many new viewers from this network) and why.
  let retryAfterS = 0;
  let waitReason = "";
  let lastSeq = null;
  let refCounter = 0;
  let helloName = null;
  const pending = new Map();

  function setStatus(text, state) {
    els.status.textContent = text;
    els.status.dataset.state = state;
  }

  function wsUrl() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    return `${scheme}://${location.host}/ws`;
  }

  function nextRef(kind, payload) {
    refCounter += 1;
    const ref = `${kind}-${Date.now().toString(36)}-${refCounter}`;
    pending.set(ref, { kind, payload });
    return ref;
  }

  function send(message) {
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify(message));
    return true;
  }

  function connect() {
    clearTimers();
    setStatus("Connecting…", "connecting");
    const ws = new WebSocket(wsUrl());
    socket = ws;
    ws.addEventListener("open", () => sendHello(ws, myName));
    ws.addEventListener("message", (event) => {
      if (ws === socket) handleFrame(event.data);
    });
    ws.addEventListener("close", () => {
      if (ws === socket) onDisconnected();
    });
  }

  function sendHello(ws, name) {
    const hello = {
      t: "hello",
      v: PROTOCOL_VERSION,
      role: "viewer",
      viewer_id: viewerId,
      key: viewerSecret,
    };
    if (name) hello.name = name;
    if (lastSeq !== null) hello.since = lastSeq;
    helloName = name;
    ws.send(JSON.stringify(hello));
  }

  function onDisconnected() {
    socket = null;
    connected = false;
    pending.clear();
    hubClock.stop();
    updateComposer();
    shop.onDisconnected();
    privacy.onDisconnected();
    if (stopped) return;
    scheduleReconnect();
  }

  function scheduleReconnect() {
    const base = Math.min(BACKOFF_MAX_S, BACKOFF_MIN_S * 2 ** attempt);
    const delay = Math.max(BACKOFF_MIN_S, base * (0.5 + Math.random() * 0.5), retryAfterS);
    const reason = waitReason;
    retryAfterS = 0;
    waitReason = "";
    attempt += 1;
    const due = Date.now() + delay * 1000;
    const tick = () => {
      const left = Math.max(1, Math.ceil((due - Date.now()) / 1000));
      const text = reason ? `${reason} Joining in ${left} s…` : `Reconnecting in ${left} s…`;
      setStatus(text, "reconnecting");
    };
    tick();
    countdownTimer = setInterval(tick, 250);
    retryTimer = setTimeout(connect, delay * 1000);
  }

  function clearTimers() {
    clearTimeout(retryTimer);
    clearInterval(countdownTimer);
    retryTimer = null;
    countdownTimer = null;
  }

  function reconnectNow() {
    if (retryTimer !== null && !stopped) connect();
  }

  window.addEventListener("online", reconnectNow);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") reconnectNow();
  });

  // ------------------------------------------------------------------ messages

  function handleFrame(data) {
    let messages;
    try {
      messages = JSON.parse(data);
    } catch {
      return;
    }
    if (!Array.isArray(messages)) messages = [messages];
    const stick = isAtBottom();
    let added = 0;
    let ownAdded = false;
    const noteAdded = (own) => {
      added += 1;
      if (own) ownAdded = true;
    };
    for (const msg of messages) {
      if (!msg || typeof msg !== "object") continue;
      switch (msg.t) {
        case "welcome":
          onWelcome(msg);
          break;
        case "comment":
          if (addComment(msg)) {
            added += 1;
            if (msg.viewer_id === viewerId) ownAdded = true;
          }
          break;
        case "viewers":
          setViewerCount(msg.count);
          break;
        case "stream":
          if (acceptSeq(msg.seq)) setLive(Boolean(msg.live), true);
          break;
        case "webrtc_answer":
          onAnswer(msg);
          break;
        case "watch_offer":
          onWatchOffer(msg);
          break;
        case "clock":
          hubClock.answered(msg);
          break;
        case "ack":
          if (shop.owns(msg.ref)) shop.onReply(msg);
          else if (privacy.owns(msg.ref)) privacy.onReply(msg);
          else onAck(msg);
          break;
        case "error":
          if (shop.owns(msg.ref)) shop.onReply(msg);
          else if (privacy.owns(msg.ref)) privacy.onReply(msg);
          else onError(msg);
          break;
        case "consent":
        case "export":
          privacy.handle(msg);
          break;
        default:
          // The shop's and moderation's events carry a seq like comments (replayed on
          // resume); the state sent after welcome (show, modes) has seq 0 and always
          // applies, and a viewer's standing has none.
          if (msg.seq && !acceptSeq(msg.seq)) break;
          if (!moderation.handle(msg, noteAdded)) shop.handle(msg);
          break;
      }
    }
    if (added) afterAppend(added, stick || ownAdded);
  }

  // An event counts once: a resumed page may hear again what it already applied.
  function acceptSeq(seq) {
    if (typeof seq !== "number") return false;
    if (lastSeq !== null && seq <= lastSeq) return false;
    lastSeq = seq;
    return true;
  }

  function onWelcome(msg) {
    connected = true;
    attempt = 0;
    if (msg.history_truncated || (lastSeq !== null && msg.seq < lastSeq)) {
      clearList();
      lastSeq = null;
    }
    if (typeof msg.room_title === "string" && msg.room_title) {
      els.roomTitle.textContent = msg.room_title;
      document.title = `${msg.room_title} · Shopcast live`;
    }
    if (typeof msg.name === "string" && msg.name) {
      myName = msg.name;
      storage.set(NAME_KEY, myName);
    }
    setViewerCount(msg.viewers);
    setStatus("Live chat connected", "connected");
    // The hub closes a page's peer connection with its socket: offer again.
    stopStream();
    serverOffer = msg.stream_flow === "server_offer";
    setLive(Boolean(msg.live), false);
    if (!myName) {
      if (els.nameForm.hidden) showNameForm("");
    } else if (els.nameCancel.hidden) {
      showComposer();
    } else {
      els.meName.replaceChildren(userText(myName));
    }
    hubClock.welcome(msg.now);
    hubClock.start();
    moderation.onWelcome(msg);
    updateComposer();
    shop.onWelcome(msg);
  }

  function onAck(msg) {
    const entry = pending.get(msg.ref);
    if (!entry) return;
    pending.delete(msg.ref);
    if (entry.kind === "comment") {
      if (els.commentInput.value === entry.payload) els.commentInput.value = "";
      setCommentError("");
      // Published or held, it counts as a post for slow mode.
      moderation.onPosted();
      updateComposer();
    }
  }

  function onError(msg) {
    const entry = msg.ref ? pending.get(msg.ref) : undefined;
    if (entry) pending.delete(msg.ref);
    if (msg.ref === "stream") {
      stopStream();
      if (msg.code !== "not_live") {
        showOverlay("The video could not start", String(msg.message));
      } else if (live) {
        // The show is live but its video is away for a moment (the SFU restarts, the
        // host publishes again): ask again by ourselves, no reload needed.
        reconnectStream(String(msg.message));
      }
      return;
    }
    if (msg.code === "too_many_new_viewers" && !connected) {
      // The hub admits only so many new viewers from one network a minute and closes
      // this socket: wait as long as it says, then join by ourselves.
      retryAfterS = typeof msg.retry_after === "number" ? msg.retry_after : BACKOFF_MAX_S;
      waitReason = "Many new viewers are joining from your network.";
      return;
    }
    if (msg.code === "bad_token" && !connected) {
      // Another browser proved this viewer id first: start over with an id of our own.
      stopped = true;
      setStatus("Starting over with a new viewer id…", "reconnecting");
      storage.remove(VIEWER_ID_KEY);
      storage.remove(VIEWER_SECRET_KEY);
      if (socket) socket.close();
      location.reload();
      return;
    }
    if (msg.code === "unsupported_version") {
      stopped = true;
      setStatus("This page is out of date. Reload the page to keep chatting.", "outdated");
      if (socket) socket.close();
      return;
    }
    const text = typeof msg.message === "string" ? msg.message : "Something went wrong.";
    if (!connected && msg.code === "invalid" && helloName && socket) {
      myName = null;
      showNameForm(helloName);
      setNameError(text);
      sendHello(socket, null);
    } else if (entry && entry.kind === "name") {
      myName = null;
      showNameForm(entry.payload);
      setNameError(text);
    } else if (msg.code === "name_required") {
      myName = null;
      showNameForm("");
      setNameError(text);
    } else if (entry && entry.kind === "comment" && moderation.onRefused(msg)) {
      // Banned or timed out: the standing line above the composer says so.
      setCommentError("");
    } else {
      setCommentError(text, msg.retry_after);
    }
    updateComposer();
  }

  function setViewerCount(count) {
    if (typeof count !== "number" || !Number.isFinite(count)) return;
    const n = Math.max(0, Math.round(count));
    const label = n === 1 ? "1 watching" : `${n.toLocaleString()} watching`;
    els.viewerNumber.textContent = n.toLocaleString();
    els.viewerCount.setAttribute("aria-label", label);
    els.viewerCount.title = label;
  }

  // ------------------------------------------------------------------ chat list

  const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });
  const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
  let unseen = 0;

  function avatarHue(id) {
    let hash = 0;
    for (let i = 0; i < id.length; i += 1) hash = (hash * 31 + id.charCodeAt(i)) | 0;
    return Math.abs(hash) % 360;
  }

  function addComment(msg) {
    if (!acceptSeq(msg.seq)) return false;
    els.list.append(buildItem(msg));
    return true;
  }

  // A chat item for a comment (or, with extraClass, a held comment shown to its author).
  function buildItem(msg, extraClass) {
    const name = String(msg.name ?? "");
    const author = String(msg.viewer_id ?? "");
    const item = el("li", "chat-item");
    item.dataset.testid = "chat-item";
    item.dataset.seq = String(msg.seq);
    if (author === viewerId) item.classList.add("own");

    const avatar = el("span", "avatar", (Array.from(name)[0] || "?").toUpperCase());
    avatar.setAttribute("aria-hidden", "true");
    avatar.style.setProperty("--hue", String(avatarHue(author || name)));

    const body = el("div", "chat-body-text");
    const meta = el("div", "chat-meta");
    const authorEl = elUser("span", "chat-author", name);
    authorEl.dataset.testid = "chat-author";
    meta.append(authorEl);
    const badge = ROLE_BADGES[msg.role];
    if (badge) {
      item.classList.add("staff", `role-${msg.role}`);
      const badgeEl = el("span", "badge", badge);
      badgeEl.dataset.testid = "chat-badge";
      meta.append(badgeEl);
    }
    if (msg.owner === true) {
      const owner = el("span", "owner-badge", "Owner");
      owner.dataset.testid = "owner-badge";
      owner.title = "Bought the product on show";
      meta.append(owner);
    }
    if (typeof msg.ts === "number") {
      const when = new Date(msg.ts * 1000);
      const time = el("time", "chat-time", timeFormat.format(when));
      time.dateTime = when.toISOString();
      time.title = fullFormat.format(when);
      meta.append(time);
    }
    const textEl = elUser("p", "chat-text", msg.text);
    textEl.dataset.testid = "chat-text";
    body.append(meta, textEl);
    item.append(avatar, body);
    if (extraClass) item.classList.add(extraClass);
    return item;
  }

  function clearList() {
    els.list.replaceChildren();
    unseen = 0;
    updatePill();
  }

  function isAtBottom() {
    const list = els.list;
    return list.scrollHeight - list.scrollTop - list.clientHeight <= BOTTOM_SLACK_PX;
  }

  function scrollToBottom() {
    els.list.scrollTop = els.list.scrollHeight;
    unseen = 0;
    updatePill();
  }

  function afterAppend(added, stick) {
    const list = els.list;
    let removedHeight = 0;
    while (list.childElementCount > MAX_ITEMS) {
      removedHeight += list.firstElementChild.offsetHeight;
      list.firstElementChild.remove();
    }
    if (stick) {
      scrollToBottom();
    } else {
      list.scrollTop = Math.max(0, list.scrollTop - removedHeight);
      unseen += added;
      updatePill();
    }
  }

  function updatePill() {
    if (unseen > 0) {
      els.pill.textContent = unseen === 1 ? "1 new comment ↓" : `${unseen} new comments ↓`;
      els.pill.hidden = false;
    } else {
      els.pill.hidden = true;
    }
  }

  els.pill.addEventListener("click", () => {
    scrollToBottom();
    els.commentInput.focus({ preventScroll: true });
  });
  els.list.addEventListener("scroll", () => {
    if (unseen > 0 && isAtBottom()) {
      unseen = 0;
      updatePill();
    }
  }, { passive: true });

  // ------------------------------------------------------------------ name and composer

  let errorTimer = null;
  let errorUntil = 0;

  function setNameError(text) {
    els.nameError.textContent = text;
  }

  function setCommentError(text, retryAfter) {
    clearTimeout(errorTimer);
    errorUntil = 0;
    els.commentError.textContent = text;
    if (text && typeof retryAfter === "number" && retryAfter > 0) {
      errorUntil = Date.now() + retryAfter * 1000;
      errorTimer = setTimeout(() => setCommentError(""), retryAfter * 1000);
    }
  }

  function showNameForm(prefill) {
    els.commentForm.hidden = true;
    els.nameForm.hidden = false;
    els.nameInput.value = prefill || "";
    els.nameCancel.hidden = !myName;
  }

  function showComposer() {
    if (!myName) {
      showNameForm(els.nameInput.value);
      return;
    }
    els.meName.replaceChildren(userText(myName));
    els.nameForm.hidden = true;
    els.commentForm.hidden = false;
    updateComposer();
  }

  function sendingComment() {
    for (const entry of pending.values()) if (entry.kind === "comment") return true;
    return false;
  }

  function updateComposer() {
    const text = els.commentInput.value;
    const empty = text.trim().length === 0;
    const rules = moderation.composer();
    els.commentInput.disabled = !rules.input;
    els.commentInput.placeholder = rules.placeholder || DEFAULT_PLACEHOLDER;
    els.commentSend.disabled =
      empty || !myName || !connected || sendingComment() || !rules.send;
    const left = MAX_COMMENT_CHARS - text.length;
    els.counter.textContent = text.length >= COUNTER_FROM ? `${left} left` : "";
    els.counter.classList.toggle("counter-low", left <= 20);
  }

  els.nameForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const name = cleanName(els.nameInput.value);
    if (!name) {
      setNameError("Type a name so others know who is talking.");
      return;
    }
    if (name.length > MAX_NAME_CHARS) {
      setNameError(`Names can be at most ${MAX_NAME_CHARS} characters (this one has ${name.length}).`);
      return;
    }
    setNameError("");
    const changed = name !== myName;
    myName = name;
    storage.set(NAME_KEY, name);
    if (changed && connected) send({ t: "set_name", name, ref: nextRef("name", name) });
    showComposer();
    els.commentInput.focus();
  });

  els.nameCancel.addEventListener("click", () => {
    setNameError("");
    showComposer();
    els.commentInput.focus();
  });

  els.changeName.addEventListener("click", () => {
    showNameForm(myName);
    els.nameInput.focus();
    els.nameInput.select();
  });

  els.commentInput.addEventListener("input", () => {
    if (els.commentError.textContent && Date.now() >= errorUntil) setCommentError("");
    updateComposer();
  });

  els.commentForm.addEventListener("submit", (event) => {
    event.preventDefault();
    if (els.commentSend.disabled) return;
    const text = els.commentInput.value;
    const ref = nextRef("comment", text);
    if (send({ t: "comment", text, ref })) {
      setCommentError("");
    } else {
      pending.delete(ref);
    }
    updateComposer();
  });

  // ------------------------------------------------------------------ stream

  // The hub answers one receive-only offer per page; candidates travel inside the SDP
  // (no trickle), so one round trip over the chat socket sets up the stream. On a hub
  // whose viewers watch through an SFU (welcome.stream_flow "server_offer") the SFU
  // offers instead: the page asks with "watch" and answers the "watch_offer".
  let pc = null;
  let live = false;
  let serverOffer = false;
  // A dropped video is asked for again after this long, and torn down after being
  // "disconnected" (no packets, no ICE answers) this long; WebRTC itself recovers from
  // a shorter gap.
  const STREAM_RETRY_MS = 1500;
  const DISCONNECTED_MS = 2000;
  let streamRetry = null;

  function reconnectStream(why) {
    showOverlay("Reconnecting the video…", why || "The page picks it up again by itself.");
    clearTimeout(streamRetry);
    streamRetry = setTimeout(() => {
      streamRetry = null;
      if (live && !pc) startStream();
    }, STREAM_RETRY_MS);
  }

  function showOverlay(title, hint) {
    els.overlayTitle.textContent = title;
    els.overlayHint.textContent = hint;
    els.overlay.hidden = false;
  }

  function setLive(isLive, changed) {
    const wasLive = live;
    live = isLive;
    if (live) {
      startStream();
    } else {
      stopStream();
      if (wasLive || changed) {
        showOverlay("The stream has ended", "Thanks for watching! The chat stays open.");
      }
    }
  }

  function iceGathered(peer, timeoutMs) {
    if (peer.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        if (peer.iceGatheringState === "complete") resolve();
      };
      peer.addEventListener("icegatheringstatechange", done);
      setTimeout(resolve, timeoutMs);
    });
  }

  async function startStream() {
    if (pc || !connected) return;
    // Before the stream's own connection: the probe is made and closed first.
    const codecs = serverOffer ? await decodableVideo() : null;
    if (pc || !connected) return;
    const peer = new RTCPeerConnection({ iceServers: [] });
    pc = peer;
    playout.start(peer);
    showOverlay("Starting the video…", "Just a moment.");
    if (!serverOffer) {
      peer.addTransceiver("video", { direction: "recvonly" });
      peer.addTransceiver("audio", { direction: "recvonly" });
    }
    const media = new MediaStream();
    peer.addEventListener("track", (event) => {
      media.addTrack(event.track);
      els.video.srcObject = media;
      els.video.play().catch(() => {});
    });
    peer.addEventListener("connectionstatechange", () => {
      if (pc !== peer || !live) return;
      const state = peer.connectionState;
      if (state === "failed") {
        stopStream();
        reconnectStream("");
      } else if (state === "disconnected") {
        showOverlay("Reconnecting the video…", "The page picks it up again by itself.");
        setTimeout(() => {
          if (pc === peer && peer.connectionState !== "connected") {
            stopStream();
            reconnectStream("");
          }
        }, DISCONNECTED_MS);
      } else if (state === "connected" && !els.video.paused) {
        els.overlay.hidden = true;
      }
    });
    if (serverOffer) {
      send({ t: "watch", codecs, ref: "stream" });
      return;
    }
    await peer.setLocalDescription(await peer.createOffer());
    await iceGathered(peer, 2000);
    if (pc !== peer) return;
    send({ t: "webrtc_offer", sdp: peer.localDescription.sdp, ref: "stream" });
  }

  // The video codecs this browser decodes, as its own offer names them: the hub then
  // subscribes the page to the show's stream it can play (Debian's Firefox ESR offers
  // VP8, VP9 and AV1 only, and gets the VP8 stream). Asked once: a page's browser does
  // not change; an offer made without gathering sends nothing anywhere.
  let videoCodecs = null;

  function decodableVideo() {
    if (!videoCodecs) {
      videoCodecs = (async () => {
        const probe = new RTCPeerConnection({ iceServers: [] });
        try {
          probe.addTransceiver("video", { direction: "recvonly" });
          const offer = await probe.createOffer();
          const names = [...offer.sdp.matchAll(/^a=rtpmap:\d+ ([^/\s]+)\//gm)].map((m) => m[1]);
          return [...new Set(names)];
        } catch {
          return null; // the hub then subscribes to H.264, as for an older page
        } finally {
          probe.close();
        }
      })();
    }
    return videoCodecs;
  }

  async function onWatchOffer(msg) {
    const peer = pc;
    if (!peer || typeof msg.sdp !== "string") return;
    try {
      await peer.setRemoteDescription({ type: "offer", sdp: msg.sdp });
      await peer.setLocalDescription(await peer.createAnswer());
      await iceGathered(peer, 2000);
    } catch {
      if (pc === peer) stopStream();
      return;
    }
    if (pc !== peer) return;
    send({ t: "watch_answer", sdp: peer.localDescription.sdp, ref: "stream" });
  }

  function onAnswer(msg) {
    if (!pc || typeof msg.sdp !== "string") return;
    pc.setRemoteDescription({ type: "answer", sdp: msg.sdp }).catch(() => {
      stopStream();
    });
  }

  function stopStream() {
    if (pc) {
      playout.stop();
      pc.close();
      pc = null;
    }
    els.video.srcObject = null;
    els.unmute.hidden = true;
  }

  function initStream() {
    els.video.addEventListener("playing", () => {
      els.overlay.hidden = true;
      els.unmute.hidden = !els.video.muted;
    });
    els.unmute.addEventListener("click", () => {
      els.video.muted = false;
      els.video.play().catch(() => {});
      els.unmute.hidden = true;
    });
  }

  // ------------------------------------------------------------------ shop

  // A buyer who never chatted still needs a display name (the hub records one with the
  // order); checkout offers the first name, set here as if typed in the name form.
  function adoptName(name) {
    const clean = cleanName(name).slice(0, MAX_NAME_CHARS);
    if (!clean || myName) return;
    myName = clean;
    storage.set(NAME_KEY, clean);
    if (connected) send({ t: "set_name", name: clean, ref: nextRef("name", clean) });
    if (!els.nameForm.hidden) showComposer();
  }

  const DEFAULT_PLACEHOLDER = els.commentInput.placeholder;
  // The hub's time, for every countdown on the page (clock.js).
  const hubClock = createHubClock({ send });
  const moderation = createModeration({
    hubClock,
    els: {
      list: els.list,
      mode: els.chatMode,
      standing: els.standing,
      sendLabel: els.sendLabel,
      countdown: els.slowCountdown,
    },
    viewerId,
    buildItem,
    onChange: () => updateComposer(),
  });

  const shop = createShop({
    send,
    hubClock,
    isConnected: () => connected,
    identity: { name: () => myName, adopt: adoptName },
  });

  const privacy = createPrivacy({ send, isConnected: () => connected });

  // What this viewer sees of the show's delay, reported to the host (playout.js).
  const playout = createPlayout({ send });

  // ------------------------------------------------------------------ start

  if (myName) {
    els.meName.replaceChildren(userText(myName));
    els.nameForm.hidden = true;
    els.commentForm.hidden = false;
  } else {
    showNameForm("");
  }
  updateComposer();
  initStream();
  connect();
})();
