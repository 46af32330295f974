// The sessionhub dashboard: wires the modules together. It uses only the public REST API
// (api.js) and the WebSocket (ws.js) of CONTRACT §6-§7, like any other client.

import { api, getToken, onUnauthorized, setToken } from "./api.js";
import { handleEvent, initChat, jumpToLatest, openSession, reloadActive, renderHeader, setAgents, showNewChat, stop } from "./chat.js";
import { closePanel, forkAt, initCheckpoints, sessionChanged } from "./checkpoints.js";
import { customRetry } from "./hooks.js";
import { hydrateIcons } from "./icons.js";
import { current, initRouter, routeTo } from "./router.js";
import { focusSearch, initSearch } from "./search.js";
import { initShortcuts } from "./shortcuts.js";
import { initSidebar, markActive, neighbour, placeSession, refreshSession, setAgentFilterOptions, setView } from "./sidebar.js";
import { clearCache, forget, setActive, state } from "./state.js";
import { initTheme } from "./theme.js";
import { closeMenu, initMenuKeys, toast, toastError } from "./ui.js";
import { Live } from "./ws.js";
// Modules that extend the conversation through hooks.js (branches.js: regenerate, edit,
// "‹ 1/2 ›") are imported here, after the modules above.
import "./branches.js";

const conn = document.getElementById("conn");
let lostShown = false; // "connection lost" was said: "restored" may follow, once
let neverShown = false; // "no live connection" was said (it never opened)
let authorized = false;

const live = new Live({
  resumeId: () => {
    // the server answers a resume with `session`: that one we asked for (chat.js follows others)
    state.switchRequests = state.activeId ? [state.activeId] : [];
    state.wsSession = state.activeId;
    return state.activeId;
  },
  onStatus: (status) => {
    conn.textContent = status === "unauthorized" ? "no token" : status;
    conn.dataset.status = status;
    if (status === "live") {
      if (lostShown) toast("Live connection restored");
      lostShown = false;
      neverShown = false;
      if (state.activeId) reloadActive();
    } else if (status === "offline" && authorized) {
      if (live.everOpened && !lostShown) {
        lostShown = true;
        toast("Live connection lost: reconnecting…", "error");
      } else if (!live.everOpened && !neverShown) {
        neverShown = true;
        toast("No live connection to the server (/ws): retrying…", "error");
      }
    }
  },
  onUnauthorized: () => askToken("The live connection was refused: the token is missing or no longer valid."),
  onEvent: (evt) => {
    if (evt.type === "sessions_changed") return sessionsChanged(evt.session_id);
    handleEvent(evt);
  },
});

/* sessions_changed from this or another tab / device: update those rows and the open session */
let changeTimer = null;
const changed = new Set();
function sessionsChanged(id) {
  changed.add(id || null);
  clearTimeout(changeTimer);
  changeTimer = setTimeout(() => {
    const ids = [...changed];
    changed.clear();
    if (ids.includes(null) || ids.length > 10) refreshTop();
    for (const sid of ids.slice(0, 10)) {
      if (!sid) continue;
      if (sid === state.activeId) {
        if (!(state.stream && state.stream.sessionId === sid)) reloadActive();
        refreshSession(sid);
      } else {
        forget(sid);
        refreshSession(sid);
      }
    }
  }, 150);
}

/** Many changed at once: place the first page's sessions again (the loaded rows stay). */
async function refreshTop() {
  try {
    const page = await api.listSessions({ view: state.view, limit: 50, agent: state.filters.agent || null, channel: state.filters.channel || null });
    for (const s of page.sessions) placeSession(s);
  } catch (err) {
    toastError(err, "Refreshing the sessions failed");
  }
}

/* the phone drawer */
const sidebar = document.getElementById("sidebar");
const backdrop = document.getElementById("backdrop");
const drawerBtn = document.getElementById("drawer-open");
function openDrawer() {
  document.body.classList.add("drawer-open");
  backdrop.hidden = false;
  drawerBtn.setAttribute("aria-expanded", "true");
  (sidebar.querySelector(".row-open[aria-current]") || document.getElementById("new-chat")).focus();
}
function closeDrawer() {
  if (!document.body.classList.contains("drawer-open")) return false;
  document.body.classList.remove("drawer-open");
  backdrop.hidden = true;
  drawerBtn.setAttribute("aria-expanded", "false");
  return true;
}
drawerBtn.addEventListener("click", openDrawer);
document.getElementById("drawer-close").addEventListener("click", () => {
  closeDrawer();
  drawerBtn.focus();
});
backdrop.addEventListener("click", closeDrawer);

