/* A websocket that stays up: reconnects with exponential backoff and jitter, pings to keep
 * proxies from closing an idle connection, and marks its state on <body data-socket="...">.
 * Pushes are hints: after every (re)connection the page's onOpen re-fetches the current state
 * over HTTP, so nothing missed while disconnected stays missed. */
(function () {
  "use strict";
  var PING_MS = 25000, MIN_DELAY = 1000, MAX_DELAY = 30000;

  function setState(state) {
    document.body.dataset.socket = state;
    var label = document.querySelector("[data-socket-label]");
    if (label) label.textContent = {open: "Live", connecting: "Connecting…", closed: "Reconnecting…", refused: "Not allowed"}[state] || state;
  }

  function connect(path, handlers) {
    handlers = handlers || {};
    // The page's main socket marks <body data-socket>; a secondary one (a call) passes trackState: false.
    var track = handlers.trackState !== false;
    var mark = function (state) { if (track) setState(state); };
    var attempt = 0, ws = null, pinger = null, stopped = false;
    var api = {send: function (obj) { if (ws && ws.readyState === 1) { ws.send(JSON.stringify(obj)); return true; } return false; },
               close: function () { stopped = true; if (ws) ws.close(); },
               // Drops the current connection as a network failure would (the page reconnects).
               drop: function () { if (ws) ws.close(4000); }};

    function open() {
      var scheme = location.protocol === "https:" ? "wss://" : "ws://";
      mark(attempt === 0 ? "connecting" : "closed");
      ws = new WebSocket(scheme + location.host + path);
      ws.onopen = function () {
        var wasReconnect = attempt > 0;
        attempt = 0;
        mark("open");
        pinger = setInterval(function () { api.send({type: "ping"}); }, PING_MS);
        if (handlers.onOpen) handlers.onOpen(wasReconnect);
      };
      ws.onmessage = function (e) {
        var data;
        try { data = JSON.parse(e.data); } catch (err) { return; }
        if (data.type === "pong") return;
        if (handlers.onMessage) handlers.onMessage(data);
      };
      ws.onclose = function (e) {
        clearInterval(pinger);
        if (stopped) return;
        // 4401: the login session ended; 4404: not allowed here. Reconnecting would not help.
        if (e.code === 4401 || e.code === 4404 || e.code === 4403) {
          mark("refused");
          if (handlers.onRefused) handlers.onRefused(e.code);
          return;
        }
        attempt += 1;
        mark("closed");
        var delay = Math.min(MAX_DELAY, MIN_DELAY * Math.pow(2, attempt - 1));
        setTimeout(open, delay / 2 + Math.random() * delay / 2);
      };
    }
    open();
    return api;
  }

  window.LiveSocket = {connect: connect};
})();
