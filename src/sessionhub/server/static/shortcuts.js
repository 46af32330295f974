// Keyboard shortcuts, and the dialog that lists them (press ? or Ctrl+/).

import { cycleTheme } from "./theme.js";

export const SHORTCUTS = [
  ["Ctrl+K", "Search sessions and messages"],
  ["Ctrl+Shift+O", "New chat"],
  ["Alt+↑ / Alt+↓", "Previous / next session in the list"],
  ["Shift+Esc", "Focus the message box"],
  ["Ctrl+Shift+End", "Jump to the latest message"],
  ["Ctrl+Shift+L", "Switch the theme (system, light, dark)"],
  ["Esc", "Close a menu or panel; stop a streaming reply"],
  ["Enter / Shift+Enter", "Send / new line in the message box"],
  ["F2 / Delete", "Rename / delete the focused session"],
  ["? or Ctrl+/", "Show these shortcuts"],
];

function typing(el) {
  return el && (el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName));
}

/** actions: {search, newChat, escape, neighbour(step), latest} */
export function initShortcuts(actions) {
  const dialog = document.getElementById("shortcuts-dialog");
  const list = document.getElementById("shortcuts-list");
  for (const [keys, what] of SHORTCUTS) {
    const dt = document.createElement("dt");
    for (const [i, k] of keys.split(" / ").entries()) {
      if (i) dt.append(" / ");
      const kbd = document.createElement("kbd");
      kbd.textContent = k;
      dt.append(kbd);
    }
    const dd = document.createElement("dd");
    dd.textContent = what;
    list.append(dt, dd);
  }
  const openHelp = () => {
    if (!dialog.open) dialog.showModal();
  };
  document.getElementById("shortcuts-btn").addEventListener("click", openHelp);

  document.addEventListener("keydown", (ev) => {
    const mod = ev.ctrlKey || ev.metaKey;
    const key = ev.key.toLowerCase();
    if (mod && !ev.shiftKey && key === "k") {
      ev.preventDefault();
      actions.search();
    } else if (mod && ev.shiftKey && key === "o") {
      ev.preventDefault();
      actions.newChat();
    } else if (mod && ev.shiftKey && key === "l") {
      ev.preventDefault();
      cycleTheme();
    } else if (mod && ev.shiftKey && ev.key === "End") {
      ev.preventDefault();
      actions.latest();
    } else if ((mod && key === "/") || (ev.key === "?" && !mod && !typing(ev.target))) {
      ev.preventDefault();
      openHelp();
    } else if (ev.altKey && !mod && (ev.key === "ArrowUp" || ev.key === "ArrowDown")) {
      ev.preventDefault();
      actions.neighbour(ev.key === "ArrowDown" ? 1 : -1);
    } else if (ev.key === "Escape" && ev.shiftKey) {
      ev.preventDefault();
      document.getElementById("composer-input").focus();
    } else if (ev.key === "Escape" && !ev.defaultPrevented) {
      if (document.querySelector("dialog[open]")) return; // the dialog closes itself
      actions.escape();
    }
  });
}
