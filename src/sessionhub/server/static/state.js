// The dashboard's in-memory state, and a small LRU cache of sessions' latest messages so
// switching between sessions is instant (the cached view shows first, then is refreshed).

const ACTIVE_KEY = "sessionhub.activeSession";
const CACHE_SIZE = 30;

export const state = {
  view: "active", // active | archived | scheduled
  list: [], // the sessions of the view, server order
  nextCursor: null,
  loadingMore: false,
  activeId: localStorage.getItem(ACTIVE_KEY) || null,
  wsSession: null, // the session the server's chat is on (its last `session` event)
  agents: [],
  stream: null, // {sessionId, messageId} while a reply streams in
  awaiting: null, // session id of a chat sent whose reply has not started yet
  pendingCommand: null, // {sessionId, at} after a "/command" was sent
};

export function setActive(id) {
  state.activeId = id;
  if (id) localStorage.setItem(ACTIVE_KEY, id);
  else localStorage.removeItem(ACTIVE_KEY);
}

const cache = new Map(); // id -> {session, messages: [], hasMore, notes: []}

export function entry(id, create = true) {
  let e = cache.get(id);
  if (e) {
    cache.delete(id); // LRU: re-insert as newest
    cache.set(id, e);
    return e;
  }
  if (!create) return null;
  e = { session: null, messages: [], hasMore: false, notes: [], loaded: false };
  cache.set(id, e);
  while (cache.size > CACHE_SIZE) {
    const oldest = cache.keys().next().value;
    if (oldest === state.activeId) break;
    cache.delete(oldest);
  }
  return e;
}

export function peek(id) {
  return cache.get(id) || null;
}

export function forget(id) {
  cache.delete(id);
}

/**
 * Put messages into an entry: by id, keeping seq order. A local echo (the optimistic copy of
 * a message being sent) gives way to its stored message whichever comes first: the WebSocket
 * `message` event, or a history page fetched meanwhile (which must not add the local copy
 * back next to the stored one, left on "sending…" for good).
 */
export function mergeMessages(e, messages) {
  const claimed = new Set(); // stored messages that took the place of a local echo here
  for (const m of messages) {
    if (m.local) {
      const stored = e.messages.find((x) => !claimed.has(x) && isStoredCopy(x, m));
      if (stored) claimed.add(stored);
      else e.messages.push(m);
      continue;
    }
    const i = e.messages.findIndex((x) => x.id === m.id || (m.seq != null && x.seq === m.seq && !x.local));
    if (i >= 0) e.messages[i] = { ...e.messages[i], ...m };
    else e.messages.push(m);
    const local = e.messages.findIndex((x) => isStoredCopy(m, x));
    if (local >= 0) e.messages.splice(local, 1);
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
