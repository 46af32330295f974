// The conversation: opening sessions (at the latest message or around a search hit), paging
// on scroll, the composer with Stop, the new-chat panel, read-only archives, and the live
// events of CONTRACT §7. Drawing is messages.js; which messages are loaded is timeline.js.

import { api } from "./api.js";
import { historyChanged } from "./hooks.js";
import { announce, initMessages, markAnnounced, renderMessages } from "./messages.js";
import { displayTitle, refreshList, refreshSession, restoreSession, startRename, updateSession } from "./sidebar.js";
import { entry, lastSeq, mergeMessages, nextLocalId, peek, persist, setActive, state, tick } from "./state.js";
import { loadAround, loadLatest, loadNewer, loadOlder, mergeHistory, PAGE, refreshTail } from "./timeline.js";
import { h, toast, toastError } from "./ui.js";

let ctx;
const els = {};
let openToken = 0;
let renderQueued = false;
let paging = false;
let opening = 0; // > 0 while a session (or a window around a hit) is being fetched

export function initChat(context) {
  ctx = context;
  for (const id of [
    "messages", "messages-scroll", "load-older", "new-chat-panel", "agent-select", "model-input", "agent-desc",
    "composer", "composer-input", "send-btn", "stop-btn", "readonly-bar", "restore-btn", "chat-title", "chat-meta",
    "checkpoints-btn", "to-bottom", "announcer", "load-newer",
  ]) els[id] = document.getElementById(id);
  initMessages(els, { fork: (seq) => ctx.fork(seq), retry });

  els.composer.addEventListener("submit", (ev) => {
    ev.preventDefault();
    send();
  });
  els["composer-input"].addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      send();
    }
  });
  els["composer-input"].addEventListener("input", autosize);
  els["stop-btn"].addEventListener("click", stop);
  els["load-older"].addEventListener("click", () => pageOlder());
  els["load-newer"].addEventListener("click", () => pageNewer());
  els["to-bottom"].addEventListener("click", () => jumpToLatest());
  els["messages-scroll"].addEventListener("scroll", onScroll, { passive: true });
  els["restore-btn"].addEventListener("click", () => {
    const s = peek(state.activeId)?.session;
    if (s) restoreSession(s);
  });
  els["agent-select"].addEventListener("change", () => {
    const agent = state.agents.find((a) => a.id === els["agent-select"].value);
    els["model-input"].value = agent?.model || "";
    els["agent-desc"].textContent = agent?.description || "";
  });
  els["chat-title"].addEventListener("dblclick", () => {
    const s = peek(state.activeId)?.session;
    if (s) startRename(s, els["chat-title"]);
  });
}

function autosize() {
  const ta = els["composer-input"];
  ta.style.height = "auto";
  ta.style.height = `${Math.min(ta.scrollHeight, 240)}px`;
}

export function setAgents(agents) {
  state.agents = agents;
  els["agent-select"].replaceChildren(
    ...agents.map((a) => h("option", { value: a.id }, a.description ? `${a.id} — ${a.description}` : a.id)),
  );
  els["agent-select"].dispatchEvent(new Event("change"));
}

/* ---- scrolling: page outwards, the scroll-to-bottom button ---- */

const EDGE = 400; // px from an end at which the next page loads

function distanceFromBottom() {
  const s = els["messages-scroll"];
  return s.scrollHeight - s.scrollTop - s.clientHeight;
}

function onScroll() {
  updateToBottom();
  const e = peek(state.activeId);
  if (!e || paging || opening) return;
  if (e.hasMore && els["messages-scroll"].scrollTop < EDGE) pageOlder();
  else if (e.hasNewer && distanceFromBottom() < EDGE) pageNewer();
}

function updateToBottom() {
  const e = peek(state.activeId);
  els["to-bottom"].hidden = !e || (!e.hasNewer && distanceFromBottom() < 200);
}

function scrollToBottom() {
  const s = els["messages-scroll"];
  s.scrollTop = s.scrollHeight;
}

