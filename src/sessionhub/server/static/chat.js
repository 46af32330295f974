// The conversation: history (REST), live streaming (WebSocket events), the composer with
// Stop, tool call strips, chat command answers, the new-chat panel and read-only archives.

import { api } from "./api.js";
import { extraActions, fillBranchSlot, historyChanged } from "./hooks.js";
import { icon } from "./icons.js";
import { renderMarkdown } from "./markdown.js";
import { displayTitle, refreshList, renameSession, restoreSession, startRename, updateSession } from "./sidebar.js";
import { entry, lastSeq, mergeMessages, nextLocalId, peek, setActive, state, tick } from "./state.js";
import { fullTime, h, shortTime, toast, toastError } from "./ui.js";

const PAGE = 50;
let ctx;
const els = {};
const rendered = new Map(); // message id -> {sig, el}
let openToken = 0;
let renderQueued = false;

export function initChat(context) {
  ctx = context;
  for (const id of [
    "messages", "messages-scroll", "load-older", "new-chat-panel", "agent-select", "model-input", "agent-desc",
    "composer", "composer-input", "send-btn", "stop-btn", "readonly-bar", "restore-btn", "chat-title", "chat-meta",
    "checkpoints-btn",
  ]) els[id] = document.getElementById(id);

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
  els["load-older"].addEventListener("click", loadOlder);
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

/* ---- opening sessions ---- */

export function showNewChat() {
  openToken++;
  setActive(null);
  state.wsSession = state.wsSession ?? null;
  renderHeader();
  renderMessages();
  refreshSidebarActive();
  els["composer-input"].focus();
}

/** Open a session: the cached view at once, then the fresh one; `seq` scrolls to a message. */
export async function openSession(id, { seq = null } = {}) {
  const token = ++openToken;
  const switching = id !== state.activeId;
  setActive(id);
  const e = entry(id);
  if (!e.session) e.session = state.list.find((s) => s.id === id) || null;
  if (switching) rendered.clear();
  renderHeader();
  renderMessages({ toBottom: seq == null });
  refreshSidebarActive();
  ctx.closeDrawer();
  if (e.session && e.session.status !== "archived") switchLive(id);
  try {
    const [session, page] = await Promise.all([api.getSession(id), api.messages(id, { limit: PAGE })]);
    if (token !== openToken) return;
    e.session = session;
    replaceLatest(e, page);
    if (seq != null) await loadUntil(e, seq, token);
    if (token !== openToken) return;
    if (session.status !== "archived") switchLive(id);
    renderHeader();
    renderMessages({ toBottom: seq == null });
    if (seq != null) jumpTo(seq);
    historyChanged(id);
    ctx.sessionOpened(id);
  } catch (err) {
    if (token !== openToken) return;
    if (err.status === 404) {
      toast("That session no longer exists.", "error");
      showNewChat();
      refreshList();
    } else toastError(err, "Opening the session failed");
  }
}

/** Refetch the open session after a change elsewhere (another tab, a checkpoint restore…). */
export async function reloadActive() {
  const id = state.activeId;
  if (!id) return;
  const token = openToken;
  try {
    const [session, page] = await Promise.all([api.getSession(id), api.messages(id, { limit: PAGE })]);
    if (token !== openToken || id !== state.activeId) return;
    const e = entry(id);
    e.session = session;
    replaceLatest(e, page);
    renderHeader();
    renderMessages();
    historyChanged(id);
  } catch (err) {
    if (err.status === 404 && id === state.activeId) {
      toast("The open session was deleted.", "info");
      showNewChat();
    }
  }
}

function replaceLatest(e, page) {
  const keep = e.messages.filter(
    (m) => m.local || (state.stream && m.id === state.stream.messageId && !page.messages.some((p) => p.id === m.id)),
  );
  e.messages = [];
  mergeMessages(e, page.messages);
  mergeMessages(e, keep);
  e.hasMore = page.has_more;
  e.loaded = true;
}

async function loadUntil(e, seq, token) {
  let guard = 0;
  while (e.hasMore && oldestSeq(e) > seq && guard++ < 50 && token === openToken) {
    const page = await api.messages(e.session.id, { limit: 200, before_seq: oldestSeq(e) });
    mergeMessages(e, page.messages);
    e.hasMore = page.has_more;
  }
}

function oldestSeq(e) {
  let seq = Infinity;
  for (const m of e.messages) if (m.seq != null && m.seq < seq) seq = m.seq;
  return seq;
}

async function loadOlder() {
  const e = peek(state.activeId);
  if (!e || !e.hasMore) return;
  const scroller = els["messages-scroll"];
  const before = scroller.scrollHeight - scroller.scrollTop;
  try {
    const page = await api.messages(e.session.id, { limit: PAGE, before_seq: oldestSeq(e) });
    mergeMessages(e, page.messages);
    e.hasMore = page.has_more;
    renderMessages({ keepScroll: true });
    scroller.scrollTop = scroller.scrollHeight - before;
  } catch (err) {
    toastError(err, "Loading earlier messages failed");
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
}

function switchLive(id) {
  if (state.wsSession === id) return;
  state.wsSession = id; // optimistic: the server answers with `session` (or `error`)
  ctx.live.send({ action: "switch_session", session_id: id });
}

function refreshSidebarActive() {
  for (const r of document.querySelectorAll(".row")) {
    const on = r.dataset.id === state.activeId;
    r.classList.toggle("active", on);
    r.querySelector(".row-open")?.toggleAttribute("aria-current", on);
    if (on) r.querySelector(".row-open").setAttribute("aria-current", "page");
  }
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

/* ---- rendering messages ---- */

function toolResults(e) {
  const results = new Map();
  for (const m of e.messages) {
    for (const p of m.parts || []) {
      if (p.type === "tool_result" && p.tool_call_id) results.set(p.tool_call_id, { content: p.content, from: m.id });
    }
    if (m.role === "tool" && m.metadata?.tool_call_id && !results.has(m.metadata.tool_call_id)) {
      results.set(m.metadata.tool_call_id, { content: m.content, from: m.id });
    }
  }
  return results;
}

function pretty(value) {
  if (typeof value === "string") {
    try {
      return JSON.stringify(JSON.parse(value), null, 2);
    } catch {
      return value;
    }
  }
  return JSON.stringify(value ?? {}, null, 2);
}

function toolStrip(call, result) {
  return h("details.tool", { dataset: { tool: call.name || "" } },
    h("summary", {}, icon("tool"), " ", h("span.tool-name", {}, call.name || "tool"),
      h("span.tool-state", {}, result ? "done" : "running…")),
    h("div.tool-label", {}, "Input"),
    h("pre.tool-input", {}, pretty(call.arguments)),
    result ? h("div.tool-label", {}, "Result") : null,
    result ? h("pre.tool-result", {}, typeof result.content === "string" ? result.content : pretty(result.content)) : null,
  );
}

const ROLE_LABEL = { user: "You", assistant: "Assistant", tool: "Tool", system: "System" };

function messageEl(m, e, results, consumed) {
  if (m.kind === "note") {
    return h("li.msg.note", { dataset: { id: m.id } },
      h("div.msg-head", {}, h("span.role", {}, m.echo ? "You · command" : m.command ? `Answer to ${m.command}` : "Notice")),
      h("div.msg-body.markdown", { className: "msg-body markdown" }),
    );
  }
  const calls = (m.parts || []).filter((p) => p.type === "tool_call");
  const ownResults = (m.parts || []).filter((p) => p.type === "tool_result");
  const badges = [];
  if (m.status === "interrupted") badges.push(h("span.badge.interrupted", { title: "The reply was stopped; the partial text is saved" }, "interrupted"));
  if (m.status === "error") badges.push(h("span.badge.error", {}, "error"));
  if (m.status === "streaming") badges.push(h("span.badge.streaming", {}, "streaming…"));
  if (m.local && m.failed) badges.push(h("span.badge.error", {}, "not sent"));
  else if (m.local) badges.push(h("span.badge", {}, "sending…"));
  const role = m.role === "assistant" && e.session ? `${ROLE_LABEL.assistant} · ${e.session.agent}` : ROLE_LABEL[m.role] || m.role;
  const fork = m.seq != null
    ? h("button.msg-action.fork", { type: "button", title: "Fork a new session from this message", "aria-label": `Fork from message ${m.seq}` }, icon("fork"), " Fork")
    : null;
  fork?.addEventListener("click", () => ctx.fork(m.seq));
  const slot = h("span.branch-slot");
  if (!m.local && m.seq != null) fillBranchSlot(m, e.session, slot);
  const body = h("div.msg-body.markdown");
  const li = h(`li.msg.${m.role}`, { dataset: { id: m.id, seq: m.seq ?? "", status: m.status || "" } },
    h("div.msg-head", {}, h("span.role", {}, role),
      m.created_at ? h("time", { datetime: m.created_at, title: fullTime(m.created_at) }, shortTime(m.created_at)) : null,
      ...badges, slot, fork, ...(m.local ? [] : extraActions(m, e.session))),
    body,
  );
  if (m.role === "tool" && !calls.length) {
    const callId = ownResults[0]?.tool_call_id || m.metadata?.tool_call_id;
    li.replaceChild(h("div.msg-body"), body);
    li.append(h("details.tool", {}, h("summary", {}, icon("tool"), " ", h("span.tool-name", {}, m.metadata?.name || "Tool result"), callId ? h("span.tool-state", {}, callId) : null),
      h("pre.tool-result", {}, m.content)));
  } else {
    body.innerHTML = renderMarkdown(m.content || "");
    for (const c of calls) {
      li.append(toolStrip(c, results.get(c.id)));
      const r = results.get(c.id);
      if (r && r.from !== m.id) consumed.add(r.from);
    }
  }
  return li;
}

function signature(m, results) {
  const calls = (m.parts || []).filter((p) => p.type === "tool_call").map((c) => `${c.id}:${results.has(c.id)}`).join(",");
  return `${m.seq}|${m.status}|${m.local ? (m.failed ? "f" : "l") : ""}|${(m.content || "").length}|${calls}|${(m.parts || []).length}|${m.branchKey || ""}`;
}

/** Render the open session's messages, reusing the nodes of unchanged messages. */
export function renderMessages({ toBottom = false, keepScroll = false } = {}) {
  const scroller = els["messages-scroll"];
  const nearBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
  const e = state.activeId ? peek(state.activeId) : null;
  if (!e) {
    els.messages.replaceChildren();
    rendered.clear();
    els["load-older"].hidden = true;
    return;
  }
  const results = toolResults(e);
  const consumed = new Set();
  const items = [...e.messages, ...e.notes].sort((a, b) => orderOf(a) - orderOf(b) || (a._n || 0) - (b._n || 0));
  const nodes = [];
  const live = new Set();
  for (const m of items) {
    const sig = m.kind === "note" ? `note|${m.content.length}` : signature(m, results);
    let r = rendered.get(m.id);
    if (!r || r.sig !== sig) {
      const el = messageEl(m, e, results, consumed);
      if (m.kind === "note") el.querySelector(".msg-body").innerHTML = renderMarkdown(m.content);
      r = { sig, el };
      rendered.set(m.id, r);
    } else {
      for (const c of (m.parts || []).filter((p) => p.type === "tool_call")) {
        const res = results.get(c.id);
        if (res && res.from !== m.id) consumed.add(res.from);
      }
    }
    live.add(m.id);
    nodes.push(r);
  }
  for (const id of rendered.keys()) if (!live.has(id)) rendered.delete(id);
  els.messages.replaceChildren(...nodes.filter((r) => !consumed.has(r.el.dataset.id)).map((r) => r.el));
  els["load-older"].hidden = !e.hasMore;
  if (!e.messages.length && !e.notes.length && e.loaded) {
    els.messages.append(h("li.empty-chat", {}, e.session?.status === "archived" ? "This archived session has no messages." : "No messages yet. Say hello!"));
  }
  if (toBottom || (nearBottom && !keepScroll)) scroller.scrollTop = scroller.scrollHeight;
}

function orderOf(m) {
  if (m.kind === "note") return m.afterSeq + 0.5;
  return m.seq != null ? m.seq : Number.MAX_SAFE_INTEGER;
}

function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    renderMessages();
  });
}

