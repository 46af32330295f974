// Drawing the open session's messages: one <li> per message, kept and updated in place (a
// streaming reply re-renders only its body), tool call strips, the per-message actions bar
// (Copy, Fork, and what hooks.js adds: regenerate, edit), the branch slot, the error reason
// with Retry, and one announcement per finished message for screen readers.

import { extraActions, fillBranchSlot } from "./hooks.js";
import { icon } from "./icons.js";
import { copyText, renderInto } from "./markdown.js";
import { peek, state } from "./state.js";
import { fullTime, h, shortTime } from "./ui.js";

// message id -> {sig, body, el}, one map per session for the few most recent ones: switching
// back to a session reuses its nodes instead of rendering its markdown again
const bySession = new Map();
const KEEP_SESSIONS = 6;
let rendered = new Map();
let els;

function mapFor(id) {
  let m = bySession.get(id);
  if (m) bySession.delete(id);
  else m = new Map();
  bySession.set(id, m);
  while (bySession.size > KEEP_SESSIONS) bySession.delete(bySession.keys().next().value);
  return m;
}
let handlers;

export function initMessages(elements, callbacks) {
  els = elements;
  handlers = callbacks; // {fork(seq), retry(message)}
  els.messages.addEventListener("click", async (ev) => {
    const btn = ev.target.closest?.("[data-copy]");
    if (!btn) return;
    let text = "";
    if (btn.dataset.copy === "code") text = btn.closest(".code-block")?.querySelector("code")?.textContent || "";
    else {
      const li = btn.closest(".msg");
      const e = peek(state.activeId);
      text = e?.messages.find((m) => m.id === li?.dataset.id)?.content ?? "";
    }
    const ok = await copyText(text);
    const label = btn.textContent;
    btn.textContent = ok ? "Copied" : "Copy failed";
    btn.classList.toggle("copied", ok);
    setTimeout(() => {
      btn.textContent = label;
      btn.classList.remove("copied");
    }, 1500);
  });
}

/** Drop the drawn nodes of the open session (its window was replaced). */
export function forgetRendered() {
  rendered.clear();
}

/* ---- announcements: once per finished message, never per re-render ---- */

const announced = new Set();
export function announce(m) {
  if (!m || announced.has(m.id)) return;
  announced.add(m.id);
  if (announced.size > 500) announced.delete(announced.values().next().value);
  const who = m.role === "assistant" ? "Assistant" : m.role === "user" ? "You" : m.role;
  const text = (m.content || "").replace(/\s+/g, " ").slice(0, 300);
  const status = m.status && m.status !== "complete" ? ` (${m.status})` : "";
  els.announcer.textContent = `${who}${status}: ${text}`;
}
export function markAnnounced(id) {
  announced.add(id);
}

/* ---- one message ---- */

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

function noteEl(m) {
  const body = h("div.msg-body.markdown");
  renderInto(body, m.content);
  return h("li.msg.note", { dataset: { id: m.id } },
    h("div.msg-head", {}, h("span.role", {}, m.echo ? "You · command" : m.command ? `Answer to ${m.command}` : "Notice")),
    body);
}

function errorBox(m, e) {
  const reason = e.errors?.[m.id] || m.metadata?.error?.message || "the reply ended with an error (the reason was not kept)";
  const retry = h("button.btn.retry", { type: "button" }, "Retry");
  retry.addEventListener("click", () => handlers.retry(m));
  return h("div.msg-error", { role: "note" }, h("span.msg-error-text", {}, `Error: ${reason}`), retry);
}

