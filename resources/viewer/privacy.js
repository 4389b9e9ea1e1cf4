// The viewer's privacy (issue 6): on a first visit a plain-words choice whether the shop
// may remember them across shows ("remember") or keep only this show's public activity
// ("session"); a Privacy panel to change it any time, download everything the shop holds
// about them as JSON, and delete it; the panel also shows what the shop keeps, for how
// long and why: the retention table, as the hub sends it with the consent state (issue
// 15), never a copy kept here. Messages `consent`, `export` and `delete_me`
// (docs/protocol.md, "A viewer's own data"). Every string goes in through textContent.

import { el, randomId, storage } from "./dom.js";

const STORAGE_PREFIX = "shopcast.";
const VIEWER_ID_KEY = "shopcast.viewer_id";
// sessionStorage, not localStorage: it only has to live through the reload after a
// deletion, to say on the fresh page that the deletion happened.
const DELETED_FLAG = "shopcast.deleted";
const EXPORT_FILE = "shopcast-my-data.json";

const CHOICES = {
  remember: {
    label: "Remember me",
    detail: "The team sees your past orders and questions across shows, so they can help you better.",
  },
  session: {
    label: "Only this show",
    detail: "After the show the shop forgets you: your comments stay without your name, orders only for delivery and the books.",
  },
};

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

function button(className, text, testid) {
  const node = el("button", className, text);
  node.type = "button";
  if (testid) node.dataset.testid = testid;
  return node;
}

function withId(node, id) {
  node.id = id;
  return node;
}

// Everything the page keeps on this device about the viewer (id, name, buyer details,
// saved card, owned and reviewed products) lives under "shopcast.".
function forgetThisDevice() {
  try {
    const keys = [];
    for (let i = 0; i < window.localStorage.length; i += 1) {
      const key = window.localStorage.key(i);
      if (key && key.startsWith(STORAGE_PREFIX)) keys.push(key);
    }
    for (const key of keys) storage.remove(key);
  } catch {
    // No storage: nothing was kept.
  }
}

function session(action, key, value) {
  try {
    if (action === "get") return window.sessionStorage.getItem(key);
    if (action === "set") window.sessionStorage.setItem(key, value);
    if (action === "remove") window.sessionStorage.removeItem(key);
  } catch {
    // Private mode: the notice after a deletion is skipped, nothing else.
  }
  return null;
}

