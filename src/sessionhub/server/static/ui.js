// Small UI helpers: element builder, toasts, the confirm dialog, the row menu, formatting.

import { hasIcon, icon } from "./icons.js";

/** h("button.btn", {type: "button", onclick}, "text", child…): text children are always text. */
export function h(tag, attrs = {}, ...children) {
  const [name, ...classes] = tag.split(".");
  const el = document.createElement(name || "div");
  if (classes.length) el.className = classes.join(" ");
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k === "className") el.className = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const toastsEl = () => document.getElementById("toasts");

/** Show a message; kind "error" stays until dismissed or 8 s, "info" for 3 s. The same text
 * already on screen is not shown twice. */
export function toast(message, kind = "info") {
  for (const old of toastsEl().querySelectorAll(".toast")) {
    if (old.firstChild?.textContent === message) return old;
  }
  const close = h("button.toast-close", { type: "button", "aria-label": "Dismiss" }, "✕");
  const el = h(`div.toast.${kind}`, { role: kind === "error" ? "alert" : "status" }, h("span", {}, message), close);
  const remove = () => el.remove();
  close.addEventListener("click", remove);
  toastsEl().append(el);
  setTimeout(remove, kind === "error" ? 8000 : 3000);
  return el;
}

export function toastError(err, what) {
  if (err && err.status === 401) return; // the token prompt says it once (app.js)
  const msg = err && err.message ? err.message : String(err);
  const code = err && err.code ? ` (${err.code})` : "";
  toast(what ? `${what}: ${msg}${code}` : `${msg}${code}`, "error");
}

/** A modal confirmation; resolves true when the user confirms. */
export function confirmDialog({ title, text, ok = "Delete", danger = true }) {
  const dlg = document.getElementById("confirm-dialog");
  dlg.querySelector("#confirm-title").textContent = title;
  dlg.querySelector("#confirm-text").textContent = text;
  const okBtn = dlg.querySelector("#confirm-ok");
  okBtn.textContent = ok;
  okBtn.className = danger ? "btn danger" : "btn primary";
  dlg.returnValue = "cancel";
  return new Promise((resolve) => {
    dlg.addEventListener("close", () => resolve(dlg.returnValue === "ok"), { once: true });
    dlg.showModal();
    dlg.querySelector("#confirm-cancel").focus();
  });
}

/* ---- the row menu: one floating role=menu, opened from a "…" button ---- */

let menuTrigger = null;

export function closeMenu({ restoreFocus = true } = {}) {
  const menu = document.getElementById("row-menu");
  if (menu.hidden) return false;
  menu.hidden = true;
  menu.replaceChildren();
  if (menuTrigger) {
    menuTrigger.setAttribute("aria-expanded", "false");
    if (restoreFocus) menuTrigger.focus();
  }
  menuTrigger = null;
  return true;
}

/**
 * items: [{label, onSelect, disabled?: string (the reason), danger?}]; disabled items stay
 * focusable (aria-disabled) so their reason can be read and shown.
 */
export function openMenu(trigger, items, label) {
  closeMenu({ restoreFocus: false });
  const menu = document.getElementById("row-menu");
  menu.setAttribute("aria-label", label);
  const buttons = items.map((item) => {
    const btn = h(
      `button.menu-item${item.danger ? ".danger" : ""}`,
      {
        type: "button",
        role: "menuitem",
        tabindex: "-1",
        "aria-disabled": item.disabled ? "true" : null,
        title: item.disabled || null,
        dataset: { action: item.action || "" },
      },
      h("span", {}, item.label),
      item.disabled ? h("small.menu-reason", {}, item.disabled) : null,
    );
    btn.addEventListener("click", () => {
      if (item.disabled) {
        toast(item.disabled, "info");
        return;
      }
      closeMenu({ restoreFocus: false });
      item.onSelect();
    });
    return btn;
  });
  menu.replaceChildren(...buttons);
  menu.hidden = false;
  const r = trigger.getBoundingClientRect();
  const mw = menu.offsetWidth;
  const mh = menu.offsetHeight;
  menu.style.left = `${Math.max(8, Math.min(r.right - mw, window.innerWidth - mw - 8))}px`;
  menu.style.top = `${r.bottom + mh + 8 > window.innerHeight ? Math.max(8, r.top - mh - 4) : r.bottom + 4}px`;
  menuTrigger = trigger;
  trigger.setAttribute("aria-expanded", "true");
  buttons[0]?.focus();
}

export function initMenuKeys() {
  const menu = document.getElementById("row-menu");
  menu.addEventListener("keydown", (ev) => {
    const items = [...menu.querySelectorAll(".menu-item")];
    const i = items.indexOf(document.activeElement);
    if (ev.key === "ArrowDown") items[(i + 1) % items.length].focus();
    else if (ev.key === "ArrowUp") items[(i - 1 + items.length) % items.length].focus();
    else if (ev.key === "Home") items[0].focus();
    else if (ev.key === "End") items[items.length - 1].focus();
    else if (ev.key === "Escape" || ev.key === "Tab") closeMenu();
    else return;
    ev.preventDefault();
    ev.stopPropagation();
  });
  document.addEventListener("pointerdown", (ev) => {
    if (!menu.hidden && !menu.contains(ev.target) && ev.target !== menuTrigger) closeMenu({ restoreFocus: false });
  });
  window.addEventListener("resize", () => closeMenu({ restoreFocus: false }));
}

/* ---- formatting ---- */

export function shortTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const now = new Date();
  if (d.toDateString() === now.toDateString()) return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  if (now - d < 6 * 86400000) return d.toLocaleDateString([], { weekday: "short" });
  return d.toLocaleDateString([], { month: "short", day: "numeric", year: now.getFullYear() === d.getFullYear() ? undefined : "numeric" });
}

export function fullTime(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "" : d.toLocaleString();
}

const CHANNEL_NAMES = {
  web: "Web", telegram: "Telegram", discord: "Discord", slack: "Slack", whatsapp: "WhatsApp", signal: "Signal",
  matrix: "Matrix", teams: "Microsoft Teams", google_chat: "Google Chat", webhook: "Webhook",
};

/** What kind of source a session has at a glance: {kind (the icon), label}. */
export function sourceKind(session) {
  const source = session.source || "manual";
  const ref = session.source_ref ? `: ${session.source_ref}` : "";
  if (session.metadata?.type === "voice") return { kind: "mic", label: "Voice session" };
  if (source === "scheduled") return { kind: "gear", label: `Scheduled task${ref}` };
  if (source === "trigger") return { kind: "bolt", label: `Trigger${ref}` };
  if (source === "channel") {
    const ch = session.channel || "channel";
    const kind = ch === "webhook" ? "link" : hasIcon(ch) ? ch : "channel";
    return { kind, label: `Channel: ${CHANNEL_NAMES[ch] || ch.replace("_", " ")}` };
  }
  return { kind: "chat", label: "Manual chat" };
}

/** The source badge of a session: a platform logo, a gear, a bolt, a microphone or a bubble. */
export function sourceBadge(session) {
  const { kind, label } = sourceKind(session);
  return h("span.source", { title: label, dataset: { source: session.source || "manual", channel: session.channel || "", kind } }, icon(kind, label));
}

export const channelName = (ch) => CHANNEL_NAMES[ch] || ch;

/** Save a Blob as a file download. */
export function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = h("a", { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