/* ---- sending, stopping ---- */

async function send() {
  const ta = els["composer-input"];
  const text = ta.value.trim();
  if (!text) return;
  if (streamingHere()) {
    toast("Wait for the reply to finish, or press Stop.", "info");
    return;
  }
  let id = state.activeId;
  if (!id) {
    try {
      const agent = els["agent-select"].value || undefined;
      const chosen = state.agents.find((a) => a.id === agent);
      const model = els["model-input"].value.trim();
      const s = await api.createSession({ agent, model: model && model !== chosen?.model ? model : undefined });
      id = s.id;
      const e = entry(id);
      e.session = s;
      e.loaded = true;
      setActive(id);
      rendered.clear();
      renderHeader();
      refreshList();
    } catch (err) {
      toastError(err, "Creating the session failed");
      return;
    }
  }
  const e = entry(id);
  if (e.session?.status === "archived") {
    toast("This session is archived: restore it to chat.", "error");
    return;
  }
  ta.value = "";
  autosize();
  state.wsSession === id || switchLive(id);
  if (text.startsWith("/")) {
    state.pendingCommand = { sessionId: id, at: Date.now(), command: text.split(/\s/, 1)[0] };
    e.notes.push({ kind: "note", id: nextLocalId("cmd"), content: `\`${text}\``, afterSeq: lastSeq(e), _n: tick(), command: "sent", echo: true });
  } else {
    const afterSeq = lastSeq(e); // its stored copy comes after this (state.js, mergeMessages)
    e.messages.push({ id: nextLocalId("local"), role: "user", content: text, local: true, afterSeq, _n: tick(), created_at: new Date().toISOString() });
    state.awaiting = id;
  }
  const sent = ctx.live.send({ action: "chat", content: text });
  if (!sent) toast("Not connected: the message will be sent when the connection is back.", "info");
  renderMessages({ toBottom: true });
  updateStreamingUi();
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
  if (sessionId === state.activeId || !sessionId) renderMessages({ toBottom: true });
}

