// Regenerate, edit and branches (CONTRACT §11.9), added to the conversation through hooks.js:
// a Regenerate button on assistant replies, Edit on user messages (edit in place, then the
// agent answers again), and "‹ 1/2 ›" beside a message where the conversation has
// alternatives. Everything goes through the public REST API; the reply streams to the view over
// the WebSocket like any other, and the history and the branches are fetched again afterwards.

import { ApiError, getToken } from "./api.js";
import { reloadActive } from "./chat.js";
import { addBranchSwitcher, addMessageActions, onHistoryChanged } from "./hooks.js";
import { peek, state } from "./state.js";
import { h, toast, toastError } from "./ui.js";

const known = new Map(); // session id -> Map(at_seq -> [branch, ...])
const running = new Set(); // sessions with a regenerate / edit / switch under way
let fetchToken = 0;

{
  const sheet = document.createElement("link");
  sheet.rel = "stylesheet";
  sheet.href = "/static/branches.css";
  document.head.append(sheet);
}

const enc = encodeURIComponent;

async function call(method, path, { body, stream = false } = {}) {
  const headers = { Accept: stream ? "text/event-stream" : "application/json" };
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    throw new ApiError(0, "network_error", `the server cannot be reached (${err.message})`);
  }
  if (!res.ok) {
    let code = `http_${res.status}`;
    let message = res.statusText || `HTTP ${res.status}`;
    try {
      const data = await res.json();
      code = data.error?.code || code;
      message = data.error?.message || message;
    } catch {
      /* not JSON */
    }
    throw new ApiError(res.status, code, message);
  }
  return res;
}

/* ---- the branches of the open session ---- */

async function loadBranches(sessionId) {
  const token = ++fetchToken;
  let list = [];
  try {
    const res = await call("GET", `/api/sessions/${enc(sessionId)}/branches`);
    list = (await res.json()).branches || [];
  } catch (err) {
    if (err.status !== 404) console.warn("loading the branches failed", err);
  }
  if (token !== fetchToken) return;
  const bySeq = new Map();
  for (const b of list) {
    if (!bySeq.has(b.at_seq)) bySeq.set(b.at_seq, []);
    bySeq.get(b.at_seq).push(b);
  }
  known.set(sessionId, bySeq);
  if (sessionId === state.activeId) redrawSlots(sessionId);
}

/** Fill the "‹ i/n ›" slots of the messages on the page (without redrawing them). */
function redrawSlots(sessionId) {
  const e = peek(sessionId);
  if (!e) return;
  const bySeq = known.get(sessionId) || new Map();
  for (const m of e.messages) {
    const alts = m.seq != null ? bySeq.get(m.seq) : null;
    m.branchKey = alts ? alts.map((b) => b.session_id).join(",") : "";
  }
  for (const li of document.querySelectorAll("#messages .msg[data-seq]")) {
    const slot = li.querySelector(".branch-slot");
    const m = e.messages.find((x) => x.id === li.dataset.id);
    if (!slot || !m) continue;
    slot.replaceChildren();
    fillSlot(m, e.session, slot);
  }
}

function fillSlot(m, session, slot) {
  const alts = session && m.seq != null ? known.get(session.id)?.get(m.seq) : null;
  if (!alts || !alts.length) return;
  // The alternatives in the order they were written; this message is one of them.
  const all = [...alts.map((b) => ({ at: b.created_at, branch: b })), { at: m.created_at || "", current: true }];
  all.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.current ? 1 : -1));
  const i = all.findIndex((x) => x.current);
  const n = all.length;
  const step = (to, label, text) => {
    const btn = h("button.branch-step", { type: "button", "aria-label": label, title: label }, text);
    if (!to) btn.disabled = true;
    else btn.addEventListener("click", () => switchTo(session.id, to.branch));
    return btn;
  };
  slot.append(
    h("span.branch-switch", { role: "group", "aria-label": `Alternatives of message ${m.seq}: ${i + 1} of ${n}` },
      step(all[i - 1], `Show alternative ${i} of ${n}`, "‹"),
      h("span.branch-pos", {}, `${i + 1}/${n}`),
      step(all[i + 1], `Show alternative ${i + 2} of ${n}`, "›"),
    ),
  );
}

