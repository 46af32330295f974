// Which messages of a session are loaded: a window of contiguous seqs, fetched with the REST
// history's `before_seq` / `after_seq` (CONTRACT §6). The latest page when a session opens, a
// window around a search hit when jumping to it, a page more at either end while scrolling,
// and only what is new after a live change: loaded history is never thrown away for it.

import { api } from "./api.js";
import { firstSeq, lastSeq, MAX_WINDOW, mergeMessages, state } from "./state.js";

export const PAGE = 50;
const TAIL_CHECK = 200;

/** The messages a reload must keep: local echoes and the reply streaming in. */
function keepers(e, incoming) {
  const ids = new Set(incoming.map((m) => m.id));
  return e.messages.filter((m) => m.local || (state.stream && m.id === state.stream.messageId && !ids.has(m.id)));
}

function replaceWindow(e, messages, hasMore, hasNewer) {
  e.gen = (e.gen || 0) + 1; // a page fetched for the window before this one must not merge in
  const keep = hasNewer ? [] : keepers(e, messages);
  e.messages = [];
  mergeMessages(e, messages);
  if (keep.length) mergeMessages(e, keep);
  e.hasMore = hasMore;
  e.hasNewer = hasNewer;
  e.loaded = true;
  e.fromStorage = false;
}

/** The latest page (a session opens, or "jump to latest"). */
export async function loadLatest(e, id) {
  const page = await api.messages(id, { limit: PAGE });
  replaceWindow(e, page.messages, page.has_more, false);
}

/** A window around message `seq`: a page before it (it included) and a page after it. */
export async function loadAround(e, id, seq) {
  const [before, after] = await Promise.all([
    api.messages(id, { limit: PAGE, before_seq: seq + 1 }),
    api.messages(id, { limit: PAGE, after_seq: seq }),
  ]);
  replaceWindow(e, [...before.messages, ...after.messages], before.has_more, after.has_more);
}

/** One page older; past MAX_WINDOW the newest messages are dropped (to be fetched again). */
export async function loadOlder(e, id) {
  const oldest = firstSeq(e);
  if (!e.hasMore || !Number.isFinite(oldest)) return 0;
  const gen = e.gen;
  const page = await api.messages(id, { limit: PAGE, before_seq: oldest });
  if (gen !== e.gen) return 0;
  mergeMessages(e, page.messages);
  e.hasMore = page.has_more;
  const stored = e.messages.filter((m) => m.seq != null && !m.local);
  if (stored.length > MAX_WINDOW) {
    const cut = stored[MAX_WINDOW - 1].seq;
    e.messages = e.messages.filter((m) => m.seq != null && m.seq <= cut && !m.local);
    e.hasNewer = true;
  }
  return page.messages.length;
}

/** One page newer (a window opened around a hit); past MAX_WINDOW the oldest are dropped. */
export async function loadNewer(e, id) {
  if (!e.hasNewer) return 0;
  const gen = e.gen;
  const page = await api.messages(id, { limit: PAGE, after_seq: lastSeq(e) });
  if (gen !== e.gen) return 0;
  mergeMessages(e, page.messages);
  e.hasNewer = page.has_more;
  const stored = e.messages.filter((m) => m.seq != null && !m.local);
  if (stored.length > MAX_WINDOW) {
    const cut = stored[stored.length - MAX_WINDOW].seq;
    e.messages = e.messages.filter((m) => m.seq == null || m.seq >= cut);
    e.hasMore = true;
  }
  return page.messages.length;
}

/**
 * After a change elsewhere: fetch what follows the last loaded message (it included, to see
 * that the history did not go back, as a checkpoint restore or a clear does). Older loaded
 * messages stay. A window away from the tail (opened around a hit) only learns there is more.
 */
export async function refreshTail(e, id) {
  if (e.hasNewer) return;
  const last = lastSeq(e);
  if (!last) return loadLatest(e, id);
  const gen = e.gen;
  const page = await api.messages(id, { limit: TAIL_CHECK, after_seq: last - 1 });
  if (gen !== e.gen) return undefined; // replaced meanwhile (a jump, a reload): that one wins
  const mine = e.messages.find((m) => m.seq === last && !m.local);
  const first = page.messages[0];
  if (!first || first.seq !== last || (mine && mine.id !== first.id) || page.has_more) {
    return loadLatest(e, id); // rewound (restore, clear) or far behind: start again from the tail
  }
  mergeMessages(e, page.messages);
}

/** A `history` event (the server's latest messages after a switch): merge, never shrink. */
export function mergeHistory(e, messages) {
  if (!messages.length) {
    if (!e.loaded) replaceWindow(e, [], false, false);
    return;
  }
  const first = messages[0].seq;
  const last = lastSeq(e);
  const clash = messages.some((m) => {
    const mine = e.messages.find((x) => x.seq === m.seq && !x.local);
    return mine && mine.id !== m.id;
  });
  if (!e.loaded || clash || first > last + 1 || messages[messages.length - 1].seq < last) {
    if (e.hasNewer && !clash && e.loaded) return; // reading an older window: leave it be
    replaceWindow(e, messages, first > 1, false);
    return;
  }
  if (!e.hasNewer) mergeMessages(e, messages);
}
