/* The staff dashboard. Cards arrive as HTML rendered by the server's one card renderer (visits/cards.py); this file
 * only places them, keeps counts and timers, and turns action forms into fetch POSTs. */
(function () {
  "use strict";
  var body = document.body, board = document.querySelector("[data-board]");
  if (!board) return;
  var user = body.dataset.user, clinic = body.dataset.clinic;
  var AMBER = Number(body.dataset.amber) * 60, RED = Number(body.dataset.red) * 60;
  var baseTitle = document.title, drawer = document.querySelector("[data-chat-drawer]");
  var toastEl = document.querySelector("[data-toast]");
  var prefix = "wr:" + user + ":" + clinic + ":";

  // A card is the same HTML on every dashboard; it lists who is in its call (data-call-staff), and
  // this rule hides Join call from them on every card this page ever shows (the server refuses it).
  var joinRule = document.createElement("style");
  joinRule.textContent = "[data-call-staff~='" + CSS.escape(body.dataset.userId) + "'] form[data-action='call'] { display: none; }";
  document.head.appendChild(joinRule);

  // Cards pushed over the socket are rendered without a request, so they carry no CSRF input: the
  // page's token (in <meta>) goes in the header, and forms are posted URL-encoded.
  function csrf() { return document.querySelector("meta[name=csrf-token]").content; }
  function fragment(html) { var t = document.createElement("template"); t.innerHTML = html.trim(); return t.content.firstElementChild; }
  function toast(text) { toastEl.textContent = text; toastEl.hidden = false; clearTimeout(toast.t); toast.t = setTimeout(function () { toastEl.hidden = true; }, 6000); }

  function post(url, form) {
    return fetch(url, {method: "POST", body: new URLSearchParams(new FormData(form)), credentials: "same-origin",
                       headers: {"Accept": "application/json", "X-CSRFToken": csrf()}})
      .then(function (r) { return r.json().catch(function () { return {ok: false, error: "The server could not do that (" + r.status + ")."}; }); });
  }

  // --- Sections: expand/collapse remembered per person, counts, tab title -----------------------
  function applyExpanded() {
    board.querySelectorAll("details[data-phase]").forEach(function (d) {
      var saved = localStorage.getItem(prefix + "phase:" + d.dataset.phase);
      if (saved !== null) d.open = saved === "open";
      d.addEventListener("toggle", function () { localStorage.setItem(prefix + "phase:" + d.dataset.phase, d.open ? "open" : "closed"); });
    });
  }
  function refreshCounts() {
    board.querySelectorAll("details[data-phase]").forEach(function (d) {
      var n = d.querySelectorAll(".cards > [data-visit]").length;
      d.querySelector("[data-count]").textContent = n;
      d.classList.toggle("is-empty", n === 0);
    });
    var waiting = board.querySelectorAll("[data-visit][data-status='waiting']").length;
    document.title = (waiting ? "(" + waiting + " waiting) " : "") + baseTitle;
  }

  function placeCard(visitId, phase, html) {
    var old = board.querySelector("[data-visit='" + visitId + "']");
    if (old) old.remove();
    if (html) {
      var card = fragment(html), list = board.querySelector("details[data-phase='" + phase + "'] .cards");
      if (list) {
        var key = Number(card.dataset.arrived), next = null;
        list.querySelectorAll("[data-visit]").forEach(function (other) {
          if (!next && (Number(other.dataset.arrived) > key || (Number(other.dataset.arrived) === key && Number(other.dataset.visit) > Number(visitId)))) next = other;
        });
        list.insertBefore(card, next);
      }
    }
    refreshCounts();
    tick();
  }

  // --- Ticking time and wait colours --------------------------------------------------------------
  function fmt(s) {
    s = Math.max(0, Math.floor(s));
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    return (h ? h + ":" + String(m).padStart(2, "0") : m) + ":" + String(sec).padStart(2, "0");
  }
  function tick() {
    var now = Date.now() / 1000;
    board.querySelectorAll("[data-visit]").forEach(function (card) {
      var elapsed = now - Number(card.dataset.since);
      card.querySelector("[data-elapsed]").textContent = fmt(elapsed);
      var waitingPhase = card.dataset.phase === "ready" || card.dataset.phase === "getting_ready";
      card.classList.toggle("wait-red", waitingPhase && elapsed >= RED);
      card.classList.toggle("wait-amber", waitingPhase && elapsed >= AMBER && elapsed < RED);
    });
  }
  setInterval(tick, 1000);

  // --- Alerts: sound (mutable), desktop notification ---------------------------------------------
  var muteBtn = document.querySelector("[data-mute]"), audio = null;
  function muted() { return localStorage.getItem(prefix + "muted") === "1"; }
  function showMute() { muteBtn.textContent = muted() ? "Sound off" : "Sound on"; muteBtn.setAttribute("aria-pressed", muted()); }
  muteBtn.addEventListener("click", function () { localStorage.setItem(prefix + "muted", muted() ? "0" : "1"); showMute(); });
  showMute();
  function chime() {
    if (muted()) return;
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var osc = audio.createOscillator(), gain = audio.createGain();
      osc.frequency.value = 880; gain.gain.value = 0.15;
      osc.connect(gain); gain.connect(audio.destination);
      osc.start(); osc.stop(audio.currentTime + 0.25);
      body.dataset.lastChime = String(Date.now());
    } catch (e) { /* no audio device: the title and notification still alert */ }
  }
  document.querySelector("[data-notify]").addEventListener("click", function () {
    if ("Notification" in window) Notification.requestPermission();
  });
  function alertReady(card) {
    chime();
    var name = card ? card.querySelector(".patient-name").textContent : "A patient";
    if ("Notification" in window && Notification.permission === "granted") new Notification("Patient ready", {body: name + " is ready for their visit"});
  }

  // --- Actions, chat, broadcast ------------------------------------------------------------------
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (form.matches("form[data-action]")) {
      e.preventDefault();
      if (form.dataset.action === "cancel" && !confirm("Cancel this visit?")) return;
      if (form.dataset.action === "end" && !confirm("End this visit?")) return;
      post(form.action, form).then(function (data) {
        if (!data.ok) { toast(data.error); return; }
        placeCard(data.visit_id, data.phase, data.html);
        if (data.room_url) openCall(data.room_url);
      });
    } else if (form.matches("[data-chat-form]")) {
      e.preventDefault();
      post(form.action, form).then(function (data) {
        drawer.querySelector("[data-chat-error]").textContent = data.ok ? "" : data.error;
        if (data.ok) form.reset();
      });
    } else if (form.matches("[data-broadcast-form]")) {
      e.preventDefault();
      post(form.action, form).then(function (data) { toast(data.ok ? (data.message ? "Posted to everyone waiting." : "Message cleared.") : data.error); });
    }
  });
  document.addEventListener("click", function (e) {
    var open = e.target.closest("[data-chat-open]");
    if (open) {
      fetch(open.dataset.chatOpen, {credentials: "same-origin"}).then(function (r) { return r.text(); }).then(function (html) {
        drawer.innerHTML = html; drawer.hidden = false;
        var log = drawer.querySelector("[data-chat-log]"); log.scrollTop = log.scrollHeight;
        drawer.querySelector("input[name=body]").focus();
      });
    }
    if (e.target.closest("[data-chat-close]")) { drawer.hidden = true; drawer.innerHTML = ""; }
  });

  // --- Device check before a first call -----------------------------------------------------------
  var checkPanel = document.querySelector("[data-staff-devices]"), checkDevices = null;
  document.querySelector("[data-device-check-open]").addEventListener("click", function () {
    checkPanel.hidden = false;
    checkDevices = checkDevices || new Call.Devices(checkPanel.querySelector("[data-device-check]"));
    checkDevices.start().catch(function () {});
  });
  checkPanel.querySelector("[data-device-check-close]").addEventListener("click", function () {
    if (checkDevices) checkDevices.stop();
    checkPanel.hidden = true;
  });

  // --- The staff side of a call --------------------------------------------------------------------
  var callHost = document.querySelector("[data-call-host]"), call = null;
  function closeCall() {
    if (!call) return;
    call.mesh.hangup(); call.socket.close(); call.devices.stop();
    call = window.staffCall = null;
    callHost.innerHTML = "";
    body.classList.remove("has-call");
  }
  function openCall(url) {
    closeCall();
    fetch(url, {credentials: "same-origin"}).then(function (r) { return r.text(); }).then(function (html) {
      callHost.innerHTML = html;
      body.classList.add("has-call");  // the board moves aside for the call panel
      var root = callHost.querySelector("[data-staff-call]"), box = root.querySelector("[data-call]");
      var devices = new Call.Devices(root.querySelector("[data-device-check]"));
      return devices.start().then(function () {
        var mesh = new Call.MeshCall({
          send: function (m) { return call && call.socket.send(m); }, selfId: root.dataset.self,
          stream: function () { return devices.stream; },
          iceServers: JSON.parse(root.querySelector("#ice-servers-staff").textContent),
          container: box.querySelector("[data-remote-videos]"),
          onFailed: function () { box.querySelector("[data-call-error]").hidden = false; },
          onQuality: function (label) { box.querySelector("[data-quality]").textContent = label; }
        });
        devices.onChange = function (stream) { mesh.replaceStream(stream); };
        box.hidden = false;
        call = window.staffCall = {mesh: mesh, devices: devices, visit: root.dataset.visit};
        call.socket = LiveSocket.connect(root.dataset.callSocket, {
          trackState: false,
          onOpen: function () { mesh.restart(); },  // (re)joined: fresh connections with everyone
          onMessage: function (msg) {
            if (msg.type === "visit") { if (["in_call", "away"].indexOf(msg.status) < 0) closeCall(); }
            else mesh.handle(msg);
          },
          onRefused: closeCall
        });
        box.querySelector("[data-call-retry]").addEventListener("click", function () { box.querySelector("[data-call-error]").hidden = true; mesh.restart(); });
        box.querySelector("[data-toggle-mic]").addEventListener("click", function (e) { Call.toggleTrack(devices.stream, "audio", e.target, "Mute", "Unmute"); });
        box.querySelector("[data-toggle-camera]").addEventListener("click", function (e) { Call.toggleTrack(devices.stream, "video", e.target, "Camera off", "Camera on"); });
        function act(urlAttr) {
          mesh.hangup();  // say bye while the call socket is still open
          fetch(root.dataset[urlAttr], {method: "POST", credentials: "same-origin", headers: {"Accept": "application/json", "X-CSRFToken": csrf()}})
            .then(function (r) { return r.json(); }).then(function (data) {
              if (!data.ok) { toast(data.error); return; }
              placeCard(data.visit_id, data.phase, data.html); closeCall();
            });
        }
        root.querySelector("[data-call-leave]").addEventListener("click", function () { act("leaveUrl"); });
        root.querySelector("[data-call-end]").addEventListener("click", function () { if (confirm("End this visit?")) act("endUrl"); });
      });
    }).catch(function () { toast("Couldn't start your camera and microphone for the call."); });
  }

  // --- Live updates ------------------------------------------------------------------------------
  // Card pushes that arrive while the board is re-fetched are newer than what the answer may hold
  // (it can be read before they were sent): they are kept and put back on the fresh board.
  var pending = null;
  function resync() {
    pending = [];
    return fetch(body.dataset.boardUrl, {credentials: "same-origin"}).then(function (r) {
      if (!r.ok) throw new Error(r.status);
      return r.text();
    }).then(function (html) {
      var newer = pending || [];
      pending = null;
      board.innerHTML = html; applyExpanded();
      newer.forEach(function (msg) { placeCard(msg.visit_id, msg.phase, msg.html); });
      refreshCounts(); tick();
      document.dispatchEvent(new CustomEvent("wr:panel", {detail: {panel: "*"}}));
    }, function (error) { pending = null; throw error; });
  }
  function onMessage(msg) {
    if (msg.type === "visit") {
      if (pending) pending.push(msg);
      placeCard(msg.visit_id, msg.phase, msg.html);
      if (msg.alert) alertReady(board.querySelector("[data-visit='" + msg.visit_id + "']"));
      if (!msg.html && drawer.querySelector("[data-chat-visit='" + msg.visit_id + "']")) { drawer.hidden = true; drawer.innerHTML = ""; }
    } else if (msg.type === "chat") {
      var panel = drawer.querySelector("[data-chat-visit='" + msg.visit_id + "']");
      if (panel) {
        var log = panel.querySelector("[data-chat-log]");
        log.appendChild(fragment(msg.html)); log.scrollTop = log.scrollHeight;
        if (msg.sender === "patient") fetch(panel.closest("aside").querySelector("[data-chat-form]").action, {credentials: "same-origin"});
      }
    } else if (msg.type === "broadcast") {
      document.querySelector("#broadcast").value = msg.message;
    } else if (msg.type === "panel") {
      // Panels of other apps (appointment requests) re-fetch themselves: see waitingroom/panels.js.
      document.dispatchEvent(new CustomEvent("wr:panel", {detail: {panel: msg.panel}}));
    }
  }
  applyExpanded();
  refreshCounts();
  tick();
  // Pushes are hints: after every (re)connection the board is re-fetched, so nothing missed while
  // the socket was down stays missed.
  window.dashboardSocket = LiveSocket.connect(body.dataset.socketUrl, {onOpen: resync, onMessage: onMessage});
  // Arrived from "Enter room" on the meetings overview: the host is already in the call.
  if (body.dataset.openRoom) openCall(body.dataset.openRoom);
})();
