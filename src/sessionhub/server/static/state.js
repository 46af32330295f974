// The dashboard's in-memory state, and an LRU cache of sessions kept in memory AND in
// localStorage (like PocketPaw's StateManager): switching back to a session is instant, and a
// reload shows the open session at once before the server's copy refreshes it.
//
// Each entry holds a *window* of the session's messages: a contiguous run of seqs, with
// `hasMore` (older messages exist before it) and `hasNewer` (newer ones exist after it, when
// the window was opened around a search hit). The window is bounded (MAX_WINDOW), so a
// session of 100,000 messages never puts more than a few hundred on the page.

const ACTIVE_KEY = "sessionhub.activeSession";
const STORE_PREFIX = "sessionhub.cache.";
const INDEX_KEY = "sessionhub.cache.index";
const CACHE_SIZE = 30; // sessions kept in memory
const STORED_SIZE = 15; // sessions kept in localStorage
const STORED_MESSAGES = 60; // the latest messages of each stored session
export const MAX_WINDOW = 300; // messages in a window; the far side is dropped past this

export const state = {
  view: "active", // active | archived | scheduled
  filters: { agent: "", channel: "" },
  list: [], // the sessions of the view, server order
  nextCursor: null,
  loadingMore: false,
  activeId: localStorage.getItem(ACTIVE_KEY) || null,
  wsSession: null, // the session the server's chat is on (its last `session` event)
  switchRequests: [], // ids we asked the server to switch to (switch_session), oldest first
  agents: [],
  stream: null, // {sessionId, messageId} while a reply streams in
  awaiting: null, // session id of a chat sent whose reply has not started yet
  pendingCommand: null, // {sessionId, at, command} after a "/command" was sent
  lastSent: null, // {sessionId, content}: what Retry sends again
};

export function setActive(id) {
  state.activeId = id;
  if (id) localStorage.setItem(ACTIVE_KEY, id);
  else localStorage.removeItem(ACTIVE_KEY);
}

const cache = new Map(); // id -> entry

function blank() {
  return { session: null, messages: [], hasMore: false, hasNewer: false, notes: [], loaded: false, errors: {} };
}

export function entry(id, create = true) {
  let e = cache.get(id);
  if (e) {
    cache.delete(id); // LRU: re-insert as newest
    cache.set(id, e);
    return e;
  }
  const stored = restore(id);
  if (!stored && !create) return null;
  e = stored || blank();
  cache.set(id, e);
  while (cache.size > CACHE_SIZE) {
    const oldest = [...cache.keys()].find((k) => k !== state.activeId);
    if (!oldest) break;
    cache.delete(oldest);
  }
  return e;
}

export function peek(id) {
  return cache.get(id) || null;
}

export function forget(id) {
  cache.delete(id);
  try {
    localStorage.removeItem(STORE_PREFIX + id);
    writeIndex(readIndex().filter((x) => x !== id));
  } catch {
    /* storage unavailable */
  }
}

/** Drop every cached session (another token = another user). */
export function clearCache() {
  cache.clear();
  try {
    for (const id of readIndex()) localStorage.removeItem(STORE_PREFIX + id);
    localStorage.removeItem(INDEX_KEY);
  } catch {
    /* storage unavailable */
  }
}

/* ---- localStorage: the latest messages of the most recently used sessions ---- */

function readIndex() {
  try {
    const ids = JSON.parse(localStorage.getItem(INDEX_KEY) || "[]");
    return Array.isArray(ids) ? ids.filter((x) => typeof x === "string") : [];
  } catch {
    return [];
  }
}

function writeIndex(ids) {
  localStorage.setItem(INDEX_KEY, JSON.stringify(ids));
}

function restore(id) {
  try {
    const raw = localStorage.getItem(STORE_PREFIX + id);
    if (!raw) return null;
    const saved = JSON.parse(raw);
    if (!saved || !Array.isArray(saved.messages)) return null;
    return { ...blank(), session: saved.session || null, messages: saved.messages, hasMore: !!saved.hasMore, errors: saved.errors || {}, fromStorage: true };
  } catch {
    return null;
  }
}

const dirty = new Set();
let saveTimer = null;

