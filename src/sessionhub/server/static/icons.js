// Tiny inline SVG icons, drawn here (no icon font, no emoji font, no trademark files): simple
// line drawings that evoke each chat platform without copying its logo.

const PATHS = {
  chat: "M4 5h16v10H9l-5 4z",
  clock: "M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18zM12 7v5l3 3",
  bolt: "M13 2 4 14h7l-1 8 9-12h-7z",
  channel: "M5 12a7 7 0 0 1 14 0M8.5 12a3.5 3.5 0 0 1 7 0M12 12v9",
  link: "M10 14a4 4 0 0 0 5.7 0l3-3a4 4 0 0 0-5.7-5.7l-1 1M14 10a4 4 0 0 0-5.7 0l-3 3a4 4 0 0 0 5.7 5.7l1-1",
  pin: "M9 3h6l-1 6 4 4H6l4-4zM12 13v8",
  tool: "M14.7 6.3a4 4 0 0 0-5.4 5.4L3 18l3 3 6.3-6.3a4 4 0 0 0 5.4-5.4l-2.6 2.6-2.4-.6-.6-2.4z",
  plus: "M12 5v14M5 12h14",
  gear: [
    "M12 9a3 3 0 1 0 0 6 3 3 0 0 0 0-6z",
    "M19.4 15a1.7 1.7 0 0 0 .3 1.8l.1.1a2 2 0 1 1-2.8 2.8l-.1-.1a1.7 1.7 0 0 0-1.8-.3 1.7 1.7 0 0 0-1 1.5V21a2 2 0 1 1-4 0v-.1a1.7 1.7 0 0 0-1.1-1.5 1.7 1.7 0 0 0-1.8.3l-.1.1a2 2 0 1 1-2.8-2.8l.1-.1a1.7 1.7 0 0 0 .3-1.8 1.7 1.7 0 0 0-1.5-1H3a2 2 0 1 1 0-4h.1a1.7 1.7 0 0 0 1.5-1.1 1.7 1.7 0 0 0-.3-1.8l-.1-.1a2 2 0 1 1 2.8-2.8l.1.1a1.7 1.7 0 0 0 1.8.3H9a1.7 1.7 0 0 0 1-1.5V3a2 2 0 1 1 4 0v.1a1.7 1.7 0 0 0 1 1.5 1.7 1.7 0 0 0 1.8-.3l.1-.1a2 2 0 1 1 2.8 2.8l-.1.1a1.7 1.7 0 0 0-.3 1.8V9a1.7 1.7 0 0 0 1.5 1H21a2 2 0 1 1 0 4h-.1a1.7 1.7 0 0 0-1.5 1z",
  ],
  menu: "M4 6h16M4 12h16M4 18h16",
  close: "M6 6l12 12M18 6 6 18",
  fork: "M6 3v6a4 4 0 0 0 4 4h4a4 4 0 0 1 4 4v4M6 21v-8M18 3v4",
  mic: ["M12 3a3 3 0 0 0-3 3v6a3 3 0 0 0 6 0V6a3 3 0 0 0-3-3z", "M5 11a7 7 0 0 0 14 0M12 18v3M9 21h6"],
  down: "M12 5v14M6 13l6 6 6-6",
  sun: ["M12 8a4 4 0 1 0 0 8 4 4 0 0 0 0-8z", "M12 2v2M12 20v2M2 12h2M20 12h2M4.9 4.9l1.4 1.4M17.7 17.7l1.4 1.4M4.9 19.1l1.4-1.4M17.7 6.3l1.4-1.4"],
  moon: "M20 14.5A8 8 0 0 1 9.5 4 8 8 0 1 0 20 14.5z",
  contrast: ["M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18z", "M12 3v18"],
  keyboard: ["M3 7h18v10H3z", "M7 11h.01M11 11h.01M15 11h.01M8 14h8"],
  // channels: line drawings of our own
  telegram: "M21 4 3 11l6 2 2 6 3-4 5 4zM9 13l9-6-7 8",
  slack: ["M9 3v18M15 3v18M3 9h18M3 15h18"],
  discord: ["M7 7c3-1.5 7-1.5 10 0l2 9c-2 1.5-4 2-4 2l-1-2c-1.3.3-2.7.3-4 0l-1 2s-2-.5-4-2z", "M9.5 12h.01M14.5 12h.01"],
  whatsapp: ["M4 20l1.3-4A8 8 0 1 1 8 18.7z", "M9 9.5c0 3 2.5 5.5 5.5 5.5l1-1.5-2-1-1 1c-1-.5-1.5-1-2-2l1-1-1-2z"],
  signal: ["M12 3a9 9 0 0 0-7.7 13.6L3 21l4.4-1.3A9 9 0 1 0 12 3z", "M12 7a5 5 0 0 1 5 5"],
  matrix: ["M6 4H4v16h2", "M18 4h2v16h-2", "M8 15V9h1.5a1.5 1.5 0 0 1 1.5 1.5V15M11 10.5A1.5 1.5 0 0 1 12.5 9h0A1.5 1.5 0 0 1 14 10.5V15"],
  teams: ["M3 6h11v12H3z", "M6 9h5M8.5 9v6", "M17 9a2 2 0 1 0 0-4 2 2 0 0 0 0 4zM15 11h6v5a3 3 0 0 1-6 0"],
  google_chat: ["M4 4h16v12H10l-4 4v-4H4z", "M9 8h6v4H9z"],
  web: ["M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18z", "M3 12h18M12 3c3 3.5 3 14.5 0 18M12 3c-3 3.5-3 14.5 0 18"],
};

export function icon(name, label = null) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "16");
  svg.setAttribute("height", "16");
  svg.setAttribute("class", `icon icon-${name}`);
  svg.setAttribute("fill", "none");
  svg.setAttribute("stroke", "currentColor");
  svg.setAttribute("stroke-width", "2");
  svg.setAttribute("stroke-linecap", "round");
  svg.setAttribute("stroke-linejoin", "round");
  if (label) {
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", label);
  } else svg.setAttribute("aria-hidden", "true");
  const d = PATHS[name] || PATHS.chat;
  for (const part of Array.isArray(d) ? d : [d]) {
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", part);
    svg.append(path);
  }
  return svg;
}

export const hasIcon = (name) => Object.hasOwn(PATHS, name);

/** Replace `<span data-icon="name">` placeholders of the static page. */
export function hydrateIcons(root = document) {
  for (const el of root.querySelectorAll("[data-icon]")) el.replaceChildren(icon(el.dataset.icon));
}