/** Keep what is on screen where it is while messages are added above or removed. */
function anchored(fn) {
  const scroller = els["messages-scroll"];
  const top = scroller.getBoundingClientRect().top;
  const anchor = [...els.messages.children].find((li) => li.getBoundingClientRect().bottom > top + 1);
  const before = anchor ? anchor.getBoundingClientRect().top : 0;
  fn();
  if (anchor && anchor.isConnected) scroller.scrollTop += anchor.getBoundingClientRect().top - before;
}

async function pageOlder() {
  const id = state.activeId;
  const e = peek(id);
  if (!e || !e.hasMore || paging) return;
  paging = true;
  try {
    await loadOlder(e, id);
    if (id === state.activeId) anchored(() => draw());
  } catch (err) {
    toastError(err, "Loading earlier messages failed");
  } finally {
    paging = false;
  }
}

async function pageNewer() {
  const id = state.activeId;
  const e = peek(id);
  if (!e || !e.hasNewer || paging) return;
  paging = true;
  try {
    await loadNewer(e, id);
    if (id === state.activeId) anchored(() => draw());
  } catch (err) {
    toastError(err, "Loading later messages failed");
  } finally {
    paging = false;
  }
}

export async function jumpToLatest() {
  const id = state.activeId;
  const e = peek(id);
  if (!e) return;
  if (e.hasNewer) {
    try {
      await loadLatest(e, id);
    } catch (err) {
      toastError(err, "Loading the latest messages failed");
      return;
    }
    if (id !== state.activeId) return;
    draw();
  }
  scrollToBottom();
  updateToBottom();
}

/** Draw the window and the controls around it. */
function draw({ toBottom = false } = {}) {
  const nearBottom = distanceFromBottom() < 80;
  renderMessages();
  const e = state.activeId ? peek(state.activeId) : null;
  els["load-older"].hidden = !e?.hasMore;
  els["load-newer"].hidden = !e?.hasNewer;
  if (toBottom || (nearBottom && !e?.hasNewer)) scrollToBottom();
  updateToBottom();
}

function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    draw();
  });
}

/* ---- opening sessions ---- */

export function showNewChat() {
  openToken++;
  setActive(null);
  ctx.routeTo(null);
  renderHeader();
  draw();
  refreshSidebarActive();
  els["composer-input"].focus();
}

/**
 * Open a session: the cached view at once (memory or localStorage), then the server's. With
 * `seq`, a window around that message is loaded and it is scrolled into view and marked.
 */
export async function openSession(id, { seq = null, fromRoute = false } = {}) {
  const token = ++openToken;
  setActive(id);
  if (!fromRoute) ctx.routeTo(id);
  const e = entry(id);
  if (!e.session) e.session = state.list.find((s) => s.id === id) || null;
  for (const m of e.messages) markAnnounced(m.id);
  renderHeader();
  if (seq == null && (e.loaded || e.fromStorage) && !e.hasNewer) draw({ toBottom: true });
  else els.messages.replaceChildren();
  refreshSidebarActive();
  ctx.closeDrawer();
  if (e.session && e.session.status !== "archived") switchLive(id);
  opening++;
  try {
    const sessionP = api.getSession(id);
    if (seq != null) await loadAround(e, id, seq);
    else if (e.loaded && !e.hasNewer) await refreshTail(e, id);
    else await loadLatest(e, id);
    const session = await sessionP;
    if (token !== openToken) return;
    e.session = session;
    for (const m of e.messages) markAnnounced(m.id);
    if (session.status !== "archived") switchLive(id);
    renderHeader();
    draw({ toBottom: seq == null });
    if (seq != null) jumpTo(seq);
    persist(id);
    historyChanged(id);
    ctx.sessionOpened(id);
  } catch (err) {
    if (token !== openToken) return;
    if (err.status === 404) {
      toast("That session no longer exists.", "error");
      showNewChat();
      refreshList();
    } else toastError(err, "Opening the session failed");
  } finally {
    opening--;
  }
}

