// The theme switch: System (follows prefers-color-scheme), Light or Dark, kept in
// localStorage; theme-boot.js applies it before the first paint.

import { icon } from "./icons.js";

const KEY = "sessionhub.theme";
const ORDER = ["system", "light", "dark"];
const LABEL = { system: "Theme: system", light: "Theme: light", dark: "Theme: dark" };
const ICON = { system: "contrast", light: "sun", dark: "moon" };

export function currentTheme() {
  const t = localStorage.getItem(KEY);
  return t === "light" || t === "dark" ? t : "system";
}

export function setTheme(theme) {
  if (theme === "system") {
    localStorage.removeItem(KEY);
    delete document.documentElement.dataset.theme;
  } else {
    localStorage.setItem(KEY, theme);
    document.documentElement.dataset.theme = theme;
  }
  const btn = document.getElementById("theme-btn");
  if (btn) {
    btn.replaceChildren(icon(ICON[theme]));
    btn.setAttribute("aria-label", `${LABEL[theme]} (click to change)`);
    btn.title = LABEL[theme];
    btn.dataset.theme = theme;
  }
}

export function cycleTheme() {
  const next = ORDER[(ORDER.indexOf(currentTheme()) + 1) % ORDER.length];
  setTheme(next);
  return next;
}

export function initTheme() {
  setTheme(currentTheme());
  document.getElementById("theme-btn").addEventListener("click", cycleTheme);
}
