/* The patient's wait screen: device check, presence and activity over the socket, live status,
 * queue position, broadcast and chat. Status fragments come from the server's one template. */
(function () {
  "use strict";
  var body = document.body, panel = document.querySelector("[data-status-panel]");
  var myId = Number(body.dataset.visit), myArrived = Number(body.dataset.arrived);
  var CLOSED = ["completed", "cancelled", "expired", "left"];
  var IN_PROGRESS = ["in_call", "away", "available"];
  var mediaOk = null, lastActivity = 0, socket = null, mesh = null, checkReported = false;
  var devices = new Call.Devices(document.querySelector("[data-device-check]"));
  var callBox = document.querySelector("[data-call]");
  devices.onChange = function (stream) { if (mesh) mesh.replaceStream(stream); };

  // Cards pushed over the socket are rendered without a request, so they carry no CSRF input: the
  // page's token (in <meta>) goes in the header, and forms are posted URL-encoded.
  function csrf() { return document.querySelector("meta[name=csrf-token]").content; }
  function fragment(html) { var t = document.createElement("template"); t.innerHTML = html.trim(); return t.content.firstElementChild; }

  var shownHtml = null;
  function showStatus(status, html) {
    body.dataset.status = status;
    // A push and a re-fetch often bring the same panel: skip it, and never wipe what the patient
    // is typing (a code, a phone number) when the panel does change.
    if (html !== shownHtml) {
      shownHtml = html;
      var typed = {}, focused = document.activeElement && panel.contains(document.activeElement) ? document.activeElement.name : null;
      panel.querySelectorAll("input[name]").forEach(function (i) { typed[i.name] = i.value; });
      panel.innerHTML = html;
      panel.querySelectorAll("input[name]").forEach(function (i) {
        if (typed[i.name] && !i.value) i.value = typed[i.name];
        if (i.name === focused) i.focus();
      });
    }
    var retry = panel.querySelector("[data-media-retry]");
    if (retry) retry.addEventListener("click", checkDevices);
    if (IN_PROGRESS.indexOf(status) >= 0) enterCall(); else leaveCall();
    if (CLOSED.indexOf(status) >= 0) {
      devices.stop();
      document.querySelector("[data-device-check]").hidden = true;
      document.querySelectorAll("[data-chat-form], [data-leave-form]").forEach(function (f) { f.hidden = true; });
      if (socket) socket.close();
    }
  }

  // --- Device check ------------------------------------------------------------------------------
  function gettingReady() { return body.dataset.status === "connecting" || body.dataset.status === "media_blocked"; }
  function reportMedia() {
    if (!socket || !gettingReady()) return;
    if (!checkReported && socket.send({type: "media_check", state: "started"})) checkReported = true;
    if (mediaOk !== null) socket.send({type: "media", ok: mediaOk});
  }
  function checkDevices() {
    mediaOk = null; checkReported = false; reportMedia();
    devices.start().then(function () {
      mediaOk = true; reportMedia();
      if (IN_PROGRESS.indexOf(body.dataset.status) >= 0) enterCall();  // reopened during a call
    }, function () { mediaOk = false; reportMedia(); });
  }

  // --- The call ----------------------------------------------------------------------------------
  function enterCall() {
    callBox.hidden = false;
    // "available": every staff member has left the call, so no connection is left to keep.
    if (mesh && body.dataset.status === "available") Object.keys(mesh.peers).forEach(mesh.drop, mesh);
    if (mesh || !devices.stream || !socket) return;
    mesh = window.patientCall = new Call.MeshCall({
      send: function (m) { return socket.send(m); }, selfId: "patient", stream: function () { return devices.stream; },
      iceServers: JSON.parse(document.getElementById("ice-servers").textContent),
      container: callBox.querySelector("[data-remote-videos]"),
      onFailed: function () { callBox.querySelector("[data-call-error]").hidden = false; },
      onQuality: function (label) { callBox.querySelector("[data-quality]").textContent = label; }
    });
    mesh.hello();
  }
  function leaveCall() {
    if (mesh) { mesh.hangup(); mesh = window.patientCall = null; }
    callBox.hidden = true;
  }
  callBox.querySelector("[data-call-retry]").addEventListener("click", function () {
    callBox.querySelector("[data-call-error]").hidden = true; if (mesh) mesh.restart();
  });
  // Hanging up ends the patient's visit (the same as Leave, which asks first).
  callBox.querySelector("[data-hangup]").addEventListener("click", function () {
    document.querySelector("[data-leave-form]").requestSubmit();
  });
  callBox.querySelector("[data-toggle-mic]").addEventListener("click", function (e) { Call.toggleTrack(devices.stream, "audio", e.target, "Mute", "Unmute"); });
  callBox.querySelector("[data-toggle-camera]").addEventListener("click", function (e) { Call.toggleTrack(devices.stream, "video", e.target, "Camera off", "Camera on"); });

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
  // Pushes counted, so that a re-fetch answered after a push does not put back the older state:
  // the server changes the visit right after this socket opens (coming back from offline, say),
  // and that push can arrive before the answer to the re-fetch sent on open.
  var pushes = {visit: 0, broadcast: 0};
  function resync(wasReconnect) {
    // After a socket reconnection the call's connections are made afresh (an ICE restart).
    if (wasReconnect && mesh) mesh.restart();
    var seen = {visit: pushes.visit, broadcast: pushes.broadcast};
    return fetch(body.dataset.stateUrl, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (s) {
      if (pushes.visit === seen.visit) showStatus(s.status, s.html);
      if (pushes.broadcast === seen.broadcast) setBroadcast(s.broadcast);
      reportMedia();
    });
  }
  function setBroadcast(text) {
    var el = document.querySelector("[data-broadcast]");
    el.textContent = text || ""; el.hidden = !text;
  }
  function onMessage(msg) {
    if (msg.type === "visit") { pushes.visit++; showStatus(msg.status, msg.html); reportMedia(); }
    else if (msg.type === "peer" || msg.type === "signal") { if (mesh) mesh.handle(msg); }
    else if (msg.type === "queue") onQueue(msg);
    else if (msg.type === "broadcast") { pushes.broadcast++; setBroadcast(msg.message); }
    else if (msg.type === "chat") {
      var log = document.querySelector("[data-chat-log]");
      log.appendChild(fragment(msg.html)); log.scrollTop = log.scrollHeight;
    }
  }

  // Activity (throttled to one message per 5 s) keeps an in-call patient from showing as away;
  // a hidden page sends none, so it counts as idle. It matters only in a call (the server ignores
  // it elsewhere), so a waiting patient's page sends none: thousands of waiting screens then cost
  // a ping each 25 s and nothing more.
  var ACTIVE_IN = ["in_call", "away"];
  function activity() {
    if (document.hidden || !socket || ACTIVE_IN.indexOf(body.dataset.status) < 0) return;
    var now = Date.now();
    if (now - lastActivity < 5000) return;
    lastActivity = now;
    socket.send({type: "activity"});
  }
  ["pointermove", "keydown", "touchstart", "scroll", "click"].forEach(function (ev) { document.addEventListener(ev, activity, {passive: true}); });
  // Hidden or shown again: a verified patient goes offline (keeping their place) and comes back.
  document.addEventListener("visibilitychange", function () {
    if (socket) socket.send({type: "visibility", hidden: document.hidden});
    if (!document.hidden) { lastActivity = 0; activity(); resync(); }
  });

  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (form.matches("[data-chat-form]")) {
      e.preventDefault();
      fetch(form.action, {method: "POST", body: new URLSearchParams(new FormData(form)), credentials: "same-origin", headers: {"X-CSRFToken": csrf()}})
        .then(function (r) { return r.json(); }).then(function (data) {
          document.querySelector("[data-chat-error]").textContent = data.ok ? "" : data.error;
          if (data.ok) form.reset();
        });
    } else if (form.matches("[data-json-form]")) {
      // Phone number and code: the server answers with an error or publishes the next step.
      e.preventDefault();
      fetch(form.action, {method: "POST", body: new URLSearchParams(new FormData(form)), credentials: "same-origin", headers: {"X-CSRFToken": csrf()}})
        .then(function (r) { return r.json(); }).then(function (data) {
          if (!data.ok) form.querySelector("[data-form-error]").textContent = data.error; else resync();
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