/** The open session changed elsewhere (another tab, a restore…): fetch only what is new. */
export async function reloadActive({ full = false } = {}) {
  const id = state.activeId;
  if (!id) return;
  const token = openToken;
  try {
    const e = entry(id);
    const sessionP = api.getSession(id);
    if (full) await loadLatest(e, id);
    else await refreshTail(e, id);
    const session = await sessionP;
    if (token !== openToken || id !== state.activeId) return;
    e.session = session;
    // New replies are announced; the user's own messages never are (as for the WebSocket's
    // "message" event), even when this refresh reads one before its event arrives.
    for (const m of e.messages) {
      if (m.role === "user") markAnnounced(m.id);
      else if (m.status && m.status !== "streaming") announce(m);
    }
    renderHeader();
    draw();
    persist(id);
    historyChanged(id);
  } catch (err) {
    if (err.status === 404 && id === state.activeId) {
      toast("The open session was deleted.", "info");
      showNewChat();
    }
  }
}

function jumpTo(seq) {
  const el = els.messages.querySelector(`.msg[data-seq="${seq}"]`);
  if (!el) {
    toast(`Message #${seq} is not in this session any more.`, "info");
    return;
  }
  el.scrollIntoView({ block: "center" });
  for (const old of els.messages.querySelectorAll(".msg.hit")) old.classList.remove("hit");
  el.classList.add("hit");
  el.setAttribute("tabindex", "-1");
  el.focus({ preventScroll: true });
  updateToBottom();
}

function switchLive(id) {
  if (state.wsSession === id) return;
  state.wsSession = id; // optimistic: the server answers with `session` (or `error`)
  state.switchRequests.push(id);
  if (state.switchRequests.length > 20) state.switchRequests.shift();
  ctx.live.send({ action: "switch_session", session_id: id });
}

export function refreshSidebarActive() {
  ctx.markActive(state.activeId);
}

/* ---- header, composer state ---- */

export function renderHeader() {
  const e = state.activeId ? peek(state.activeId) : null;
  const s = e?.session;
  const archived = s?.status === "archived";
  const fresh = !state.activeId;
  els["chat-title"].textContent = fresh ? "New chat" : s ? displayTitle(s) : "…";
  els["chat-title"].title = fresh ? "" : "Double-click to rename";
  els["chat-meta"].textContent = s
    ? [s.agent, s.model, `${s.message_count} message${s.message_count === 1 ? "" : "s"}`, archived ? "archived (read-only)" : "", s.pinned ? "pinned" : ""]
        .filter(Boolean).join(" · ")
    : "";
  els["new-chat-panel"].hidden = !fresh;
  els["readonly-bar"].hidden = !archived;
  els.composer.hidden = archived;
  els["checkpoints-btn"].hidden = fresh;
  document.title = fresh ? "sessionhub" : `${s ? displayTitle(s) : "…"} · sessionhub`;
  updateStreamingUi();
}

function streamingHere() {
  return !!state.activeId && (state.stream?.sessionId === state.activeId || state.awaiting === state.activeId);
}

function updateStreamingUi() {
  const on = streamingHere();
  els["stop-btn"].hidden = !on;
  els["send-btn"].hidden = on;
  els.composer.classList.toggle("streaming", on);
}

/* ---- sending, stopping, retrying ---- */

async function ensureSession() {
  if (state.activeId) return state.activeId;
  const agent = els["agent-select"].value || undefined;
  const chosen = state.agents.find((a) => a.id === agent);
  const model = els["model-input"].value.trim();
  const s = await api.createSession({ agent, model: model && model !== chosen?.model ? model : undefined });
  const e = entry(s.id);
  e.session = s;
  e.loaded = true;
  setActive(s.id);
  ctx.routeTo(s.id);
  renderHeader();
  updateSession(s);
  refreshSidebarActive();
  return s.id;
}