export function handleEvent(evt) {
  switch (evt.type) {
    case "session": {
      const s = evt.session;
      if (!s) return;
      state.wsSession = s.id;
      const e = entry(s.id);
      e.session = { ...(e.session || {}), ...s };
      const pending = state.pendingCommand && Date.now() - state.pendingCommand.at < 30000;
      if (s.id !== state.activeId && pending) {
        // a command (/new, /reset, /checkpoint restore…) moved the chat to another session
        openSession(s.id);
        refreshList();
      } else if (s.id === state.activeId) {
        renderHeader();
      }
      updateSession(s);
      return;
    }
    case "history": {
      const e = entry(evt.session_id);
      replaceLatest(e, { messages: evt.messages || [], has_more: e.hasMore || (evt.messages || []).length >= PAGE && evt.messages[0]?.seq > 1 });
      if (evt.session_id === state.activeId) renderMessages();
      return;
    }
    case "delta": {
      const sid = sessionOf(evt);
      const e = entry(sid);
      const m = streamingMessage(e, sid, evt.message_id);
      m.content = (m.content || "") + (evt.text || "");
      m.status = "streaming";
      state.stream = { sessionId: sid, messageId: evt.message_id };
      if (state.awaiting === sid) state.awaiting = null;
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
      mergeMessages(e, [msg]);
      if (e.session && !e.messages.some((m) => m.local)) e.session.message_count = Math.max(e.session.message_count || 0, lastSeq(e));
      if (msg.status && msg.status !== "streaming" && state.stream?.messageId === msg.id) state.stream = null;
      if (msg.session_id === state.activeId) {
        updateStreamingUi();
        scheduleRender();
      }
      return;
    }
    case "stream_end": {
      const sid = sessionOf(evt);
      const e = entry(sid);
      const m = e.messages.find((x) => x.id === evt.message_id);
      if (m) m.status = evt.status || "complete";
      if (!state.stream || state.stream.messageId === evt.message_id) state.stream = null;
      if (state.awaiting === sid) state.awaiting = null;
      if (sid === state.activeId) {
        updateStreamingUi();
        scheduleRender();
        if (evt.status === "interrupted") toast("Stopped: the partial reply is saved.", "info");
        if (evt.status === "error") toast("The reply ended with an error; what came is saved.", "error");
      }
      return;
    }
    case "error": {
      const sid = state.awaiting || state.activeId;
      toast(`${evt.message || "Error"}${evt.code ? ` (${evt.code})` : ""}`, "error");
      if (state.awaiting) {
        const e = peek(state.awaiting);
        for (const m of e?.messages || []) if (m.local) m.failed = true;
        state.awaiting = null;
      }
      state.pendingCommand = null;
      if (evt.code === "session_read_only" || evt.code === "not_found") reloadActive();
      if (sid === state.activeId) {
        updateStreamingUi();
        renderMessages();
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

export function renameActive(title) {
  const s = peek(state.activeId)?.session;
  if (s) renameSession(s, title);
}
