/* The patient's wait screen: device check, presence and activity over the socket, live status,
 * queue position, broadcast and chat. Status fragments come from the server's one template. */
(function () {
  "use strict";
  var body = document.body, panel = document.querySelector("[data-status-panel]");
  var myId = Number(body.dataset.visit), myArrived = Number(body.dataset.arrived);
  var CLOSED = ["completed", "cancelled", "expired", "left"];
  var mediaOk = null, stream = null, lastActivity = 0, socket = null;

  // Cards pushed over the socket are rendered without a request, so they carry no CSRF input: the
  // page's token (in <meta>) goes in the header, and forms are posted URL-encoded.
  function csrf() { return document.querySelector("meta[name=csrf-token]").content; }
  function fragment(html) { var t = document.createElement("template"); t.innerHTML = html.trim(); return t.content.firstElementChild; }

  function showStatus(status, html) {
    body.dataset.status = status;
    panel.innerHTML = html;
    var retry = panel.querySelector("[data-media-retry]");
    if (retry) retry.addEventListener("click", checkDevices);
    if (CLOSED.indexOf(status) >= 0) {
      if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
      document.querySelector("[data-preview-wrap]").hidden = true;
      document.querySelectorAll("[data-chat-form], [data-leave-form]").forEach(function (f) { f.hidden = true; });
      if (socket) socket.close();
    }
  }

  // --- Device check ------------------------------------------------------------------------------
  function reportMedia() {
    if (mediaOk !== null && socket && (body.dataset.status === "connecting" || body.dataset.status === "media_blocked")) {
      socket.send({type: "media", ok: mediaOk});
    }
  }
  function checkDevices() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { mediaOk = false; reportMedia(); return; }
    navigator.mediaDevices.getUserMedia({video: true, audio: true}).then(function (s) {
      stream = s; mediaOk = true;
      var video = document.querySelector("[data-preview]");
      video.srcObject = s; document.querySelector("[data-preview-wrap]").hidden = false;
      reportMedia();
    }).catch(function () { mediaOk = false; reportMedia(); });
  }

  // --- Queue position and estimate ---------------------------------------------------------------
  function showPosition(position) {
    var el = panel.querySelector("[data-position]");
    if (!el || position == null) return;
    el.textContent = position;
    var est = panel.querySelector("[data-estimate]"), per = Number(est && est.dataset.secondsPerPlace);
    if (est && per > 0) est.textContent = "Estimated wait: about " + Math.max(1, Math.round(position * per / 60)) + " min";
  }
  function onQueue(msg) {
    var el = panel.querySelector("[data-position]");
    if (!el || msg.visit_id === myId) return;
    var ahead = msg.arrived < myArrived || (msg.arrived === myArrived && msg.visit_id < myId);
    if (ahead) showPosition(Math.max(1, Number(el.textContent) + msg.change));
  }

  // --- Live updates ------------------------------------------------------------------------------
  function resync() {
    return fetch(body.dataset.stateUrl, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (s) {
      showStatus(s.status, s.html);
      setBroadcast(s.broadcast);
      reportMedia();
    });
  }
  function setBroadcast(text) {
    var el = document.querySelector("[data-broadcast]");
    el.textContent = text || ""; el.hidden = !text;
  }
  function onMessage(msg) {
    if (msg.type === "visit") { showStatus(msg.status, msg.html); reportMedia(); }
    else if (msg.type === "queue") onQueue(msg);
    else if (msg.type === "broadcast") setBroadcast(msg.message);
    else if (msg.type === "chat") {
      var log = document.querySelector("[data-chat-log]");
      log.appendChild(fragment(msg.html)); log.scrollTop = log.scrollHeight;
    }
  }

  // Activity (throttled to one message per 5 s) keeps an in-call patient from showing as away;
  // a hidden page sends none, so it counts as idle.
  function activity() {
    if (document.hidden || !socket) return;
    var now = Date.now();
    if (now - lastActivity < 5000) return;
    lastActivity = now;
    socket.send({type: "activity"});
  }
  ["pointermove", "keydown", "touchstart", "scroll", "click"].forEach(function (ev) { document.addEventListener(ev, activity, {passive: true}); });
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { lastActivity = 0; activity(); resync(); } });

  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (form.matches("[data-chat-form]")) {
      e.preventDefault();
      fetch(form.action, {method: "POST", body: new URLSearchParams(new FormData(form)), credentials: "same-origin", headers: {"X-CSRFToken": csrf()}})
        .then(function (r) { return r.json(); }).then(function (data) {
          document.querySelector("[data-chat-error]").textContent = data.ok ? "" : data.error;
          if (data.ok) form.reset();
        });
    } else if (form.matches("[data-leave-form]") && !confirm("Leave the waiting room? You will lose your place.")) {
      e.preventDefault();
    }
  });

  if (CLOSED.indexOf(body.dataset.status) < 0) {
    socket = window.patientSocket = LiveSocket.connect(body.dataset.socketUrl, {onOpen: resync, onMessage: onMessage});
    checkDevices();
  } else {
    showStatus(body.dataset.status, panel.innerHTML);
  }
})();
