// The sidebar's search box: search as you type, one hit per session.
//
// The server matches the last word as a prefix ("kuber" finds Kubernetes) and Chinese,
// Japanese, Korean and Thai text by substring, so a query is sent on every pause in typing.
// Results come grouped by session (GET /api/sessions/search?group=session): the best hit of
// each session, with `count`, the session's number of hits, shown as "N more in this session".
// Kept apart from sidebar.js so the sidebar can change without touching search.

import { api } from "./api.js";

export const SEARCH_DEBOUNCE_MS = 120;

/** One best hit per session, ranked; `mode` left to the server's default (hybrid when installed). */
export function searchSessions(q, { limit = 20, view = "all" } = {}) {
  return api.search(q, { limit, view, group: "session" });
}

/** "3 more in this session" for a grouped hit, or "" when the session has one hit. */
export function moreInSession(result) {
  const more = (result.count || 1) - 1;
  return more > 0 ? `${more} more in this session` : "";
}

/** The count line above the results. */
export function resultsLabel(results) {
  if (!results.length) return "No results";
  const hits = results.reduce((n, r) => n + (r.count || 1), 0);
  const sessions = `${results.length} session${results.length === 1 ? "" : "s"}`;
  return hits > results.length ? `${sessions}, ${hits} hits` : sessions;
}
