// The sessions sidebar: views (Active / Archived / Scheduled), groups, infinite scroll,
// row actions on a "…" menu, inline rename by double-click, and full-text search.

import { api } from "./api.js";
import { icon } from "./icons.js";
import { sanitizeSnippet } from "./markdown.js";
import { moreInSession, resultsLabel, SEARCH_DEBOUNCE_MS, searchSessions } from "./searchbox.js";
import { entry, state } from "./state.js";
import { closeMenu, confirmDialog, download, h, openMenu, shortTime, sourceBadge, toast, toastError } from "./ui.js";

const GROUP_LABELS = { pinned: "Pinned", today: "Today", yesterday: "Yesterday", this_week: "This Week", older: "Older" };
const PAGE = 50;
const PINNED_REASON = "Pinned sessions can't be archived: unpin it first";

let ctx;
let listEl;
let resultsEl;
let searchInput;
let sentinel;
let observer;
let listToken = 0;

export const displayTitle = (s) => s.title || s.preview || "New chat";

export function initSidebar(context) {
  ctx = context;
  listEl = document.getElementById("session-list");
  resultsEl = document.getElementById("search-results");
  searchInput = document.getElementById("search-input");
  sentinel = h("div.sentinel", { "aria-hidden": "true" });
  observer = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) loadMore();
  }, { root: listEl, rootMargin: "300px" });

  for (const btn of document.querySelectorAll(".filter")) {
    btn.addEventListener("click", () => setView(btn.dataset.view));
  }
  document.querySelector(".filters").addEventListener("keydown", (ev) => {
    if (ev.key !== "ArrowRight" && ev.key !== "ArrowLeft") return;
    const tabs = [...document.querySelectorAll(".filter")];
    const i = tabs.indexOf(document.activeElement);
    const next = tabs[(i + (ev.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length];
    next.focus();
    next.click();
  });

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

export function setView(view) {
  state.view = view;
  for (const b of document.querySelectorAll(".filter")) b.setAttribute("aria-selected", String(b.dataset.view === view));
  state.list = [];
  state.nextCursor = null;
  listEl.replaceChildren();
  return refreshList();
}

/** Reload the view's first pages (as many sessions as are shown now). */
export async function refreshList() {
  const token = ++listToken;
  const limit = Math.min(500, Math.max(PAGE, state.list.length));
  try {
    const page = await api.listSessions({ view: state.view, limit });
    if (token !== listToken) return;
    state.list = page.sessions;
    state.nextCursor = page.next_cursor;
    for (const s of page.sessions) {
      const e = entry(s.id, false);
      if (e) e.session = s;
    }
    renderList();
  } catch (err) {
    if (token === listToken) toastError(err, "Loading sessions failed");
  }
}

async function loadMore() {
  if (!state.nextCursor || state.loadingMore) return;
  state.loadingMore = true;
  const token = listToken;
  try {
    const page = await api.listSessions({ view: state.view, cursor: state.nextCursor, limit: PAGE });
    if (token !== listToken) return;
    const seen = new Set(state.list.map((s) => s.id));
    state.list.push(...page.sessions.filter((s) => !seen.has(s.id)));
    state.nextCursor = page.next_cursor;
    renderList();
  } catch (err) {
    toastError(err, "Loading more sessions failed");
  } finally {
    state.loadingMore = false;
  }
}

/** A session changed (rename, pin…): update its row and the open chat. */
export function updateSession(s) {
  const i = state.list.findIndex((x) => x.id === s.id);
  if (i >= 0) state.list[i] = { ...state.list[i], ...s, group: s.group || state.list[i].group };
  const e = entry(s.id, false);
  if (e) e.session = { ...(e.session || {}), ...s };
  renderList();
  ctx.sessionUpdated(s);
}

export function removeSession(id) {
  state.list = state.list.filter((s) => s.id !== id);
  renderList();
}

function groupKey(s) {
  if (state.view === "scheduled") return s.group || s.source_ref || "Other";
  if (s.pinned) return "pinned";
  return s.group || "older";
}

let renderDeferred = false;

export function renderList() {
  // a live refresh must not destroy an inline rename in progress: render when it is done
  if (listEl.querySelector(".rename-input")) {
    renderDeferred = true;
    return;
  }
  renderDeferred = false;
  observer.unobserve(sentinel);
  const focusedId = document.activeElement?.closest?.(".row")?.dataset.id;
  const focusedMore = document.activeElement?.classList?.contains("row-more");
  const groups = new Map();
  for (const s of state.list) {
    const key = groupKey(s);
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(s);
  }
  const children = [];
  for (const [key, sessions] of groups) {
    const label = state.view === "scheduled" ? key : GROUP_LABELS[key] || key;
    const id = `group-${children.length}`;
    children.push(
      h("section.group", { "aria-labelledby": id, dataset: { group: key } },
        h("h3.group-label", { id }, label),
        h("ul.rows", {}, sessions.map(row))),
    );
  }
  if (!state.list.length) {
    const empty = { active: "No sessions yet. Start a new chat.", archived: "No archived sessions.", scheduled: "No scheduled sessions." };
    children.push(h("p.empty", {}, empty[state.view]));
  }
  children.push(sentinel);
  listEl.replaceChildren(...children);
  if (state.nextCursor) observer.observe(sentinel);
  if (focusedId) {
    const r = listEl.querySelector(`.row[data-id="${CSS.escape(focusedId)}"]`);
    (focusedMore ? r?.querySelector(".row-more") : r?.querySelector(".row-open"))?.focus();
  }
}

function row(s) {
  const title = displayTitle(s);
  const active = s.id === state.activeId;
  const open = h("button.row-open", { type: "button", title, "aria-current": active ? "page" : null },
    sourceBadge(s),
    h("span.row-text", {},
      h("span.row-title", {}, title),
      h("span.row-sub", {}, s.source === "channel" ? `${s.channel} · ` : "", shortTime(s.last_message_at || s.created_at))),
    s.pinned ? h("span.pin", { title: "Pinned" }, icon("pin", "Pinned")) : null,
    s.status === "archived" ? h("span.tag", {}, "archived") : null,
  );
  open.addEventListener("click", () => ctx.openSession(s.id));
  open.addEventListener("keydown", (ev) => {
    if (ev.key === "F2") {
      ev.preventDefault();
      startRename(s, open);
    } else if (ev.key === "Delete") {
      ev.preventDefault();
      deleteSession(s);
    }
  });
  open.querySelector(".row-title").addEventListener("dblclick", (ev) => {
    ev.preventDefault();
    startRename(s, open);
  });
  const more = h("button.row-more", {
    type: "button", "aria-haspopup": "menu", "aria-expanded": "false", "aria-label": `Actions for ${title}`, title: "Actions",
  }, "…");
  more.addEventListener("click", () => openMenu(more, menuItems(s, open), `Actions for ${title}`));
  more.addEventListener("keydown", (ev) => {
    if (ev.key === "ArrowDown") {
      ev.preventDefault();
      more.click();
    }
  });
  return h(`li.row${active ? ".active" : ""}${s.pinned ? ".pinned" : ""}`, { dataset: { id: s.id } }, open, more);
}

function menuItems(s, openBtn) {
  const archived = s.status === "archived";
  const items = [
    { label: "Rename", action: "rename", onSelect: () => startRename(s, openBtn) },
    { label: s.pinned ? "Unpin" : "Pin", action: s.pinned ? "unpin" : "pin", onSelect: () => setPinned(s, !s.pinned) },
  ];
  if (archived) items.push({ label: "Restore to active", action: "restore", onSelect: () => restoreSession(s) });
  else items.push({ label: "Archive", action: "archive", disabled: s.pinned ? PINNED_REASON : null, onSelect: () => archiveSession(s) });
  items.push(
    { label: "Export as Markdown", action: "export-markdown", onSelect: () => exportSession(s, "markdown") },
    { label: "Export as JSON", action: "export-json", onSelect: () => exportSession(s, "json") },
    { label: "Delete…", action: "delete", danger: true, onSelect: () => deleteSession(s) },
  );
  return items;
}

/* ---- actions (also used by the chat header) ---- */

/** Inline rename: the title becomes an input; Enter or blur saves, Escape cancels. */
export function startRename(s, host) {
  closeMenu({ restoreFocus: false });
  const titleEl = host.querySelector(".row-title") || host;
  const input = h("input.rename-input", { type: "text", value: s.title || "", "aria-label": "New title", maxlength: "500" });
  const restoreFocusTo = host.closest(".row")?.querySelector(".row-open") || host;
  let done = false;
  const finish = async (save) => {
    if (done) return;
    done = true;
    const title = input.value.trim();
    input.replaceWith(titleEl);
    if (save && title && title !== s.title) await renameSession(s, title);
    else if (renderDeferred) renderList();
    (document.querySelector(`.row[data-id="${CSS.escape(s.id)}"] .row-open`) || restoreFocusTo).focus();
  };
  input.addEventListener("keydown", (ev) => {
    ev.stopPropagation();
    if (ev.key === "Enter") {
      ev.preventDefault();
      finish(true);
    } else if (ev.key === "Escape") {
      ev.preventDefault();
      finish(false);
    }
  });
  input.addEventListener("blur", () => finish(true));
  input.addEventListener("click", (ev) => ev.stopPropagation());
  input.addEventListener("dblclick", (ev) => ev.stopPropagation());
  titleEl.replaceWith(input);
  input.focus();
  input.select();
}

export async function renameSession(s, title) {
  try {
    updateSession(await api.rename(s.id, title));
  } catch (err) {
    toastError(err, "Rename failed");
  }
}

async function setPinned(s, pinned) {
  try {
    updateSession(await api.patchSession(s.id, { pinned }));
    await refreshList();
    toast(pinned ? "Pinned" : "Unpinned");
  } catch (err) {
    toastError(err, pinned ? "Pin failed" : "Unpin failed");
  }
}

async function archiveSession(s) {
  try {
    updateSession(await api.patchSession(s.id, { archived: true }));
    await refreshList();
    toast("Archived");
  } catch (err) {
    toastError(err, "Archive failed");
  }
}

export async function restoreSession(s) {
  try {
    updateSession(await api.patchSession(s.id, { archived: false }));
    await refreshList();
    toast("Restored to active");
  } catch (err) {
    toastError(err, "Restore failed");
  }
}

async function exportSession(s, format) {
  try {
    const safe = displayTitle(s).replace(/[^\w.-]+/g, "_").slice(0, 60) || s.id;
    const { blob, name } = await api.exportSession(s.id, format, safe);
    download(blob, name);
  } catch (err) {
    toastError(err, "Export failed");
  }
}

export async function deleteSession(s) {
  const ok = await confirmDialog({
    title: "Delete this session?",
    text: `“${displayTitle(s)}”, its messages and checkpoints will be deleted for good.`,
  });
  if (!ok) return;
  try {
    await api.deleteSession(s.id);
    removeSession(s.id);
    ctx.sessionDeleted(s.id);
    toast("Deleted");
  } catch (err) {
    toastError(err, "Delete failed");
  }
}

/* ---- search ---- */

let searchToken = 0;

export function focusSearch() {
  searchInput.focus();
  searchInput.select();
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
    const items = results.map((r) => {
      const btn = h("button.result", { type: "button", dataset: { id: r.session.id, seq: r.seq ?? "" } },
        h("span.result-title", {}, sourceBadge(r.session), " ", displayTitle(r.session),
          r.session.status === "archived" ? h("span.tag", {}, "archived") : null),
        h("span.result-snippet", {}, sanitizeSnippet(r.snippet)),
        h("span.result-meta", {}, r.seq != null ? `message #${r.seq}` : "title", " · ", shortTime(r.session.last_message_at || r.session.created_at)),
        moreInSession(r) ? h("span.result-more", {}, moreInSession(r)) : null,
      );
      btn.addEventListener("click", () => ctx.openSession(r.session.id, { seq: r.seq ?? null }));
      return h("li", {}, btn);
    });
    resultsEl.replaceChildren(
      h("p.results-count", { role: "status" }, resultsLabel(results)),
      h("ul.results", {}, items),
    );
  } catch (err) {
    if (token === searchToken) toastError(err, "Search failed");
  }
}