function messageEl(m, e, results, consumed) {
  const calls = (m.parts || []).filter((p) => p.type === "tool_call");
  const ownResults = (m.parts || []).filter((p) => p.type === "tool_result");
  const badges = [];
  if (m.status === "interrupted") badges.push(h("span.badge.interrupted", { title: "The reply was stopped; the partial text is saved" }, "interrupted"));
  if (m.status === "error") badges.push(h("span.badge.error", {}, "error"));
  if (m.status === "streaming") badges.push(h("span.badge.streaming", {}, "streaming…"));
  if (m.local && m.failed) badges.push(h("span.badge.error", {}, "not sent"));
  else if (m.local) badges.push(h("span.badge", {}, "sending…"));
  const role = m.role === "assistant" && e.session ? `${ROLE_LABEL.assistant} · ${e.session.agent}` : ROLE_LABEL[m.role] || m.role;
  const actions = h("div.msg-actions", { role: "group", "aria-label": "Message actions" });
  if (!m.local && m.status !== "streaming") {
    actions.append(h("button.msg-action.copy-msg", { type: "button", dataset: { copy: "message" }, "aria-label": `Copy message ${m.seq ?? ""}`.trim() }, "Copy"));
  }
  if (m.seq != null && m.status !== "streaming") {
    const fork = h("button.msg-action.fork", { type: "button", title: "Fork a new session from this message", "aria-label": `Fork from message ${m.seq}` }, icon("fork"), " Fork");
    fork.addEventListener("click", () => handlers.fork(m.seq));
    actions.append(fork);
  }
  if (!m.local) actions.append(...extraActions(m, e.session));
  const slot = h("span.branch-slot");
  if (!m.local && m.seq != null) fillBranchSlot(m, e.session, slot);
  const body = h("div.msg-body.markdown");
  const li = h(`li.msg.${m.role}`, { dataset: { id: m.id, seq: m.seq ?? "", status: m.status || "" } },
    h("div.msg-head", {}, h("span.role", {}, role),
      m.created_at ? h("time", { datetime: m.created_at, title: fullTime(m.created_at) }, shortTime(m.created_at)) : null,
      ...badges, h("span.msg-head-gap"), slot, actions),
    body,
  );
  if (m.role === "tool" && !calls.length) {
    const callId = ownResults[0]?.tool_call_id || m.metadata?.tool_call_id;
    li.append(h("details.tool", {}, h("summary", {}, icon("tool"), " ", h("span.tool-name", {}, m.metadata?.tool_name || m.metadata?.name || "Tool result"), callId ? h("span.tool-state", {}, callId) : null),
      h("pre.tool-result", {}, m.content)));
  } else {
    renderInto(body, m.content || "");
    for (const c of calls) {
      li.append(toolStrip(c, results.get(c.id)));
      const r = results.get(c.id);
      if (r && r.from !== m.id) consumed.add(r.from);
    }
  }
  if (m.status === "error") li.append(errorBox(m, e));
  return { el: li, body };
}

/** What decides a message's frame (everything but its text, which updates in place). */
function frameSig(m, results, e) {
  const calls = (m.parts || []).filter((p) => p.type === "tool_call").map((c) => `${c.id}:${results.has(c.id)}`).join(",");
  return `${m.seq}|${m.status}|${m.local ? (m.failed ? "f" : "l") : ""}|${calls}|${(m.parts || []).length}|${e.errors?.[m.id] || ""}|${m.branchKey || ""}`;
}

function orderOf(m) {
  if (m.kind === "note") return m.afterSeq + 0.5;
  return m.seq != null ? m.seq : Number.MAX_SAFE_INTEGER;
}

/** Put `nodes` into `parent` in order, moving only what is out of place. */
function reconcile(parent, nodes) {
  let cursor = parent.firstChild;
  for (const node of nodes) {
    if (cursor === node) {
      cursor = cursor.nextSibling;
      continue;
    }
    parent.insertBefore(node, cursor);
  }
  while (cursor) {
    const next = cursor.nextSibling;
    cursor.remove();
    cursor = next;
  }
}

/** Render the open session's window of messages, reusing the nodes of unchanged ones. */
export function renderMessages() {
  const e = state.activeId ? peek(state.activeId) : null;
  if (!e) {
    els.messages.replaceChildren();
    return 0;
  }
  rendered = mapFor(state.activeId);
  const results = toolResults(e);
  const consumed = new Set();
  const items = [...e.messages, ...e.notes].sort((a, b) => orderOf(a) - orderOf(b) || (a._n || 0) - (b._n || 0));
  const nodes = [];
  const live = new Set();
  for (const m of items) {
    let r = rendered.get(m.id);
    if (m.kind === "note") {
      if (!r) {
        r = { sig: "note", el: noteEl(m) };
        rendered.set(m.id, r);
      }
    } else {
      const sig = frameSig(m, results, e);
      if (!r || r.sig !== sig) {
        const made = messageEl(m, e, results, consumed);
        r = { sig, el: made.el, body: made.body, text: m.content || "" };
        rendered.set(m.id, r);
      } else {
        if (r.text !== (m.content || "") && r.body) {
          renderInto(r.body, m.content || "");
          r.text = m.content || "";
        }
        for (const c of (m.parts || []).filter((p) => p.type === "tool_call")) {
          const res = results.get(c.id);
          if (res && res.from !== m.id) consumed.add(res.from);
        }
      }
    }
    live.add(m.id);
    nodes.push(r);
  }
  for (const id of rendered.keys()) if (!live.has(id)) rendered.delete(id);
  const shown = nodes.filter((r) => !consumed.has(r.el.dataset.id)).map((r) => r.el);
  if (!e.messages.length && !e.notes.length && e.loaded) {
    shown.push(h("li.empty-chat", {}, e.session?.status === "archived" ? "This archived session has no messages." : "No messages yet. Say hello!"));
  }
  reconcile(els.messages, shown);
  return shown.length;
}