async function send(textArg = null) {
  const ta = els["composer-input"];
  const text = (textArg ?? ta.value).trim();
  if (!text) return;
  if (streamingHere()) {
    toast("Wait for the reply to finish, or press Stop.", "info");
    return;
  }
  let id;
  try {
    id = await ensureSession();
  } catch (err) {
    toastError(err, "Creating the session failed");
    return;
  }
  const e = entry(id);
  if (e.session?.status === "archived") {
    toast("This session is archived: restore it to chat.", "error");
    return;
  }
  if (textArg == null) {
    ta.value = "";
    autosize();
  }
  if (e.hasNewer) await jumpToLatest();
  state.wsSession === id || switchLive(id);
  if (text.startsWith("/")) {
    state.pendingCommand = { sessionId: id, at: Date.now(), command: text.split(/\s/, 1)[0] };
    e.notes.push({ kind: "note", id: nextLocalId("cmd"), content: `\`${text}\``, afterSeq: lastSeq(e), _n: tick(), command: "sent", echo: true });
  } else {
    const afterSeq = lastSeq(e); // its stored copy comes after this (state.js, mergeMessages)
    e.messages.push({ id: nextLocalId("local"), role: "user", content: text, local: true, afterSeq, _n: tick(), created_at: new Date().toISOString() });
    state.awaiting = id;
    state.lastSent = { sessionId: id, content: text };
  }
  const sent = ctx.live.send({ action: "chat", content: text });
  if (!sent) toast("Not connected: the message will be sent when the connection is back.", "info");
  draw({ toBottom: true });
  updateStreamingUi();
}

/** Retry a failed reply: the user message before it is sent again (or hooks.js's retry). */
async function retry(m) {
  const e = peek(state.activeId);
  if (!e) return;
  const custom = ctx.customRetry?.();
  if (custom && (await custom(m, e.session))) return;
  const prior = [...e.messages].reverse().find((x) => x.role === "user" && x.seq != null && x.seq < (m.seq ?? Infinity));
  const text = prior?.content || (state.lastSent?.sessionId === state.activeId ? state.lastSent.content : "");
  if (!text) {
    toast("Nothing to retry: type the message again.", "info");
    return;
  }
  send(text);
}

export function stop() {
  if (!streamingHere()) return false;
  ctx.live.send({ action: "stop" });
  els["stop-btn"].disabled = true;
  setTimeout(() => {
    els["stop-btn"].disabled = false;
  }, 1500);
  return true;
}

/* ---- live events (CONTRACT §7) ---- */

function sessionOf(evt) {
  return evt.session_id || evt.message?.session_id || state.stream?.sessionId || state.wsSession || state.activeId;
}

function streamingMessage(e, sessionId, messageId) {
  let m = e.messages.find((x) => x.id === messageId);
  if (!m) {
    m = { id: messageId, session_id: sessionId, role: "assistant", content: "", parts: [], status: "streaming", _n: tick(), created_at: new Date().toISOString() };
    e.messages.push(m);
  }
  return m;
}

function addNote(sessionId, text) {
  const e = entry(sessionId || state.activeId || "none");
  const cmd = state.pendingCommand?.command;
  e.notes.push({ kind: "note", id: nextLocalId("note"), content: String(text), afterSeq: lastSeq(e), _n: tick(), command: cmd || null });
  state.pendingCommand = null;
  if (sessionId === state.activeId || !sessionId) draw({ toBottom: true });
  // a command may have changed the session (/rename, /session …): refresh its header and row
  if (sessionId || state.activeId) refreshSession(sessionId || state.activeId);
}

let lastError = null;

function onSessionEvent(s) {
  state.wsSession = s.id;
  const asked = state.switchRequests.indexOf(s.id);
  if (asked >= 0) state.switchRequests.splice(0, asked + 1);
  const e = entry(s.id);
  e.session = { ...(e.session || {}), ...s };
  if (asked < 0 && s.id !== state.activeId) {
    // the server moved the chat (/new, /reset, /checkpoint restore): follow it
    state.pendingCommand = null;
    openSession(s.id);
    refreshList();
  } else if (s.id === state.activeId) renderHeader();
  updateSession(s);
}