/** Remember this session's latest messages in localStorage (soon, batched). */
export function persist(id) {
  if (!id) return;
  dirty.add(id);
  clearTimeout(saveTimer);
  saveTimer = setTimeout(flush, 400);
}

function flush() {
  const ids = [...dirty];
  dirty.clear();
  for (const id of ids) {
    const e = cache.get(id);
    if (!e || !e.session || e.hasNewer) continue; // only a window at the tail is worth keeping
    const stored = e.messages.filter((m) => !m.local && m.seq != null);
    const tail = stored.slice(-STORED_MESSAGES);
    const value = JSON.stringify({
      session: e.session,
      messages: tail,
      hasMore: e.hasMore || tail.length < stored.length,
      errors: e.errors,
    });
    let index = readIndex().filter((x) => x !== id);
    index.push(id);
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        while (index.length > STORED_SIZE) localStorage.removeItem(STORE_PREFIX + index.shift());
        localStorage.setItem(STORE_PREFIX + id, value);
        writeIndex(index);
        break;
      } catch {
        // quota: drop the least recently used and try again
        if (index.length <= 1) break;
        localStorage.removeItem(STORE_PREFIX + index.shift());
      }
    }
  }
}
window.addEventListener("pagehide", flush);

/**
 * Put messages into an entry: by id, keeping seq order. A local echo (the optimistic copy of
 * a message being sent) gives way to its stored message whichever comes first: the WebSocket
 * `message` event, or a history page fetched meanwhile (which must not add the local copy
 * back next to the stored one, left on "sending…" for good).
 */
export function mergeMessages(e, messages) {
  const claimed = new Set(); // stored messages that took the place of a local echo here
  const byId = new Map(e.messages.map((m, i) => [m.id, i]));
  const bySeq = new Map();
  e.messages.forEach((m, i) => {
    if (m.seq != null && !m.local) bySeq.set(m.seq, i);
  });
  for (const m of messages) {
    if (m.local) {
      const stored = e.messages.find((x) => !claimed.has(x) && isStoredCopy(x, m));
      if (stored) claimed.add(stored);
      else e.messages.push(m);
      continue;
    }
    const i = byId.get(m.id) ?? (m.seq != null ? bySeq.get(m.seq) : undefined);
    if (i !== undefined) e.messages[i] = { ...e.messages[i], ...m };
    else {
      e.messages.push(m);
      byId.set(m.id, e.messages.length - 1);
      if (m.seq != null) bySeq.set(m.seq, e.messages.length - 1);
    }
    if (e.messages.some((x) => x.local)) {
      const local = e.messages.findIndex((x) => isStoredCopy(m, x));
      if (local >= 0) {
        e.messages.splice(local, 1);
        byId.clear();
        bySeq.clear();
        e.messages.forEach((x, k) => {
          byId.set(x.id, k);
          if (x.seq != null && !x.local) bySeq.set(x.seq, k);
        });
      }
    }
  }
  e.messages.sort(byOrder);
}

/**
 * Whether `stored` is the stored copy of the local echo `local`: same role and content, stored
 * after the last message the page knew when it was sent (`afterSeq`), so an earlier message
 * of the same text never takes its place. A local copy the server refused ("not sent") has
 * no stored copy.
 */
function isStoredCopy(stored, local) {
  return (
    !stored.local && local.local && !local.failed && stored.seq != null && stored.seq > (local.afterSeq ?? 0) &&
    stored.role === local.role && stored.content === local.content
  );
}

const orderKey = (m) => (m.seq != null ? m.seq : Number.MAX_SAFE_INTEGER);
function byOrder(a, b) {
  return orderKey(a) - orderKey(b) || (a._n || 0) - (b._n || 0);
}

let counter = 0;
export const nextLocalId = (prefix) => `${prefix}-${Date.now().toString(36)}-${++counter}`;
export const tick = () => ++counter;

export function lastSeq(e) {
  let seq = 0;
  for (const m of e.messages) if (m.seq != null && m.seq > seq) seq = m.seq;
  return seq;
}

export function firstSeq(e) {
  let seq = Infinity;
  for (const m of e.messages) if (m.seq != null && m.seq < seq) seq = m.seq;
  return seq;
}
