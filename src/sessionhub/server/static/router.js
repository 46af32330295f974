// Each session has its own URL, /s/<id> (the server answers it with this page): deep links,
// back / forward between sessions, a row opened in a new tab. `/` is the new-chat page. A
// `#m<seq>` fragment opens the session at that message.

let onRoute = null;

/** The session (and message) the address names: {id, seq} or {id: null}. */
export function current() {
  const m = /^\/s\/([^/]+)\/?$/.exec(location.pathname);
  const hit = /^#m(\d+)$/.exec(location.hash);
  return { id: m ? decodeURIComponent(m[1]) : null, seq: hit ? Number(hit[1]) : null };
}

/** Watch back / forward: `handler({id, seq})`. */
export function initRouter(handler) {
  onRoute = handler;
  window.addEventListener("popstate", () => onRoute(current()));
}

/** Show `id` in the address bar (a new history entry when it changes). */
export function routeTo(id, { replace = false } = {}) {
  const path = id ? `/s/${encodeURIComponent(id)}` : "/";
  if (location.pathname === path && !location.hash) return;
  if (replace || location.pathname === path) history.replaceState({ id }, "", path);
  else history.pushState({ id }, "", path);
}
