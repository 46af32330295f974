// The checkpoints panel (REST §6): save, list, restore, delete; and fork from a message.

import { api } from "./api.js";
import { openSession, reloadActive } from "./chat.js";
import { refreshList } from "./sidebar.js";
import { peek, state } from "./state.js";
import { confirmDialog, fullTime, h, shortTime, toast, toastError } from "./ui.js";

let panel;
let listEl;
let toggle;

export function initCheckpoints() {
  panel = document.getElementById("checkpoints");
  listEl = document.getElementById("checkpoint-list");
  toggle = document.getElementById("checkpoints-btn");
  toggle.addEventListener("click", () => (panel.hidden ? openPanel() : closePanel()));
  document.getElementById("checkpoints-close").addEventListener("click", closePanel);
  document.getElementById("checkpoint-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const name = document.getElementById("checkpoint-name");
    const desc = document.getElementById("checkpoint-desc");
    if (!state.activeId || !name.value.trim()) return;
    try {
      await api.saveCheckpoint(state.activeId, name.value.trim(), desc.value.trim() || null);
      name.value = "";
      desc.value = "";
      toast("Checkpoint saved");
      await refresh();
    } catch (err) {
      toastError(err, "Saving the checkpoint failed");
    }
  });
}

export function openPanel() {
  panel.hidden = false;
  toggle.setAttribute("aria-expanded", "true");
  document.getElementById("checkpoint-name").focus();
  refresh();
}

export function closePanel() {
  if (panel.hidden) return false;
  panel.hidden = true;
  toggle.setAttribute("aria-expanded", "false");
  toggle.focus();
  return true;
}

/** The open session changed: refresh the panel if it is shown. */
export function sessionChanged() {
  if (!panel.hidden) refresh();
  const archived = peek(state.activeId)?.session?.status === "archived";
  document.getElementById("checkpoint-form").hidden = archived;
}

export async function refresh() {
  const id = state.activeId;
  if (!id) return;
  try {
    const { checkpoints } = await api.checkpoints(id);
    if (id !== state.activeId) return;
    if (!checkpoints.length) {
      listEl.replaceChildren(h("li.empty", {}, "No checkpoints yet."));
      return;
    }
    listEl.replaceChildren(...checkpoints.map(item));
  } catch (err) {
    listEl.replaceChildren(h("li.empty", {}, "Checkpoints could not be loaded."));
    toastError(err, "Loading checkpoints failed");
  }
}

function item(c) {
  const restore = h("button.btn", { type: "button", "aria-label": `Restore checkpoint ${c.name}` }, "Restore");
  const del = h("button.btn.danger-outline", { type: "button", "aria-label": `Delete checkpoint ${c.name}` }, "Delete");
  const fork = h("button.btn", { type: "button", "aria-label": `Fork a new session from checkpoint ${c.name}` }, "Fork");
  restore.addEventListener("click", async () => {
    const ok = await confirmDialog({
      title: "Restore this checkpoint?",
      text: `The history goes back to “${c.name}” (${c.message_count} messages). Later messages are kept aside, not lost.`,
      ok: "Restore",
      danger: false,
    });
    if (!ok) return;
    try {
      await api.restoreCheckpoint(c.id);
      toast(`Restored “${c.name}”`);
      await reloadActive();
      refreshList();
      refresh();
    } catch (err) {
      toastError(err, "Restore failed");
    }
  });
  del.addEventListener("click", async () => {
    const ok = await confirmDialog({ title: "Delete this checkpoint?", text: `“${c.name}” will be deleted (the messages stay).` });
    if (!ok) return;
    try {
      await api.deleteCheckpoint(c.id);
      toast("Checkpoint deleted");
      refresh();
    } catch (err) {
      toastError(err, "Deleting the checkpoint failed");
    }
  });
  fork.addEventListener("click", () => forkAt(c.at_seq));
  return h("li.checkpoint", { dataset: { id: c.id } },
    h("div.checkpoint-name", {}, c.name),
    c.description ? h("div.checkpoint-desc", {}, c.description) : null,
    h("div.checkpoint-meta", { title: fullTime(c.created_at) }, `${c.message_count} messages · up to #${c.at_seq} · ${shortTime(c.created_at)}`),
    h("div.checkpoint-actions", {}, restore, fork, del),
  );
}

/** Fork the open session at `seq` into a new session and open it. */
export async function forkAt(seq) {
  const id = state.activeId;
  if (!id) return;
  try {
    const s = await api.fork(id, seq);
    toast(`Forked at message #${seq}`);
    await refreshList();
    openSession(s.id);
  } catch (err) {
    toastError(err, "Fork failed");
  }
}
