// Full-text search in the sidebar (Ctrl+K): ranked results with <mark> snippets; a result
// opens its session at that message (a window around it, chat.js). The results are drawn by
// `renderResults`, kept apart so that another grouping (one row per session) can replace it.

import { sanitizeSnippet } from "./markdown.js";
import { moreInSession, resultsLabel, SEARCH_DEBOUNCE_MS, searchSessions } from "./searchbox.js";
import { displayTitle } from "./sidebar.js";
import { h, shortTime, sourceBadge, toastError } from "./ui.js";

let ctx;
let listEl;
let resultsEl;
let searchInput;
let searchToken = 0;

export function initSearch(context) {
  ctx = context;
  listEl = document.getElementById("session-list");
  resultsEl = document.getElementById("search-results");
  searchInput = document.getElementById("search-input");
  let debounce;
  searchInput.addEventListener("input", () => {
    clearTimeout(debounce);
    debounce = setTimeout(runSearch, SEARCH_DEBOUNCE_MS);
  });
  searchInput.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") {
      if (searchInput.value) {
        searchInput.value = "";
        runSearch();
        ev.stopPropagation();
      }
    } else if (ev.key === "ArrowDown") {
      resultsEl.querySelector(".result")?.focus();
      ev.preventDefault();
    } else if (ev.key === "Enter") {
      clearTimeout(debounce);
      runSearch().then(() => resultsEl.querySelector(".result")?.focus());
    }
  });
  resultsEl.addEventListener("keydown", (ev) => {
    const items = [...resultsEl.querySelectorAll(".result")];
    const i = items.indexOf(document.activeElement);
    if (ev.key === "ArrowDown") items[Math.min(items.length - 1, i + 1)]?.focus();
    else if (ev.key === "ArrowUp") (i <= 0 ? searchInput : items[i - 1]).focus();
    else return;
    ev.preventDefault();
  });
}

export function focusSearch() {
  searchInput.focus();
  searchInput.select();
}

function resultItem(r) {
  const btn = h("button.result", { type: "button", dataset: { id: r.session.id, seq: r.seq ?? "" } },
    h("span.result-title", {}, sourceBadge(r.session), " ", displayTitle(r.session),
      r.session.status === "archived" ? h("span.tag", {}, "archived") : null),
    h("span.result-snippet", {}, sanitizeSnippet(r.snippet)),
    h("span.result-meta", {}, r.seq != null ? `message #${r.seq}` : "title", " · ", shortTime(r.session.last_message_at || r.session.created_at)),
    moreInSession(r) ? h("span.result-more", {}, moreInSession(r)) : null,
  );
  btn.addEventListener("click", () => ctx.openSession(r.session.id, { seq: r.seq ?? null }));
  return h("li", {}, btn);
}

/** Draw a search answer (`{results}` of GET /api/sessions/search). */
export function renderResults(results) {
  resultsEl.replaceChildren(
    h("p.results-count", { role: "status" }, resultsLabel(results)),
    h("ul.results", {}, results.map(resultItem)),
  );
}

async function runSearch() {
  const q = searchInput.value.trim();
  const token = ++searchToken;
  if (!q) {
    resultsEl.hidden = true;
    resultsEl.replaceChildren();
    listEl.hidden = false;
    return;
  }
  try {
    const { results } = await searchSessions(q, { limit: 20, view: "all" });
    if (token !== searchToken) return;
    listEl.hidden = true;
    resultsEl.hidden = false;
    renderResults(results);
  } catch (err) {
    if (token === searchToken) toastError(err, "Search failed");
  }
}