const ctx = {
  live,
  openSession,
  closeDrawer,
  routeTo,
  markActive,
  customRetry,
  fork: forkAt,
  sessionUpdated: (s) => {
    if (s.id === state.activeId) {
      renderHeader();
      sessionChanged();
    }
  },
  sessionDeleted: (id) => {
    forget(id);
    if (id === state.activeId) showNewChat();
  },
  sessionOpened: () => sessionChanged(),
};

hydrateIcons();
initTheme();
initSidebar(ctx);
initSearch(ctx);
initChat(ctx);
initCheckpoints();
initMenuKeys();
initRouter((route) => {
  if (!authorized) return;
  if (route.id) openSession(route.id, { seq: route.seq, fromRoute: true });
  else if (state.activeId) showNewChat();
});

document.getElementById("new-chat").addEventListener("click", () => {
  closeDrawer();
  showNewChat();
});

/* the API token: one prompt, no reconnect loop until a token is given */
const settings = document.getElementById("settings-dialog");
const tokenInput = document.getElementById("token-input");
const tokenNeeded = document.getElementById("token-needed");
const authBanner = document.getElementById("auth-banner");
function openSettings(reason = "") {
  tokenNeeded.textContent = reason;
  tokenNeeded.hidden = !reason;
  tokenInput.value = getToken();
  if (!settings.open) settings.showModal();
  tokenInput.focus();
}
function askToken(reason) {
  authorized = false;
  live.close();
  authBanner.hidden = false;
  conn.textContent = "no token";
  conn.dataset.status = "unauthorized";
  openSettings(reason);
}
onUnauthorized(() => askToken(getToken() ? "That token was not accepted: check it and try again." : "This server needs an API token."));
document.getElementById("settings-btn").addEventListener("click", () => openSettings());
document.getElementById("auth-banner-btn").addEventListener("click", () => openSettings("This server needs an API token."));
settings.addEventListener("close", () => {
  if (settings.returnValue !== "save") return;
  const token = tokenInput.value.trim();
  if (token !== getToken()) clearCache(); // another token is another user
  setToken(token);
  start({ reconnect: true });
});

/* keyboard */
initShortcuts({
  search: () => {
    if (window.matchMedia("(max-width: 760px)").matches) openDrawer();
    focusSearch();
  },
  newChat: () => {
    closeDrawer();
    showNewChat();
  },
  escape: () => {
    if (closeMenu()) return true;
    if (stop()) return true;
    if (closeDrawer()) {
      drawerBtn.focus();
      return true;
    }
    return closePanel();
  },
  neighbour: (step) => {
    const id = neighbour(step);
    if (id) openSession(id);
  },
  latest: () => jumpToLatest(),
});

window.addEventListener("online", () => authorized && live.reconnect());

async function start({ reconnect = false } = {}) {
  let agents;
  try {
    ({ agents } = await api.agents());
  } catch (err) {
    if (err.status === 401) return; // onUnauthorized asked for the token
    toastError(err, "Loading agents failed");
    agents = [];
  }
  authorized = true;
  authBanner.hidden = true;
  const route = current();
  if (route.id) setActive(route.id); // before connecting: the socket resumes this one
  if (reconnect) live.reconnect();
  else live.connect();
  setAgents(agents);
  setAgentFilterOptions(agents);
  await setView(state.view);
  if (route.id) openSession(route.id, { seq: route.seq, fromRoute: true });
  else if (state.activeId) {
    routeTo(state.activeId, { replace: true });
    openSession(state.activeId, { fromRoute: true });
  } else showNewChat();
}

start();
window.addEventListener("error", (ev) => toast(`Unexpected error: ${ev.message}`, "error"));
window.addEventListener("unhandledrejection", (ev) => toastError(ev.reason, "Unexpected error"));
