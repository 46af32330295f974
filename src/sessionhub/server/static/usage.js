// The Usage page: GET /api/usage for the chosen range, drawn as totals, a daily SVG chart
// (bars: input and output tokens; line: cost) and the top agents, models and sessions.
// Plain SVG built with DOM calls: no library, nothing inline (the CSP forbids it).

const TOKEN_KEY = "sessionhub.token"; // the dashboard's token (api.js)
const SVG = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);
const tz = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
const fmt = new Intl.NumberFormat();
const money = (v) => (v === null || v === undefined ? "—" : `$${v.toFixed(v < 1 ? 4 : 2)}`);

async function usage(params) {
  const url = new URL("/api/usage", location.origin);
  for (const [k, v] of Object.entries({ ...params, tz })) url.searchParams.set(k, v);
  const token = localStorage.getItem(TOKEN_KEY);
  const res = await fetch(url, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body?.error?.message || `HTTP ${res.status}`);
  return body;
}

function isoDay(d) {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

function el(tag, attrs = {}, text) {
  const node = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function drawTotals(t) {
  const box = $("usage-totals");
  box.replaceChildren();
  const stats = [
    ["Cost", money(t.cost)],
    ["Input tokens", fmt.format(t.input_tokens)],
    ["Output tokens", fmt.format(t.output_tokens)],
    ["Messages", fmt.format(t.messages)],
    ["Sessions", fmt.format(t.sessions)],
  ];
  for (const [label, value] of stats) {
    const card = el("div", { class: "usage-stat" });
    card.append(el("div", { class: "label" }, label), el("div", { class: "value", "data-stat": label }, value));
    box.append(card);
  }
}

function drawChart(rows) {
  const W = 900, H = 260, L = 56, R = 48, T = 10, B = 28;
  const svg = el("svg:svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "Tokens and cost per day" });
  const maxTokens = Math.max(1, ...rows.map((r) => r.input_tokens + r.output_tokens));
  const costs = rows.map((r) => r.cost ?? 0);
  const maxCost = Math.max(...costs, 0);
  const step = (W - L - R) / Math.max(rows.length, 1);
  const y = (v) => T + (H - T - B) * (1 - v / maxTokens);
  svg.append(el("svg:line", { class: "axis", x1: L, x2: W - R, y1: H - B, y2: H - B }));
  svg.append(el("svg:text", { x: L - 6, y: T + 10, "text-anchor": "end" }, fmt.format(maxTokens)));
  svg.append(el("svg:text", { x: L - 6, y: H - B, "text-anchor": "end" }, "0"));
  if (maxCost > 0) svg.append(el("svg:text", { x: W - R + 4, y: T + 10 }, money(maxCost)));
  const labelEvery = Math.ceil(rows.length / 10);
  rows.forEach((r, i) => {
    const x = L + i * step + step * 0.15;
    const w = Math.max(step * 0.7, 1);
    const g = el("svg:g", { "data-day": r.key });
    g.append(el("svg:title", {}, `${r.key}: ${fmt.format(r.input_tokens)} in, ${fmt.format(r.output_tokens)} out, ${money(r.cost)}`));
    const yIn = y(r.input_tokens);
    g.append(el("svg:rect", { class: "bar-in", x, width: w, y: yIn, height: H - B - yIn }));
    const yOut = y(r.input_tokens + r.output_tokens);
    g.append(el("svg:rect", { class: "bar-out", x, width: w, y: yOut, height: yIn - yOut }));
    if (i % labelEvery === 0) g.append(el("svg:text", { x: x + w / 2, y: H - 8, "text-anchor": "middle" }, r.key.slice(5)));
    svg.append(g);
  });
  if (maxCost > 0) {
    const points = rows.map((r, i) => `${L + i * step + step / 2},${T + (H - T - B) * (1 - (r.cost ?? 0) / maxCost)}`);
    svg.append(el("svg:polyline", { class: "cost-line", points: points.join(" ") }));
  }
  $("usage-chart").replaceChildren(svg);
}

function drawTop(id, label, report) {
  const table = $(id);
  const head = el("tr");
  for (const h of [label, "tokens", "messages", "cost"]) head.append(el("th", { scope: "col" }, h));
  table.replaceChildren(el("thead"), el("tbody"));
  table.tHead.append(head);
  if (!report.rows.length) {
    const tr = el("tr");
    tr.append(el("td", { colspan: "4" }, "nothing in this range"));
    table.tBodies[0].append(tr);
  }
  for (const r of report.rows) {
    const tr = el("tr");
    const name = el("td", { title: r.key });
    if (report.group_by === "session") {
      name.append(el("a", { href: `/s/${encodeURIComponent(r.key)}` }, r.title || r.key));
    } else {
      name.textContent = r.key;
    }
    tr.append(name, el("td", {}, fmt.format(r.input_tokens + r.output_tokens)), el("td", {}, fmt.format(r.messages)), el("td", {}, money(r.cost)));
    table.tBodies[0].append(tr);
  }
}

async function show() {
  const range = { from: $("usage-from").value, to: $("usage-to").value };
  const error = $("usage-error");
  try {
    const [days, agents, models, sessions] = await Promise.all([
      usage({ ...range, group_by: "day" }),
      usage({ ...range, group_by: "agent", limit: 10 }),
      usage({ ...range, group_by: "model", limit: 10 }),
      usage({ ...range, group_by: "session", limit: 10 }),
    ]);
    error.hidden = true;
    drawTotals(days.totals);
    drawChart(days.rows);
    drawTop("usage-agent", "agent", agents);
    drawTop("usage-model", "model", models);
    drawTop("usage-session", "session", sessions);
    document.body.dataset.loaded = "true";
  } catch (exc) {
    error.textContent = `Could not load usage: ${exc.message}`;
    error.hidden = false;
  }
}

function preset(days) {
  const to = new Date();
  const from = new Date(to);
  from.setDate(to.getDate() - (days - 1));
  $("usage-from").value = isoDay(from);
  $("usage-to").value = isoDay(to);
  for (const b of document.querySelectorAll("[data-days]")) b.setAttribute("aria-pressed", String(Number(b.dataset.days) === days));
  const params = new URLSearchParams({ from: $("usage-from").value, to: $("usage-to").value });
  history.replaceState(null, "", `?${params}`);
  return show();
}

$("usage-range").addEventListener("submit", (ev) => {
  ev.preventDefault();
  for (const b of document.querySelectorAll("[data-days]")) b.setAttribute("aria-pressed", "false");
  history.replaceState(null, "", `?${new URLSearchParams({ from: $("usage-from").value, to: $("usage-to").value })}`);
  show();
});
for (const b of document.querySelectorAll("[data-days]")) b.addEventListener("click", () => preset(Number(b.dataset.days)));

const initial = new URLSearchParams(location.search);
if (initial.get("from") && initial.get("to")) {
  $("usage-from").value = initial.get("from");
  $("usage-to").value = initial.get("to");
  show();
} else {
  preset(30);
}
