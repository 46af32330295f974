// The sessionhub dashboard: wires the modules together. It uses only the public REST API
// (api.js) and the WebSocket (ws.js) of CONTRACT §6-§7, like any other client.

import { api, getToken, setToken } from "./api.js";
import "./branches.js";
import { handleEvent, initChat, openSession, reloadActive, renderHeader, setAgents, showNewChat, stop } from "./chat.js";
import { closePanel, forkAt, initCheckpoints, sessionChanged } from "./checkpoints.js";
import { focusSearch, initSidebar, refreshList, setView } from "./sidebar.js";
import { hydrateIcons } from "./icons.js";
import { forget, state } from "./state.js";
import { closeMenu, initMenuKeys, toast, toastError } from "./ui.js";
import { Live } from "./ws.js";

const conn = document.getElementById("conn");
let warnedOffline = false;

const live = new Live({
  resumeId: () => state.activeId,
  onStatus: (status) => {
    conn.textContent = status;
    conn.dataset.status = status;
    if (status === "live") {
      if (warnedOffline) toast("Live connection restored");
      warnedOffline = false;
      state.wsSession = null;
      if (state.activeId) reloadActive();
    } else if (status === "offline" && !warnedOffline) {
      warnedOffline = true;
      toast(live.everOpened ? "Live connection lost: reconnecting…" : "No live connection to the server (/ws): retrying…", "error");
    }
  },
  onEvent: (evt) => {
    if (evt.type === "sessions_changed") return sessionsChanged(evt.session_id);
    if (evt.type === "session" && evt.session?.id) state.wsSession = evt.session.id;
    handleEvent(evt);
  },
});

/* sessions_changed from this or another tab / device: refresh the list and the open session */
let changeTimer = null;
const changed = new Set();
function sessionsChanged(id) {
  changed.add(id);
  clearTimeout(changeTimer);
  changeTimer = setTimeout(() => {
    const ids = [...changed];
    changed.clear();
    refreshList();
    for (const sid of ids) {
      if (sid === state.activeId) {
        if (!(state.stream && state.stream.sessionId === sid)) reloadActive();
      } else if (sid) forget(sid);
    }
  }, 150);
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
initSidebar(ctx);
initChat(ctx);
initCheckpoints();
initMenuKeys();

document.getElementById("new-chat").addEventListener("click", () => {
  closeDrawer();
  showNewChat();
});

/* settings: the API token */
const settings = document.getElementById("settings-dialog");
const tokenInput = document.getElementById("token-input");
function openSettings() {
  tokenInput.value = getToken();
  settings.showModal();
  tokenInput.focus();
}
document.getElementById("settings-btn").addEventListener("click", openSettings);
settings.addEventListener("close", () => {
  if (settings.returnValue !== "save") return;
  setToken(tokenInput.value.trim());
  live.reconnect();
  start();
});

/* keyboard */
document.addEventListener("keydown", (ev) => {
  const mod = ev.ctrlKey || ev.metaKey;
  if (mod && !ev.shiftKey && ev.key.toLowerCase() === "k") {
    ev.preventDefault();
    if (window.matchMedia("(max-width: 760px)").matches) openDrawer();
    focusSearch();
  } else if (mod && ev.shiftKey && ev.key.toLowerCase() === "o") {
    ev.preventDefault();
    closeDrawer();
    showNewChat();
  } else if (ev.key === "Escape" && !ev.defaultPrevented) {
    if (document.querySelector("dialog[open]")) return; // the dialog closes itself
    if (closeMenu()) return;
    if (stop()) return;
    if (closeDrawer()) return drawerBtn.focus();
    closePanel();
  }
});

window.addEventListener("online", () => live.reconnect());

async function start() {
  try {
    const { agents } = await api.agents();
    setAgents(agents);
  } catch (err) {
    if (err.status === 401) {
      toast("This server needs an API token: paste it in Settings.", "error");
      openSettings();
      return;
    }
    toastError(err, "Loading agents failed");
  }
  await setView(state.view);
  if (state.activeId) openSession(state.activeId);
  else showNewChat();
}

live.connect();
start();
window.addEventListener("error", (ev) => toast(`Unexpected error: ${ev.message}`, "error"));
window.addEventListener("unhandledrejection", (ev) => toastError(ev.reason, "Unexpected error"));
