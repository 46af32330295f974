// A small, safe markdown renderer: every character of the input is HTML-escaped FIRST, then a
// few markdown constructs are turned into tags we write ourselves. Message content can never
// inject HTML, attributes or script; links are kept only for http(s) and mailto; images are
// shown as links (the dashboard makes no request to anything but its own server).

const ESC = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => ESC[c]);
}

const SAFE_URL = /^(https?:\/\/|mailto:)/i;

function inline(escaped) {
  const slots = [];
  const keep = (html) => `\u0000${slots.push(html) - 1}\u0000`;
  let s = escaped;
  // code spans first: nothing inside them is markdown
  s = s.replace(/`([^`\n]+)`/g, (_, code) => keep(`<code>${code}</code>`));
  // images become links, links keep only safe schemes
  s = s.replace(/!?\[([^\]\n]+)\]\(([^)\s]+)\)/g, (whole, text, url) =>
    SAFE_URL.test(url)
      ? keep(`<a href="${url}" target="_blank" rel="noopener noreferrer nofollow">${text}</a>`)
      : whole,
  );
  s = s.replace(/(^|[\s(])(https?:\/\/[^\s<]+[^\s<.,;:!?)'"&])/g, (_, pre, url) =>
    pre + keep(`<a href="${url}" target="_blank" rel="noopener noreferrer nofollow">${url}</a>`),
  );
  s = s.replace(/\*\*(?=\S)([^*]*?\S)\*\*/g, "<strong>$1</strong>");
  s = s.replace(/(^|[^\w])__(?=\S)([^_]*?\S)__(?!\w)/g, "$1<strong>$2</strong>");
  s = s.replace(/(^|[^*\w])\*(?=\S)([^*\n]*?\S)\*(?!\w)/g, "$1<em>$2</em>");
  s = s.replace(/(^|[^_\w])_(?=\S)([^_\n]*?\S)_(?!\w)/g, "$1<em>$2</em>");
  s = s.replace(/~~(?=\S)([^~]*?\S)~~/g, "<del>$1</del>");
  return s.replace(/\u0000(\d+)\u0000/g, (_, i) => slots[Number(i)]);
}

function blocks(text) {
  const lines = text.split("\n");
  const out = [];
  let para = [];
  let list = null; // {tag, items}
  let quote = [];

  const flushPara = () => {
    if (para.length) out.push(`<p>${para.map(inline).join("<br>")}</p>`);
    para = [];
  };
  const flushList = () => {
    if (list) out.push(`<${list.tag}>${list.items.map((i) => `<li>${inline(i)}</li>`).join("")}</${list.tag}>`);
    list = null;
  };
  const flushQuote = () => {
    if (quote.length) out.push(`<blockquote>${blocks(quote.join("\n"))}</blockquote>`);
    quote = [];
  };
  const flushAll = () => {
    flushPara();
    flushList();
    flushQuote();
  };

  for (const line of lines) {
    let m;
    if ((m = /^&gt; ?(.*)$/.exec(line))) {
      flushPara();
      flushList();
      quote.push(m[1]);
      continue;
    }
    flushQuote();
    if (!line.trim()) {
      flushPara();
      flushList();
    } else if ((m = /^(#{1,6})\s+(.*)$/.exec(line))) {
      flushAll();
      const level = Math.min(6, m[1].length + 2); // h3.. inside a message
      out.push(`<h${level}>${inline(m[2])}</h${level}>`);
    } else if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(line)) {
      flushAll();
      out.push("<hr>");
    } else if ((m = /^\s*[-*+]\s+(.*)$/.exec(line))) {
      flushPara();
      if (!list || list.tag !== "ul") {
        flushList();
        list = { tag: "ul", items: [] };
      }
      list.items.push(m[1]);
    } else if ((m = /^\s*\d{1,9}[.)]\s+(.*)$/.exec(line))) {
      flushPara();
      if (!list || list.tag !== "ol") {
        flushList();
        list = { tag: "ol", items: [] };
      }
      list.items.push(m[1]);
    } else if (list && /^\s{2,}\S/.test(line)) {
      list.items[list.items.length - 1] += ` ${line.trim()}`;
    } else {
      flushList();
      para.push(line);
    }
  }
  flushAll();
  return out.join("");
}

/** Markdown text → an HTML string that is safe to assign to innerHTML. */
export function renderMarkdown(text) {
  const escaped = escapeHtml(String(text ?? "").replace(/\r\n?/g, "\n"));
  const out = [];
  const fence = /^```([\w+-]*)[^\n]*\n([\s\S]*?)(?:\n```[ \t]*(?:\n|$)|$(?![\s\S]))/gm;
  let last = 0;
  let m;
  while ((m = fence.exec(escaped))) {
    if (m.index > last) out.push(blocks(escaped.slice(last, m.index)));
    const lang = m[1] ? ` class="language-${m[1]}"` : "";
    out.push(`<pre><code${lang}>${m[2]}</code></pre>`);
    last = fence.lastIndex;
    if (m[0].length === 0) fence.lastIndex += 1;
  }
  if (last < escaped.length) out.push(blocks(escaped.slice(last)));
  return out.join("");
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
