// Markdown for messages: marked (GitHub-flavoured: tables, nested lists, fenced code in lists)
// turns the text into HTML, highlight.js colours code blocks, and DOMPurify keeps only safe
// elements and attributes. All three are vendored ES modules (static/vendor/, with their
// licences): nothing is fetched from elsewhere, and the page's CSP (`script-src 'self'`) holds.
//
// Raw HTML in a message is shown as text, not interpreted (as chat UIs do); images become
// links, so a message never makes the browser request anything; links keep http(s) and mailto.

import { Marked } from "./vendor/marked.esm.js";
import DOMPurify from "./vendor/purify.es.mjs";
import hljs from "./vendor/hljs/core.min.js";
import bash from "./vendor/hljs/bash.min.js";
import c from "./vendor/hljs/c.min.js";
import cpp from "./vendor/hljs/cpp.min.js";
import css from "./vendor/hljs/css.min.js";
import diff from "./vendor/hljs/diff.min.js";
import dockerfile from "./vendor/hljs/dockerfile.min.js";
import go from "./vendor/hljs/go.min.js";
import ini from "./vendor/hljs/ini.min.js";
import java from "./vendor/hljs/java.min.js";
import javascript from "./vendor/hljs/javascript.min.js";
import json from "./vendor/hljs/json.min.js";
import markdown from "./vendor/hljs/markdown.min.js";
import plaintext from "./vendor/hljs/plaintext.min.js";
import python from "./vendor/hljs/python.min.js";
import rust from "./vendor/hljs/rust.min.js";
import shell from "./vendor/hljs/shell.min.js";
import sql from "./vendor/hljs/sql.min.js";
import typescript from "./vendor/hljs/typescript.min.js";
import xml from "./vendor/hljs/xml.min.js";
import yaml from "./vendor/hljs/yaml.min.js";

const LANGUAGES = {
  bash, c, cpp, css, diff, dockerfile, go, ini, java, javascript, json, markdown, plaintext, python, rust,
  shell, sql, typescript, xml, yaml,
};
for (const [name, grammar] of Object.entries(LANGUAGES)) hljs.registerLanguage(name, grammar);
hljs.registerAliases(["toml"], { languageName: "ini" });
hljs.registerAliases(["html", "svg"], { languageName: "xml" });
hljs.registerAliases(["sh", "zsh", "console"], { languageName: "bash" });
hljs.registerAliases(["py"], { languageName: "python" });
hljs.registerAliases(["js", "mjs"], { languageName: "javascript" });
hljs.registerAliases(["ts"], { languageName: "typescript" });
hljs.registerAliases(["yml"], { languageName: "yaml" });
hljs.registerAliases(["text", "txt"], { languageName: "plaintext" });

