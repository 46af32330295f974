// The REST client (CONTRACT §6): the dashboard uses the public API like any other client.

const TOKEN_KEY = "sessionhub.token";

export function getToken() {
  return localStorage.getItem(TOKEN_KEY) || "";
}

export function setToken(token) {
  unauthorizedSaid = false;
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
}

/** The browser's IANA timezone, sent as `tz` so `group` (today, yesterday…) is computed locally. */
let timeZone = null;
try {
  timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone || null;
} catch {
  timeZone = null;
}
export const tz = () => timeZone;

/** An error answer of the API: `{"error": {"code", "message"}}`, or a network failure (status 0). */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let unauthorizedHandler = null;
let unauthorizedSaid = false;

/** Called once per 401 streak (until a request succeeds again): the app asks for a token. */
export function onUnauthorized(fn) {
  unauthorizedHandler = fn;
}

function authHeaders() {
  const token = getToken();
  return token ? { Authorization: `Bearer ${token}` } : {};
}

async function errorOf(res) {
  let code = `http_${res.status}`;
  let message = res.statusText || `HTTP ${res.status}`;
  try {
    const body = await res.json();
    if (body && body.error) {
      code = body.error.code || code;
      message = body.error.message || message;
    } else if (body && body.detail) {
      message = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
    }
  } catch {
    /* not JSON: keep the status text */
  }
  return new ApiError(res.status, code, message);
}

async function request(method, path, { query, body, raw = false } = {}) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, String(v));
  }
  const headers = { Accept: "application/json", ...authHeaders() };
  const init = { method, headers };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(url, init);
  } catch (err) {
    throw new ApiError(0, "network_error", `the server cannot be reached (${err.message})`);
  }
  if (res.status === 401) {
    if (!unauthorizedSaid && unauthorizedHandler) unauthorizedHandler();
    unauthorizedSaid = true;
  } else unauthorizedSaid = false;
  if (!res.ok) throw await errorOf(res);
  if (raw) return res;
  if (res.status === 204) return null;
  return res.json();
}

/** Retry once without `tz` when the server does not know the browser's timezone (422). */
async function withTz(fn) {
  try {
    return await fn(timeZone);
  } catch (err) {
    if (timeZone && err.status === 422) {
      timeZone = null;
      return fn(null);
    }
    throw err;
  }
}

const enc = encodeURIComponent;

export const api = {
  listSessions: ({ view = "active", cursor = null, limit = 50, agent = null, channel = null } = {}) =>
    withTz((t) => request("GET", "/api/sessions", { query: { view, cursor, limit, agent, channel, tz: t } })),
  getSession: (id) => withTz((t) => request("GET", `/api/sessions/${enc(id)}`, { query: { tz: t } })),
  createSession: ({ agent, model } = {}) => {
    const body = {};
    if (agent) body.agent = agent;
    if (model) body.model = model;
    return request("POST", "/api/sessions", { body });
  },
  patchSession: (id, patch) => request("PATCH", `/api/sessions/${enc(id)}`, { body: patch }),
  rename: (id, title) => request("PUT", `/api/sessions/${enc(id)}/title`, { body: { title } }),
  deleteSession: (id) => request("DELETE", `/api/sessions/${enc(id)}`),
  messages: (id, { limit = 50, before_seq = null, after_seq = null } = {}) =>
    request("GET", `/api/sessions/${enc(id)}/messages`, { query: { limit, before_seq, after_seq } }),
  search: (q, { limit = 20, view = "all", group, mode } = {}) =>
    request("GET", "/api/sessions/search", { query: { q, limit, view, group, mode } }),
  agents: () => request("GET", "/api/agents"),
  checkpoints: (id) => request("GET", `/api/sessions/${enc(id)}/checkpoints`),
  saveCheckpoint: (id, name, description) =>
    request("POST", `/api/sessions/${enc(id)}/checkpoints`, {
      body: description ? { name, description } : { name },
    }),
  restoreCheckpoint: (cid) => request("POST", `/api/checkpoints/${enc(cid)}/restore`),
  deleteCheckpoint: (cid) => request("DELETE", `/api/checkpoints/${enc(cid)}`),
  fork: (id, at_seq) => request("POST", `/api/sessions/${enc(id)}/fork`, { body: { at_seq } }),
  /** The export as a Blob plus the file name the server suggests (or one made from the title). */
  exportSession: async (id, format, fallbackName) => {
    const res = await request("GET", `/api/sessions/${enc(id)}/export`, { query: { format }, raw: true });
    const blob = await res.blob();
    const disposition = res.headers.get("Content-Disposition") || "";
    const match = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition);
    const ext = { markdown: "md", json: "json", jsonl: "jsonl", text: "txt" }[format] || format;
    const name = match ? decodeURIComponent(match[1]) : `${fallbackName}.${ext}`;
    return { blob, name };
  },
};
