// The sessions sidebar: views (Active / Archived / Scheduled), filters by agent and channel,
// groups, a virtual list fed page by page, live updates of single rows, row actions on a "…"
// menu and inline rename by double-click. Search lives in search.js.

import { api } from "./api.js";
import { icon } from "./icons.js";
import { entry, forget, state } from "./state.js";
import { channelName, closeMenu, confirmDialog, download, h, openMenu, shortTime, sourceBadge, toast, toastError } from "./ui.js";
import { VirtualList } from "./vlist.js";

const GROUP_LABELS = { pinned: "Pinned", today: "Today", yesterday: "Yesterday", this_week: "This Week", older: "Older" };
const GROUP_ORDER = ["pinned", "today", "yesterday", "this_week", "older"];
const CHANNELS = ["web", "telegram", "slack", "discord", "whatsapp", "signal", "matrix", "teams", "google_chat", "webhook"];
const PAGE = 50;
const ROW_H = 58; // px: keep in step with .row in styles.css
const HEAD_H = 34; // px: keep in step with .group-label
const PINNED_REASON = "Pinned sessions can't be archived: unpin it first";

let ctx;
let listEl;
let vlist;
let listToken = 0;

export const displayTitle = (s) => s.title || s.preview || "New chat";

export function initSidebar(context) {
  ctx = context;
  listEl = document.getElementById("session-list");
  vlist = new VirtualList(listEl, {
    height: (item) => (item.head ? HEAD_H : ROW_H),
    key: (item) => (item.head ? `group:${item.group}` : item.session.id),
    render: (item) => (item.head ? groupHead(item) : row(item.session, item.group)),
    looks: (item) => (item.head ? item.group : rowLooks(item.session, item.group)),
    onScrollEnd: () => loadMore(),
  });
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
  const channelSel = document.getElementById("filter-channel");
  channelSel.append(...CHANNELS.map((c) => h("option", { value: c }, channelName(c))));
  channelSel.addEventListener("change", () => setFilter("channel", channelSel.value));
  document.getElementById("filter-agent").addEventListener("change", (ev) => setFilter("agent", ev.target.value));
  listEl.addEventListener("keydown", (ev) => {
    if (ev.key !== "ArrowDown" && ev.key !== "ArrowUp") return;
    const current = document.activeElement?.closest?.(".row")?.dataset.id;
    if (!current || document.activeElement.classList.contains("row-more")) return;
    const ids = state.list.map((s) => s.id);
    const next = ids[ids.indexOf(current) + (ev.key === "ArrowDown" ? 1 : -1)];
    if (!next) return;
    ev.preventDefault();
    vlist.reveal(next)?.querySelector(".row-open")?.focus();
  });
}

/** The agents are known: fill the agent filter. */
export function setAgentFilterOptions(agents) {
  const sel = document.getElementById("filter-agent");
  sel.replaceChildren(h("option", { value: "" }, "All agents"), ...agents.map((a) => h("option", { value: a.id }, a.id)));
  sel.value = state.filters.agent;
}

function setFilter(name, value) {
  state.filters[name] = value;
  document.getElementById("filters-extra").classList.toggle("filtering", !!(state.filters.agent || state.filters.channel));
  return setView(state.view);
}

export function setView(view) {
  state.view = view;
  for (const b of document.querySelectorAll(".filter")) b.setAttribute("aria-selected", String(b.dataset.view === view));
  state.list = [];
  state.nextCursor = null;
  listEl.scrollTop = 0;
  return refreshList();
}

function query(extra) {
  return { view: state.view, agent: state.filters.agent || null, channel: state.filters.channel || null, ...extra };
}

/** Reload the view's first page (a view or filter change; a full reset). */
export async function refreshList() {
  const token = ++listToken;
  state.loadingMore = false;
  try {
    const page = await api.listSessions(query({ limit: PAGE }));
    if (token !== listToken) return;
    state.list = page.sessions;
    state.nextCursor = page.next_cursor;
    for (const s of page.sessions) {
      const e = entry(s.id, false);
      if (e) e.session = { ...(e.session || {}), ...s };
    }
    renderList();
  } catch (err) {
    if (token === listToken) toastError(err, "Loading sessions failed");
  }
}

