// The live connection (CONTRACT §7): one WebSocket to /ws, reconnected with backoff.
//
// Actions go out as `{"action": ...}`; every `{"type": ...}` event that comes in is handed
// to `onEvent`. While the socket is down, actions wait in a small queue and are sent on the
// next open; on reconnect `?resume_session=` brings the server back to the open session.

import { getToken } from "./api.js";

const MAX_QUEUE = 50;

export class Live {
  /**
   * @param {{onEvent: (e: object) => void, onStatus: (s: string) => void, resumeId: () => string|null}} hooks
   */
  constructor({ onEvent, onStatus, resumeId, onUnauthorized }) {
    this.onEvent = onEvent;
    this.onUnauthorized = onUnauthorized || (() => {});
    this.onStatus = onStatus;
    this.resumeId = resumeId;
    this.ws = null;
    this.queue = [];
    this.attempt = 0;
    this.timer = null;
    this.closedByUs = false;
    this.everOpened = false;
  }

  url() {
    const params = new URLSearchParams();
    const resume = this.resumeId();
    if (resume) params.set("resume_session", resume);
    const token = getToken();
    if (token) params.set("token", token);
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const query = params.toString();
    return `${proto}//${location.host}/ws${query ? `?${query}` : ""}`;
  }

  connect() {
    clearTimeout(this.timer);
    this.closedByUs = false;
    this.onStatus(this.attempt === 0 ? "connecting" : "reconnecting");
    let ws;
    try {
      ws = new WebSocket(this.url());
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.attempt = 0;
      this.everOpened = true;
      this.onStatus("live");
      const pending = this.queue.splice(0);
      for (const msg of pending) ws.send(JSON.stringify(msg));
    };
    ws.onmessage = (ev) => {
      let data;
      try {
        data = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (!data || typeof data !== "object") return;
      if (data.type === "error" && data.code === "unauthorized") return; // the close (4401) follows
      this.onEvent(data);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.closedByUs) {
        this.onStatus("offline");
        return;
      }
      if (ev.code === 4401) {
        // no reconnect loop with a token that is refused: the app asks for one, then reconnects
        clearTimeout(this.timer);
        this.onStatus("unauthorized");
        this.onUnauthorized();
        return;
      }
      this.scheduleReconnect();
    };
    ws.onerror = () => {
      /* onclose follows and reconnects */
    };
  }

  scheduleReconnect() {
    this.onStatus("offline");
    const base = Math.min(30000, 500 * 2 ** this.attempt);
    const delay = base / 2 + Math.random() * (base / 2);
    this.attempt += 1;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  /** Reconnect now (after the token changed, or the page came back online). */
  reconnect() {
    this.attempt = 0;
    if (this.ws) {
      const old = this.ws;
      this.ws = null;
      old.onclose = null;
      old.close();
    }
    this.connect();
  }

  get isOpen() {
    return !!this.ws && this.ws.readyState === WebSocket.OPEN;
  }

  /** Send an action; returns true when it went out now, false when it was queued. */
  send(action) {
    if (this.isOpen) {
      this.ws.send(JSON.stringify(action));
      return true;
    }
    if (this.queue.length >= MAX_QUEUE) this.queue.shift();
    this.queue.push(action);
    return false;
  }

  close() {
    this.closedByUs = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close();
  }
}
