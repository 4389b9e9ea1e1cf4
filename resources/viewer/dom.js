// Small helpers shared by the viewer page's modules: building elements (text only, never
// HTML), localStorage that never throws, and random ids.

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// Text a viewer wrote (or a shop typed) in an element of its own, isolated from the
// words around it (<bdi>): a name written right to left cannot carry " just bought" or
// the time beside it to its side. The hub already strips the direction controls that
// would flip a whole line; this keeps honest right-to-left text in its place.
export function userText(text) {
  return el("bdi", "", String(text ?? ""));
}

// An element holding one piece of user text, isolated (see userText).
export function elUser(tag, className, text) {
  const node = el(tag, className);
  node.append(userText(text));
  return node;
}

export function byId(id) {
  return document.getElementById(id);
}

export const storage = {
  get(key) {
    try {
      return window.localStorage.getItem(key);
    } catch {
      return null;
    }
  },
  set(key, value) {
    try {
      window.localStorage.setItem(key, value);
    } catch {
      // Private mode or a full quota: the page still works for this visit.
    }
  },
  remove(key) {
    try {
      window.localStorage.removeItem(key);
    } catch {
      // Nothing stored, nothing to forget.
    }
  },
  getJSON(key) {
    const raw = storage.get(key);
    if (!raw) return null;
    try {
      return JSON.parse(raw);
    } catch {
      return null;
    }
  },
  setJSON(key, value) {
    storage.set(key, JSON.stringify(value));
  },
};

// crypto.getRandomValues rather than randomUUID: a viewer on the LAN opens the page over
// plain http, which is not a secure context, and randomUUID only exists in one.
export function randomId(bytes) {
  const raw = crypto.getRandomValues(new Uint8Array(bytes));
  return btoa(String.fromCharCode(...raw))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

export function stars(rating) {
  const n = Math.max(0, Math.min(5, Math.round(rating)));
  return "★".repeat(n) + "☆".repeat(5 - n);
}