/** The next page, appended (the rows already drawn stay as they are). */
async function loadMore() {
  if (!state.nextCursor || state.loadingMore) return;
  state.loadingMore = true;
  const token = listToken;
  try {
    const page = await api.listSessions(query({ cursor: state.nextCursor, limit: PAGE }));
    if (token !== listToken) return;
    const got = performance.now();
    const seen = new Set(state.list.map((s) => s.id));
    state.list.push(...page.sessions.filter((s) => !seen.has(s.id)));
    state.nextCursor = page.next_cursor;
    renderList();
    listEl.dataset.scriptMs = (performance.now() - got).toFixed(2);
    // for measurements (bench/dashboard.py): from the page's arrival to the frame that shows it
    requestAnimationFrame(() => {
      listEl.dataset.drawMs = (performance.now() - got).toFixed(1);
      listEl.dispatchEvent(new CustomEvent("pageloaded", { detail: { rows: state.list.length } }));
    });
  } catch (err) {
    toastError(err, "Loading more sessions failed");
  } finally {
    if (token === listToken) state.loadingMore = false;
  }
}

/* ---- one session changed: place its row, leave the rest alone ---- */

const activityOf = (s) => Date.parse(s.activity_at || s.last_message_at || s.created_at) || 0;

function belongs(s) {
  if (state.filters.agent && s.agent !== state.filters.agent) return false;
  if (state.filters.channel && s.channel !== state.filters.channel) return false;
  if (state.view === "archived") return s.status === "archived";
  if (state.view === "scheduled") return s.source === "scheduled";
  return s.status !== "archived";
}

function before(a, b) {
  if (!!a.pinned !== !!b.pinned) return !!a.pinned;
  return activityOf(a) > activityOf(b);
}

/** Put a session where the list's order wants it (or out of the list); redraw. */
export function placeSession(s) {
  const i = state.list.findIndex((x) => x.id === s.id);
  const old = i >= 0 ? state.list[i] : null;
  if (i >= 0) state.list.splice(i, 1);
  // an empty session made elsewhere waits for its first message (the server lists only the
  // newest empty one); one made here is the open one and shows at once
  const emptyElsewhere = !old && !s.message_count && s.id !== state.activeId;
  if (belongs(s) && !emptyElsewhere) {
    const merged = old ? { ...old, ...s } : s;
    let at = state.list.findIndex((x) => before(merged, x));
    if (at < 0) at = state.nextCursor ? -1 : state.list.length; // beyond the loaded pages: not drawn yet
    if (at >= 0) state.list.splice(at, 0, merged);
  }
  const e = entry(s.id, false);
  if (e) e.session = { ...(e.session || {}), ...s };
  renderList();
}

/** A session changed (rename, pin…): update its row and the open chat. */
export function updateSession(s) {
  placeSession(s);
  ctx.sessionUpdated(s);
}

/** Fetch one session and place it (a live `sessions_changed`, a chat command's effect). */
export async function refreshSession(id) {
  try {
    updateSession(await api.getSession(id));
  } catch (err) {
    if (err.status === 404) removeSession(id);
  }
}

export function removeSession(id) {
  state.list = state.list.filter((s) => s.id !== id);
  forget(id);
  renderList();
}

/* ---- drawing ---- */

function groupKey(s) {
  if (state.view === "scheduled" && s.source === "scheduled") return `task:${s.source_ref || "scheduled"}`;
  if (s.pinned) return "pinned";
  return s.group && GROUP_LABELS[s.group] ? s.group : "older";
}

function groupLabel(key) {
  return key.startsWith("task:") ? key.slice(5) : GROUP_LABELS[key] || key;
}

let renderDeferred = false;

export function renderList() {
  // a live refresh must not destroy an inline rename in progress: render when it is done
  if (listEl.querySelector(".rename-input")) {
    renderDeferred = true;
    return;
  }
  renderDeferred = false;
  const groups = new Map();
  for (const s of state.list) {
    const key = groupKey(s);
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(s);
  }
  // one order for the groups, whatever order the rows came in
  const rank = (k) => (k.startsWith("task:") ? -1 : GROUP_ORDER.indexOf(k));
  const keys = [...groups.keys()].sort((a, b) => (rank(a) === -1 && rank(b) === -1 ? 0 : rank(a) - rank(b)));
  const items = [];
  for (const key of keys) {
    items.push({ head: true, group: key });
    for (const s of groups.get(key)) items.push({ session: s, group: key });
  }
  listEl.querySelector(".empty")?.remove();
  if (!state.list.length) {
    const empty = { active: "No sessions yet. Start a new chat.", archived: "No archived sessions.", scheduled: "No scheduled sessions." };
    listEl.prepend(h("p.empty", {}, state.filters.agent || state.filters.channel ? "No sessions match the filters." : empty[state.view]));
  }
  listEl.dataset.count = String(state.list.length);
  listEl.dataset.top = state.list[0]?.id || "";
  listEl.dataset.more = state.nextCursor ? "1" : "0";
  vlist.setItems(items);
}