export function handleEvent(evt) {
  switch (evt.type) {
    case "session":
      if (evt.session) onSessionEvent(evt.session);
      return;
    case "history": {
      const e = entry(evt.session_id);
      mergeHistory(e, evt.messages || []);
      if (evt.session_id === state.activeId) {
        for (const m of evt.messages || []) markAnnounced(m.id);
        draw();
        persist(evt.session_id);
        historyChanged(evt.session_id);
      }
      return;
    }
    case "delta": {
      const sid = sessionOf(evt);
      const e = entry(sid);
      state.stream = { sessionId: sid, messageId: evt.message_id };
      if (state.awaiting === sid) state.awaiting = null;
      if (e.hasNewer) return updateStreamingUi(); // reading older history: the tail comes on the way down
      const m = streamingMessage(e, sid, evt.message_id);
      m.content = (m.content || "") + (evt.text || "");
      m.status = "streaming";
      if (sid === state.activeId) {
        updateStreamingUi();
        scheduleRender();
      }
      return;
    }
    case "tool_call":
    case "tool_result": {
      const sid = sessionOf(evt);
      const e = entry(sid);
      if (e.hasNewer) return;
      const messageId = evt.message_id || state.stream?.messageId || nextLocalId("tool");
      const m = streamingMessage(e, sid, messageId);
      m.parts = [...(m.parts || [])];
      if (evt.type === "tool_call") {
        const call = evt.tool_call || evt.part || evt;
        m.parts.push({ type: "tool_call", id: call.id || call.tool_call_id, name: call.name, arguments: call.arguments ?? call.input ?? {} });
      } else {
        const res = evt.tool_result || evt.part || evt;
        m.parts.push({ type: "tool_result", tool_call_id: res.tool_call_id || res.id, content: res.content ?? res.result ?? res.output ?? "" });
      }
      if (sid === state.activeId) scheduleRender();
      return;
    }
    case "message": {
      const msg = evt.message;
      if (!msg) return;
      if (msg.seq == null || msg.metadata?.command || msg.metadata?.ephemeral) {
        addNote(msg.session_id || state.activeId, msg.content ?? "");
        return;
      }
      const e = entry(msg.session_id);
      if (e.hasNewer) return; // reading an older window: the tail is fetched on the way down
      mergeMessages(e, [msg]);
      if (e.session && !e.messages.some((m) => m.local)) e.session.message_count = Math.max(e.session.message_count || 0, lastSeq(e));
      if (msg.status && msg.status !== "streaming" && state.stream?.messageId === msg.id) state.stream = null;
      if (msg.role === "user") markAnnounced(msg.id);
      else if (msg.status !== "streaming" && msg.session_id === state.activeId) announce(msg);
      if (msg.session_id === state.activeId) {
        updateStreamingUi();
        scheduleRender();
      }
      persist(msg.session_id);
      return;
    }
    case "stream_end": {
      const sid = sessionOf(evt);
      const e = entry(sid);
      const m = e.messages.find((x) => x.id === evt.message_id);
      if (m) m.status = evt.status || "complete";
      if (evt.status === "error") {
        const reason = lastError && Date.now() - lastError.at < 60000 ? lastError.text : "the provider failed";
        if (m) e.errors[m.id] = reason; // shown on the failed reply, with Retry
        else if (sid === state.activeId) toast(`The reply failed: ${reason}`, "error"); // no reply to show it on
        lastError = null;
      }
      if (!state.stream || state.stream.messageId === evt.message_id) state.stream = null;
      if (state.awaiting === sid) state.awaiting = null;
      if (sid === state.activeId) {
        if (m) announce(m);
        updateStreamingUi();
        scheduleRender();
        if (evt.status === "interrupted") toast("Stopped: the partial reply is saved.", "info");
      }
      persist(sid);
      return;
    }
    case "error": {
      const sid = state.awaiting || state.activeId;
      const text = `${evt.message || "Error"}${evt.code ? ` (${evt.code})` : ""}`;
      if (state.stream || evt.session_id) lastError = { text, at: Date.now() }; // shown on the failed reply
      else toast(text, "error");
      if (state.awaiting && !state.stream) {
        const e = peek(state.awaiting);
        for (const m of e?.messages || []) if (m.local) m.failed = true;
        state.awaiting = null;
      }
      state.pendingCommand = null;
      if (evt.code === "session_read_only" || evt.code === "not_found") reloadActive();
      if (sid === state.activeId) {
        updateStreamingUi();
        draw();
      }
      return;
    }
    default: {
      // a command's answer (or any other notice) the contract leaves open: show its text
      const text = evt.text ?? evt.content ?? evt.answer ?? evt.reply ?? evt.message;
      if (typeof text === "string" && text) addNote(evt.session_id || state.activeId, text);
    }
  }
}

export { PAGE };