function saveFile(name, text) {
  const url = URL.createObjectURL(new Blob([text], { type: "application/json" }));
  const link = el("a");
  link.href = url;
  link.download = name;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

// ---------------------------------------------------------------------- the page's parts

function buildPrompt() {
  const prompt = el("section", "consent-prompt");
  prompt.dataset.testid = "consent-prompt";
  prompt.setAttribute("aria-labelledby", "consent-heading");
  prompt.setAttribute("aria-describedby", "consent-note");
  prompt.tabIndex = -1;
  prompt.hidden = true;

  const heading = withId(el("h2", "consent-heading", "Can the shop remember you?"), "consent-heading");
  const choices = el("div", "consent-choices");
  const buttons = {};
  for (const [value, choice] of Object.entries(CHOICES)) {
    const cell = el("div", "consent-choice");
    const detail = withId(el("p", "consent-detail", choice.detail), `consent-${value}-detail`);
    const chooser = button("button consent-button", choice.label, `consent-${value}`);
    chooser.setAttribute("aria-describedby", detail.id);
    chooser.dataset.consent = value;
    cell.append(chooser, detail);
    choices.append(cell);
    buttons[value] = chooser;
  }
  const note = withId(
    el("p", "consent-note", "Until you choose, only this show is kept. Change it any time under Privacy."),
    "consent-note",
  );
  const error = el("p", "form-error");
  error.setAttribute("role", "alert");
  prompt.append(heading, choices, note, error);
  return { prompt, buttons, error };
}

function buildNotice() {
  const notice = el("div", "privacy-notice");
  notice.dataset.testid = "privacy-notice";
  notice.setAttribute("role", "status");
  notice.hidden = true;
  const text = el("p", "privacy-notice-text");
  const close = button("icon-button privacy-notice-close", "×");
  close.setAttribute("aria-label", "Dismiss");
  notice.append(text, close);
  close.addEventListener("click", () => {
    notice.hidden = true;
  });
  return { notice, text };
}

function buildPanel() {
  const dialog = el("dialog", "sheet privacy-sheet");
  dialog.dataset.testid = "privacy-panel";
  dialog.setAttribute("aria-labelledby", "privacy-heading");

  const content = el("div", "privacy-content");
  const header = el("header", "sheet-header");
  const close = button("icon-button", "×");
  close.setAttribute("aria-label", "Close privacy");
  header.append(withId(el("h2", "sheet-heading", "Your privacy"), "privacy-heading"), close);

  const body = el("div", "sheet-body");

  // What the shop keeps: the current choice and the way to change it.
  const choice = el("fieldset", "privacy-choice");
  choice.append(el("legend", "fields-legend", "What the shop keeps about you"));
  const current = el("p", "privacy-current");
  current.dataset.testid = "privacy-current";
  choice.append(current);
  const radios = {};
  for (const [value, option] of Object.entries(CHOICES)) {
    const label = el("label", "privacy-option");
    const radio = el("input");
    radio.type = "radio";
    radio.name = "privacy-consent";
    radio.value = value;
    radio.dataset.testid = `privacy-${value}`;
    const text = el("span", "privacy-option-text");
    text.append(el("span", "privacy-option-label", option.label), el("span", "consent-detail", option.detail));
    label.append(radio, text);
    choice.append(label);
    radios[value] = radio;
  }
  const saved = el("p", "privacy-saved");
  saved.setAttribute("role", "status");
  choice.append(saved);

  // Their data: download it, delete it.
  const data = el("section", "privacy-data");
  data.setAttribute("aria-labelledby", "privacy-data-heading");
  data.append(
    withId(el("h3", "fields-legend", "Your data"), "privacy-data-heading"),
    el(
      "p",
      "privacy-text",
      "Everything the shop holds about you: your name, comments, questions, orders and the team's notes.",
    ),
  );
  const actions = el("div", "privacy-actions");
  const exportButton = button("button button-quiet", "Download my data", "export-data");
  const deleteButton = button("button button-quiet button-danger-quiet", "Delete my data", "delete-data");
  actions.append(exportButton, deleteButton);
  const status = el("p", "privacy-status");
  status.dataset.testid = "privacy-status";
  status.setAttribute("role", "status");

  const confirm = el("div", "delete-step");
  confirm.dataset.testid = "delete-step";
  confirm.setAttribute("role", "group");
  confirm.setAttribute("aria-labelledby", "delete-step-heading");
  confirm.hidden = true;
  const confirmHeading = withId(
    el("p", "delete-step-heading", "Delete everything the shop holds about you?"),
    "delete-step-heading",
  );
  confirmHeading.tabIndex = -1;
  const consequences = el("ul", "delete-list");
  for (const line of [
    "Your comments stay in the chat, signed “deleted viewer”.",
    "Your name, profile and the team's notes are removed.",
    "Orders are kept only as far as the law requires, without your name or address.",
    "This page then starts fresh, as a new viewer. This cannot be undone.",
  ]) {
    consequences.append(el("li", undefined, line));
  }
  const confirmActions = el("div", "privacy-actions");
  const confirmButton = button("button button-danger", "Yes, delete my data", "delete-confirm");
  const cancelButton = button("button button-quiet", "Keep my data", "delete-cancel");
  confirmActions.append(confirmButton, cancelButton);
  confirm.append(confirmHeading, consequences, confirmActions);

  data.append(actions, status, confirm);

  // What is kept, for how long and why: filled in from the hub's table.
  const retention = el("details", "privacy-data privacy-retention");
  retention.dataset.testid = "retention-table";
  retention.hidden = true;
  const retentionList = el("dl", "retention-list");
  retention.append(el("summary", "fields-legend", "What the shop keeps, for how long, and why"), retentionList);

  body.append(choice, retention, data);
  content.append(header, body);
  dialog.append(content);
  return {
    dialog,
    close,
    retention,
    retentionList,
    current,
    radios,
    saved,
    exportButton,
    deleteButton,
    status,
    confirm,
    confirmHeading,
    confirmButton,
    cancelButton,
  };
}

// One row per kind of data: what, how long under each choice, and why (strings from the
// hub, in through textContent).
function renderRetention(panel, rows) {
  const lines = rows.filter((row) => row && typeof row.what === "string");
  panel.retentionList.replaceChildren();
  for (const row of lines) {
    const item = el("div", "privacy-text retention-row");
    item.dataset.testid = "retention-row";
    item.append(el("dt", "privacy-current", row.what));
    for (const [label, text] of [
      [CHOICES.remember.label, row.remember],
      [`${CHOICES.session.label}, or not chosen yet`, row.without],
      ["Why", row.why],
    ]) {
      const line = el("dd", "consent-detail");
      line.append(el("strong", undefined, `${label}: `), String(text ?? ""));
      item.append(line);
    }
    panel.retentionList.append(item);
  }
  panel.retention.hidden = lines.length === 0;
}

function buildOpener() {
  const opener = button("privacy-button", "Privacy", "privacy-button");
  opener.setAttribute("aria-haspopup", "dialog");
  return opener;
}

// ---------------------------------------------------------------------- behaviour

// send(message) -> bool, isConnected() -> bool; restart() reloads the page after a
// deletion (the app then makes a new viewer id and asks for a name again).
export function createPrivacy({ send, isConnected, restart = () => window.location.reload() }) {
  const chatHeader = document.querySelector(".chat-header");
  const { prompt, buttons, error: promptError } = buildPrompt();
  const { notice, text: noticeText } = buildNotice();
  const panel = buildPanel();
  const opener = buildOpener();
  const announcer = el("p", "visually-hidden");
  announcer.setAttribute("role", "status");

  if (chatHeader) {
    chatHeader.append(opener);
    chatHeader.after(notice, prompt);
  } else {
    document.body.prepend(opener, notice, prompt);
  }
  document.body.append(panel.dialog, announcer);

  let consent = null; // null until the hub says; then "unknown", "remember" or "session"
  let changed = null;
  let refCounter = 0;
  const pending = new Map(); // ref -> { kind, value, from }

  function nextRef(kind, extra) {
    refCounter += 1;
    const ref = `privacy-${kind}-${Date.now().toString(36)}-${refCounter}`;
    pending.set(ref, { kind, ...extra });
    return ref;
  }

  function pendingKind(kind) {
    for (const entry of pending.values()) if (entry.kind === kind) return true;
    return false;
  }

  function request(kind, message, extra) {
    if (!isConnected()) return null;
    const ref = nextRef(kind, extra);
    if (!send({ ...message, ref })) {
      pending.delete(ref);
      return null;
    }
    return ref;
  }

  // ------------------------------------------------------------------ the choice

  function currentText() {
    if (consent === "remember" || consent === "session") {
      const since =
        typeof changed === "number" && Number.isFinite(changed)
          ? ` (since ${dateFormat.format(new Date(changed * 1000))})`
          : "";
      return `You chose “${CHOICES[consent].label}”${since}.`;
    }
    if (consent === "unknown") return "You haven't chosen yet, so only this show is kept.";
    return "Connecting to the shop…";
  }

  function render() {
    const choosing = pendingKind("consent");
    prompt.hidden = consent !== "unknown" && !pendingFrom("prompt");
    for (const chooser of Object.values(buttons)) chooser.disabled = choosing;
    panel.current.textContent = currentText();
    // While a change is on its way, the radio shows what the viewer picked.
    let shown = consent;
    for (const entry of pending.values()) if (entry.kind === "consent") shown = entry.value;
    for (const [value, radio] of Object.entries(panel.radios)) {
      radio.checked = shown === value;
      radio.disabled = choosing || consent === null;
    }
    const busy = pendingKind("export") || pendingKind("delete");
    panel.exportButton.disabled = busy;
    panel.deleteButton.disabled = busy;
    panel.confirmButton.disabled = busy;
  }

  function pendingFrom(from) {
    for (const entry of pending.values()) if (entry.kind === "consent" && entry.from === from) return true;
    return false;
  }

  function choose(value, from) {
    promptError.textContent = "";
    panel.saved.textContent = "";
    // Disabling the pressed button takes focus away from it: remember where it was.
    const hadFocus = prompt.contains(document.activeElement);
    const ref = request("consent", { t: "consent", consent: value }, { value, from, hadFocus });
    if (!ref) {
      const text = "Not connected to the shop yet. Try again in a moment.";
      if (from === "prompt") promptError.textContent = text;
      else panel.saved.textContent = text;
    }
    render();
  }

  function chosen(entry) {
    consent = entry.value;
    changed = Date.now() / 1000;
    const words = `Saved: ${CHOICES[entry.value].label}.`;
    if (entry.from === "prompt") {
      const lost = document.activeElement === document.body || prompt.contains(document.activeElement);
      prompt.hidden = true;
      announcer.textContent = `${words} You can change it any time under Privacy.`;
      if (entry.hadFocus && lost) opener.focus();
    } else {
      panel.saved.textContent = words;
    }
  }

  for (const chooser of Object.values(buttons)) {
    chooser.addEventListener("click", () => choose(chooser.dataset.consent, "prompt"));
  }
  for (const radio of Object.values(panel.radios)) {
    radio.addEventListener("change", () => {
      if (radio.checked && radio.value !== consent) choose(radio.value, "panel");
    });
  }

  // ------------------------------------------------------------------ the panel

  function openPanel() {
    hideConfirm(false);
    panel.status.textContent = "";
    panel.status.classList.remove("is-error");
    panel.saved.textContent = "";
    render();
    if (!panel.dialog.open) panel.dialog.showModal();
    panel.close.focus();
  }

  function closePanel() {
    if (panel.dialog.open) panel.dialog.close();
  }

  panel.dialog.addEventListener("close", () => {
    hideConfirm(false);
    opener.focus();
  });
  // A tap on the backdrop (outside the sheet) closes it, as Escape does.
  panel.dialog.addEventListener("click", (event) => {
    if (event.target === panel.dialog) closePanel();
  });
  opener.addEventListener("click", openPanel);
  panel.close.addEventListener("click", closePanel);

  function setStatus(text, isError) {
    panel.status.textContent = text;
    panel.status.classList.toggle("is-error", Boolean(isError));
  }

  // ------------------------------------------------------------------ download

  panel.exportButton.addEventListener("click", () => {
    hideConfirm(false);
    if (!request("export", { t: "export" }, {})) {
      setStatus("Not connected to the shop. Try again in a moment.", true);
    } else {
      setStatus("Getting your data…");
    }
    render();
  });

  function exported(msg) {
    const file = {
      viewer_id: typeof msg.viewer_id === "string" ? msg.viewer_id : storage.get(VIEWER_ID_KEY),
      exported_at: new Date().toISOString(),
      data: msg.data && typeof msg.data === "object" ? msg.data : {},
    };
    saveFile(EXPORT_FILE, `${JSON.stringify(file, null, 2)}\n`);
    setStatus(`Saved as ${EXPORT_FILE} in your downloads.`);
  }

  // ------------------------------------------------------------------ delete

  function showConfirm() {
    setStatus("");
    panel.confirm.hidden = false;
    panel.deleteButton.setAttribute("aria-expanded", "true");
    panel.confirmHeading.focus();
    panel.confirm.scrollIntoView({ block: "nearest" });
  }

  function hideConfirm(focusBack) {
    panel.confirm.hidden = true;
    panel.deleteButton.setAttribute("aria-expanded", "false");
    if (focusBack) panel.deleteButton.focus();
  }

  panel.deleteButton.setAttribute("aria-expanded", "false");
  panel.deleteButton.addEventListener("click", showConfirm);
  panel.cancelButton.addEventListener("click", () => hideConfirm(true));
  panel.confirm.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      // Escape steps back from the confirmation first, then closes the panel.
      event.preventDefault();
      hideConfirm(true);
    }
  });
  panel.confirmButton.addEventListener("click", () => {
    if (!request("delete", { t: "delete_me" }, {})) {
      setStatus("Not connected to the shop. Nothing was deleted; try again in a moment.", true);
    } else {
      setStatus("Deleting your data…");
    }
    render();
  });

  function deleted() {
    setStatus("Your data was deleted. Starting fresh…");
    forgetThisDevice();
    storage.set(VIEWER_ID_KEY, randomId(18));
    session("set", DELETED_FLAG, "1");
    restart();
  }

  // After the reload that follows a deletion: say it happened.
  if (session("get", DELETED_FLAG)) {
    session("remove", DELETED_FLAG);
    noticeText.textContent =
      "Your data was deleted. This page has started fresh: you are a new viewer here.";
    notice.hidden = false;
  }

  render();

  return {
    // The hub's consent state, or the reply to an export.
    handle(msg) {
      if (msg.t === "consent") {
        // The hub answers a choice with the new state carrying the ref (an ack would do
        // the same): either is the reply.
        const entry = msg.ref ? pending.get(msg.ref) : undefined;
        if (entry) {
          pending.delete(msg.ref);
          chosen(entry);
        }
        if (typeof msg.consent === "string") consent = msg.consent;
        changed = typeof msg.changed === "number" ? msg.changed : null;
        if (Array.isArray(msg.retention)) renderRetention(panel, msg.retention);
        const first = prompt.hidden && consent === "unknown";
        render();
        if (first && !prompt.hidden && document.activeElement === document.body) {
          prompt.focus({ preventScroll: true });
        }
        return true;
      }
      if (msg.t === "export") {
        if (msg.ref) pending.delete(msg.ref);
        exported(msg);
        render();
        return true;
      }
      return false;
    },

    owns(ref) {
      return typeof ref === "string" && pending.has(ref);
    },

    // An ack or error answering one of this module's requests.
    onReply(msg) {
      const entry = pending.get(msg.ref);
      pending.delete(msg.ref);
      if (!entry) return;
      const failed = msg.t === "error";
      const text = typeof msg.message === "string" ? msg.message : "Something went wrong. Try again.";
      if (entry.kind === "consent") {
        if (!failed) chosen(entry);
        else if (entry.from === "prompt") promptError.textContent = text;
        else panel.saved.textContent = text;
      } else if (entry.kind === "export") {
        if (failed) setStatus(text, true);
      } else if (entry.kind === "delete") {
        if (failed) setStatus(`Nothing was deleted: ${text}`, true);
        else deleted();
      }
      render();
    },

    onDisconnected() {
      const lost = [...pending.values()];
      pending.clear();
      for (const entry of lost) {
        if (entry.kind === "export") setStatus("The connection dropped. Try again.", true);
        if (entry.kind === "delete") {
          setStatus("The connection dropped before the shop confirmed. Try again.", true);
        }
        if (entry.kind === "consent") {
          const text = "The connection dropped before your choice was saved. Try again.";
          if (entry.from === "prompt") promptError.textContent = text;
          else panel.saved.textContent = text;
        }
      }
      render();
    },
  };
}
