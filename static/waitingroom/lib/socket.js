/* A websocket that stays up: reconnects with exponential backoff and jitter, pings so proxies do
 * not close an idle connection, and marks its state on <body data-socket="..."> and the page's
 * [data-socket-label]. Pushes are hints: after every (re)connection the page's onOpen re-fetches
 * the current state over HTTP, so nothing missed while disconnected stays missed. The server
 * sends "resync" when its pushes may have been lost without the socket dropping (Redis was
 * unreachable): the page re-fetches the same way, onOpen(false).
 *
 * Handlers are registered per message type, `live.on("visit", (msg) => ...)`, always with a
 * string literal: a test reads them and checks each against the server's
 * message types. */

import {closeCodes} from "./rules.js";

const PING_MS = 25000, MIN_DELAY_MS = 1000, MAX_DELAY_MS = 30000;
// The code drop() closes with: the page treats it as a lost network and reconnects.
const DROPPED = 4000;
const LABELS = {open: "Live", connecting: "Connecting…", closed: "Reconnecting…", refused: "Not allowed", ended: "Closed"};

/* Show the page's connection state; `label` overrides the state's usual words. */
export function markSocket(state, label = null) {
  document.body.dataset.socket = state;
  const el = document.querySelector("[data-socket-label]");
  if (el) el.textContent = label || LABELS[state] || state;
}

/* Open `path`. options: onOpen(wasReconnect), onRefused(code), trackState (false for a second
 * socket, a call's, that must not repaint the page's indicator). */
export function connect(path, {onOpen = null, onRefused = null, trackState = true} = {}) {
  const handlers = new Map();
  const mark = (state, label) => { if (trackState) markSocket(state, label); };
  let attempt = 0, ws = null, pinger = null, retry = null, stopped = false;

  const live = {
    on(type, handler) {
      handlers.set(type, [...(handlers.get(type) || []), handler]);
      return live;
    },
    send(obj) {
      if (!ws || ws.readyState !== WebSocket.OPEN) return false;
      ws.send(JSON.stringify(obj));
      return true;
    },
    /* Closed on purpose (the visit is over, the call ended): no reconnecting. With a label the
     * indicator says so instead of "Reconnecting…". */
    close(label = null) {
      stopped = true;
      clearInterval(pinger);
      clearTimeout(retry);  // a reconnection already scheduled must not reopen it
      if (ws) ws.close();
      if (label) mark("ended", label);
    },
    // Drops the connection as a network failure would (the page reconnects); for tests.
    drop() { if (ws) ws.close(DROPPED); },
  };

  function open() {
    if (stopped) return;
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    mark(attempt === 0 ? "connecting" : "closed");
    ws = new WebSocket(scheme + location.host + path);
    ws.onopen = () => {
      const wasReconnect = attempt > 0;
      attempt = 0;
      mark("open");
      pinger = setInterval(() => live.send({type: "ping"}), PING_MS);
      if (onOpen) onOpen(wasReconnect);
    };
    ws.onmessage = (event) => {
      let msg;
      try { msg = JSON.parse(event.data); } catch { return; }
      if (msg.type === "resync" && onOpen) onOpen(false);
      (handlers.get(msg.type) || []).forEach((handler) => handler(msg));
    };
    ws.onclose = (event) => {
      clearInterval(pinger);
      if (stopped) return;
      // Signed out, not allowed, not found: reconnecting would not help.
      if (closeCodes.refused.includes(event.code)) {
        mark("refused");
        if (onRefused) onRefused(event.code);
        return;
      }
      attempt += 1;
      mark("closed");
      const delay = Math.min(MAX_DELAY_MS, MIN_DELAY_MS * 2 ** (attempt - 1));
      retry = setTimeout(open, delay / 2 + Math.random() * delay / 2);
    };
  }
  open();
  return live;
}