const ESC = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(text) {
  return String(text ?? "").replace(/[&<>"']/g, (ch) => ESC[ch]);
}

const MAX_HIGHLIGHT = 100_000; // characters: longer blocks are shown plain (highlighting is O(n))

function highlighted(code, lang) {
  const name = (lang || "").trim().split(/\s+/, 1)[0].toLowerCase();
  if (name && code.length <= MAX_HIGHLIGHT && hljs.getLanguage(name)) {
    try {
      return { html: hljs.highlight(code, { language: name, ignoreIllegals: true }).value, name };
    } catch {
      /* fall through to plain text */
    }
  }
  return { html: escapeHtml(code), name };
}

const marked = new Marked({
  gfm: true,
  breaks: true,
  renderer: {
    // raw HTML is text: "<b>x</b>" in a message shows those characters
    html({ text }) {
      return escapeHtml(text);
    },
    // images become links: no request leaves the page for a message
    image({ href, text }) {
      return `<a href="${escapeHtml(href)}">${escapeHtml(text || href)}</a>`;
    },
    code({ text, lang }) {
      const { html, name } = highlighted(text, lang);
      const label = name ? `<span class="code-lang">${escapeHtml(name)}</span>` : "";
      return `<div class="code-block">${label}<pre><code class="hljs${name ? ` language-${escapeHtml(name)}` : ""}">${html}</code></pre></div>\n`;
    },
  },
});

const SAFE_URI = /^(?:https?:|mailto:|#)/i;
const PURIFY = {
  ALLOWED_TAGS: [
    "a", "b", "blockquote", "br", "code", "del", "div", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i",
    "input", "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup", "table", "tbody", "td", "th", "thead",
    "tr", "ul",
  ],
  ALLOWED_ATTR: ["href", "title", "class", "align", "start", "type", "checked", "disabled", "target", "rel"],
  ALLOWED_URI_REGEXP: SAFE_URI,
  ALLOW_DATA_ATTR: false,
};
// once: a config passed to every sanitize() call is parsed again each time (most of its cost)
DOMPurify.setConfig(PURIFY);

DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  if (node.nodeName === "A") {
    const href = node.getAttribute("href") || "";
    if (!SAFE_URI.test(href)) node.removeAttribute("href");
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer nofollow");
  } else if (node.nodeName === "INPUT" && node.getAttribute("type") !== "checkbox") {
    node.remove();
  }
});

// Text with nothing markdown could act on (no markup characters, no line breaks, no list or
// heading start, no bare link): one escaped paragraph, without the parser and the sanitizer.
const PLAIN = /^(?!\s*(?:[-+]|\d+[.)])\s)[^*_`#>[\]!|<&~\\\n@=]*$/;
const LINKISH = /https?:|www\.|mailto:/i;

/** Markdown text as sanitized HTML (a string). */
export function renderMarkdown(text) {
  text = String(text ?? "");
  if (text.trim() && PLAIN.test(text) && !LINKISH.test(text)) return `<p>${escapeHtml(text.trim())}</p>`;
  const html = marked.parse(text, { async: false });
  return DOMPurify.sanitize(html);
}

/**
 * Render markdown into `el`, each code block with its copy button. Copy buttons are plain
 * buttons with `data-copy="code"`: the chat handles their clicks by delegation.
 */
export function renderInto(el, text) {
  el.innerHTML = renderMarkdown(text);
  for (const block of el.querySelectorAll(".code-block")) {
    const btn = document.createElement("button");
    btn.type = "button";
    btn.className = "copy-btn copy-code";
    btn.dataset.copy = "code";
    btn.setAttribute("aria-label", "Copy code");
    btn.textContent = "Copy";
    block.prepend(btn);
  }
}

/**
 * Search snippets come HTML-escaped with `<mark>` only; still, keep nothing but text and
 * <mark> elements (parsed in an inert <template>, so nothing in it runs or loads).
 */
export function sanitizeSnippet(html) {
  const tpl = document.createElement("template");
  tpl.innerHTML = String(html ?? "");
  const frag = document.createDocumentFragment();
  const walk = (node, into) => {
    for (const child of node.childNodes) {
      if (child.nodeType === Node.TEXT_NODE) {
        into.append(child.textContent);
      } else if (child.nodeType === Node.ELEMENT_NODE && child.nodeName === "MARK") {
        const mark = document.createElement("mark");
        walk(child, mark);
        into.append(mark);
      } else if (child.nodeType === Node.ELEMENT_NODE) {
        into.append(child.textContent);
      }
    }
  };
  walk(tpl.content, frag);
  return frag;
}

/** Copy text to the clipboard (the async API where the page may, else a hidden textarea). */
export async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      /* fall back below */
    }
  }
  const ta = document.createElement("textarea");
  ta.value = text;
  ta.setAttribute("readonly", "");
  ta.className = "visually-hidden";
  document.body.append(ta);
  ta.select();
  let ok = false;
  try {
    ok = document.execCommand("copy");
  } catch {
    ok = false;
  }
  ta.remove();
  return ok;
}