/** The open session changed: redraw the rows so the active one is marked. */
export function markActive() {
  for (const r of listEl.querySelectorAll(".row")) {
    const on = r.dataset.id === state.activeId;
    r.classList.toggle("active", on);
    const open = r.querySelector(".row-open");
    if (on) open.setAttribute("aria-current", "page");
    else open.removeAttribute("aria-current");
  }
}

function groupHead(item) {
  return h("h2.group-label", { dataset: { group: item.group } }, groupLabel(item.group));
}

/** Everything row() draws from a session: equal strings, equal rows. The time as shown (it
 * depends on today's date too), so a refresh after midnight redraws "14:05" as "Mon". */
function rowLooks(s, group) {
  const at = s.activity_at || s.last_message_at || s.created_at;
  return JSON.stringify([
    group, s.title, s.preview, s.message_count, at, shortTime(at),
    !!s.pinned, s.status, s.source, s.source_ref, s.channel, s.agent, s.metadata?.type,
  ]);
}

function row(s, group) {
  // a kept row (rowLooks unchanged) outlives its session object: act on the list's current one
  const cur = () => state.list.find((x) => x.id === s.id) || s;
  const title = displayTitle(s);
  const active = s.id === state.activeId;
  const count = s.message_count ?? 0;
  const sub = s.title && s.preview && s.preview !== s.title ? s.preview : s.source === "channel" ? channelName(s.channel) : s.agent;
  const open = h("a.row-open", { href: `/s/${encodeURIComponent(s.id)}`, title, "aria-current": active ? "page" : null, draggable: "false" },
    sourceBadge(s),
    h("span.row-text", {},
      h("span.row-line", {},
        h("span.row-title", {}, title),
        h("time.row-time", { datetime: s.activity_at || s.last_message_at || s.created_at }, shortTime(s.activity_at || s.last_message_at || s.created_at))),
      h("span.row-line", {},
        h("span.row-preview", {}, sub || ""),
        h("span.row-count", { title: `${count} message${count === 1 ? "" : "s"}`, "aria-label": `${count} message${count === 1 ? "" : "s"}` }, String(count)))),
    s.pinned ? h("span.pin", { title: "Pinned" }, icon("pin", "Pinned")) : null,
    s.status === "archived" ? h("span.tag", {}, "archived") : null,
  );
  open.addEventListener("click", (ev) => {
    if (ev.button !== 0 || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.altKey) return; // a new tab: the browser's
    ev.preventDefault();
    ctx.openSession(s.id);
  });
  open.addEventListener("keydown", (ev) => {
    if (ev.key === "F2") {
      ev.preventDefault();
      startRename(cur(), open);
    } else if (ev.key === "Delete") {
      ev.preventDefault();
      deleteSession(cur());
    }
  });
  open.querySelector(".row-title").addEventListener("dblclick", (ev) => {
    ev.preventDefault();
    startRename(cur(), open);
  });
  const more = h("button.row-more", {
    type: "button", "aria-haspopup": "menu", "aria-expanded": "false", "aria-label": `Actions for ${title}`, title: "Actions",
  }, "…");
  more.addEventListener("click", () => openMenu(more, menuItems(cur(), open), `Actions for ${displayTitle(cur())}`));
  more.addEventListener("keydown", (ev) => {
    if (ev.key === "ArrowDown") {
      ev.preventDefault();
      more.click();
    }
  });
  return h(`div.row${active ? ".active" : ""}${s.pinned ? ".pinned" : ""}`, { dataset: { id: s.id, group } }, open, more);
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
    { label: "Open in a new tab", action: "new-tab", onSelect: () => window.open(`/s/${encodeURIComponent(s.id)}`, "_blank", "noopener") },
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
    (vlist.nodeOf(s.id)?.querySelector(".row-open") || restoreFocusTo).focus();
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
  input.addEventListener("click", (ev) => {
    ev.stopPropagation();
    ev.preventDefault();
  });
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
    toast(pinned ? "Pinned" : "Unpinned");
  } catch (err) {
    toastError(err, pinned ? "Pin failed" : "Unpin failed");
  }
}

async function archiveSession(s) {
  try {
    updateSession(await api.patchSession(s.id, { archived: true }));
    toast("Archived");
  } catch (err) {
    toastError(err, "Archive failed");
  }
}

export async function restoreSession(s) {
  try {
    updateSession(await api.patchSession(s.id, { archived: false }));
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

/** The session after (+1) or before (-1) the open one in the list (Alt+↓ / Alt+↑). */
export function neighbour(step) {
  const i = state.list.findIndex((s) => s.id === state.activeId);
  return state.list[i < 0 ? 0 : i + step]?.id || null;
}