async function switchTo(sessionId, branch) {
  // A click while this session's turn still runs (its text shown, its stream not yet closed)
  // waits for the turn instead of being dropped without a word.
  for (let waited = 0; running.has(sessionId); waited += 50) {
    if (waited >= 10000) {
      toast("Wait for the reply to finish.", "info");
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  running.add(sessionId);
  try {
    await call("POST", `/api/sessions/${enc(sessionId)}/branches/${enc(branch.session_id)}/switch`);
  } catch (err) {
    toastError(err, "Switching to that alternative failed");
  } finally {
    running.delete(sessionId);
  }
  if (sessionId === state.activeId) await reloadActive({ full: true });
}

/* ---- regenerate and edit: a turn whose events arrive as SSE (and over the WebSocket) ---- */

async function runTurn(sessionId, path, body, what) {
  if (running.has(sessionId)) {
    toast("Wait for the reply to finish.", "info");
    return false;
  }
  running.add(sessionId);
  try {
    const res = await call("POST", path, { body, stream: true });
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    let cut = false;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const type = /^event: (.*)$/m.exec(frame)?.[1];
        if (type === "branch" && !cut && sessionId === state.activeId) {
          cut = true; // the replaced messages are a branch now: show the history without them
          reloadActive({ full: true });
        }
      }
    }
    return true;
  } catch (err) {
    toastError(err, `${what} failed`);
    return false;
  } finally {
    running.delete(sessionId);
    if (sessionId === state.activeId) await reloadActive({ full: true });
  }
}

/** The first assistant message of the turn `m` belongs to (a reply after tool calls is regenerated whole). */
function turnStart(m) {
  const e = peek(state.activeId);
  const bySeq = new Map((e?.messages || []).filter((x) => x.seq != null).map((x) => [x.seq, x]));
  let seq = m.seq;
  while (bySeq.has(seq - 1) && bySeq.get(seq - 1).role !== "user") seq -= 1;
  while (bySeq.get(seq)?.role !== "assistant" && seq < m.seq) seq += 1;
  return seq;
}

function regenerate(m, session) {
  return runTurn(session.id, `/api/sessions/${enc(session.id)}/regenerate`, { seq: turnStart(m) }, "Regenerating");
}

function startEdit(m, session, button) {
  const li = button.closest(".msg");
  const body = li?.querySelector(".msg-body");
  if (!li || !body || li.querySelector(".msg-edit")) return;
  const area = h("textarea.msg-edit-input", { rows: 3, "aria-label": `New text of message ${m.seq}` });
  area.value = m.content || "";
  const save = h("button.btn.primary", { type: "submit" }, "Save & send");
  const cancel = h("button.btn", { type: "button" }, "Cancel");
  const form = h("form.msg-edit", {}, area, h("div.msg-edit-actions", {}, cancel, save));
  const close = () => {
    form.remove();
    body.hidden = false;
    button.focus();
  };
  cancel.addEventListener("click", close);
  area.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") close();
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) form.requestSubmit();
  });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const text = area.value.trim();
    if (!text) {
      toast("The message cannot be empty.", "error");
      return;
    }
    if (text === (m.content || "").trim()) {
      close();
      return;
    }
    save.disabled = true;
    const ok = await runTurn(session.id, `/api/sessions/${enc(session.id)}/edit`, { seq: m.seq, content: text }, "Editing");
    if (!ok && form.isConnected) save.disabled = false;
  });
  body.hidden = true;
  body.after(form);
  area.focus();
  area.setSelectionRange(area.value.length, area.value.length);
}

/* ---- the hooks ---- */

addMessageActions((m, session) => {
  if (!session || session.status === "archived" || m.seq == null || m.status === "streaming") return [];
  if (m.role === "assistant") {
    const btn = h("button.msg-action.regenerate", { type: "button", title: "Run the agent again from here (this reply is kept as an alternative)", "aria-label": `Regenerate reply ${m.seq}` }, "↻ Regenerate");
    btn.addEventListener("click", () => regenerate(m, session));
    return [btn];
  }
  if (m.role === "user") {
    const btn = h("button.msg-action.edit", { type: "button", title: "Edit and send again (what followed is kept as an alternative)", "aria-label": `Edit message ${m.seq}` }, "✎ Edit");
    btn.addEventListener("click", () => startEdit(m, session, btn));
    return [btn];
  }
  return [];
});

addBranchSwitcher(fillSlot);

onHistoryChanged((sessionId) => {
  loadBranches(sessionId);
});
