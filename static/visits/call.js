/* Video calls: a WebRTC mesh between the patient and up to two staff members, signalled through
 * the visit's socket. Whoever is already in the call offers to a peer that says hello, so two
 * peers never offer to each other at once. Also the device check (preview, level meter, choice of
 * camera and microphone) used before and during a call. */
var CONNECT_TIMEOUT_MS = 20000;

// --- Device check --------------------------------------------------------------------------------
// getUserMedia's errors in plain words (never the raw name): what happened and what to do.
var MEDIA_ERRORS = {
  NotAllowedError: "Your browser is blocking the camera and microphone for this page. The steps below unblock them.",
  SecurityError: "Your browser is blocking the camera and microphone for this page. The steps below unblock them.",
  NotFoundError: "We couldn't find a camera or microphone. Connect one, or open this page on a phone.",
  NotReadableError: "Another app is using your camera or microphone. Close other video or camera apps, then try again.",
  AbortError: "Another app is using your camera or microphone. Close other video or camera apps, then try again.",
  OverconstrainedError: "The camera or microphone you chose isn't available any more. Try again to use another one.",
  unsupported: "This browser can't make video calls. Please open this page in Chrome, Safari, Edge or Firefox."
};
var KEEP_PLACE = " You keep your place in line.";

/* Which steps unblock the camera on this device, from its user agent (iPads may say Macintosh,
 * but have a touch screen). */
function platformOf(ua, touch) {
  if (/iPhone|iPad|iPod/.test(ua) || (/Macintosh/.test(ua) && touch)) return "ios";
  if (/Android/.test(ua)) return "android";
  if (/Macintosh/.test(ua) && /Safari/.test(ua) && !/Chrome|Chromium|Edg|Firefox/.test(ua)) return "mac-safari";
  return "desktop";
}

function Devices(root) {
  this.root = root; this.stream = null; this.meterTimer = null; this.audioCtx = null; this.audioOnly = false;
  this.video = root.querySelector("[data-preview]");
  this.meter = root.querySelector("[data-meter] span");
  this.cameraSelect = root.querySelector("[data-camera]");
  this.micSelect = root.querySelector("[data-mic]");
  this.result = root.querySelector("[data-device-result]");
  this.help = root.querySelector("[data-device-help]");
  this.audioOffer = root.querySelector("[data-audio-only-offer]");
  var self = this;
  [this.cameraSelect, this.micSelect].forEach(function (sel) {
    if (sel) sel.addEventListener("change", function () { self.start(); });
  });
}
Devices.prototype.start = function () {
  var self = this, constraints = {
    video: this.audioOnly ? false : this.cameraSelect && this.cameraSelect.value ? {deviceId: {exact: this.cameraSelect.value}} : true,
    audio: this.micSelect && this.micSelect.value ? {deviceId: {exact: this.micSelect.value}} : true
  };
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    var unsupported = new Error("unsupported"); unsupported.name = "unsupported";
    this.explain(unsupported);
    return Promise.reject(unsupported);
  }
  return navigator.mediaDevices.getUserMedia(constraints).then(function (stream) {
    var old = self.stream;
    self.stream = stream;
    if (self.video) { self.video.srcObject = stream; self.root.querySelector("[data-preview-wrap]").hidden = self.audioOnly; }
    if (self.help) self.help.hidden = true;
    if (self.audioOffer) self.audioOffer.hidden = true;
    self.listDevices(); self.watchLevel();
    if (self.result) self.result.textContent = self.audioOnly ? "Your microphone is working. The clinic will hear you but not see you." : "Camera and microphone are working.";
    if (self.onChange && old) self.onChange(stream);
    if (old) old.getTracks().forEach(function (t) { t.stop(); });
    return stream;
  }, function (err) {
    self.explain(err);
    throw err;
  });
};
// What went wrong, in words, with the steps for this device and, if the microphone alone works,
// the offer to go on with audio only.
Devices.prototype.explain = function (err) {
  var name = err && MEDIA_ERRORS[err.name] ? err.name : "NotReadableError", self = this;
  if (name === "OverconstrainedError") [this.cameraSelect, this.micSelect].forEach(function (sel) { if (sel) sel.value = ""; });
  // A patient keeps their place in line; a call guest (visits/guest.js) has none: afterError "".
  if (this.result) this.result.textContent = MEDIA_ERRORS[name] + (this.afterError === undefined ? KEEP_PLACE : this.afterError);
  if (this.help) {
    var platform = platformOf(navigator.userAgent, navigator.maxTouchPoints > 1);
    this.help.querySelectorAll("[data-howto]").forEach(function (ol) { ol.hidden = ol.dataset.howto !== platform; });
    this.help.hidden = name !== "NotAllowedError" && name !== "SecurityError";
  }
  this.root.querySelectorAll("[data-picker]").forEach(function (p) { if (!p.querySelector("option")) p.hidden = true; });
  if (!this.audioOffer || this.audioOnly || name === "unsupported") return;
  navigator.mediaDevices.getUserMedia({audio: true}).then(function (probe) {
    probe.getTracks().forEach(function (t) { t.stop(); });
    self.audioOffer.hidden = false;
  }, function () { self.audioOffer.hidden = true; });
};
Devices.prototype.listDevices = function () {
  var self = this;
  navigator.mediaDevices.enumerateDevices().then(function (devices) {
    [["videoinput", self.cameraSelect, "video"], ["audioinput", self.micSelect, "audio"]].forEach(function (spec) {
      var sel = spec[1]; if (!sel) return;
      var current = self.stream.getTracks().filter(function (t) { return t.kind === spec[2]; })[0];
      var currentId = current && current.getSettings().deviceId;
      sel.innerHTML = "";
      devices.filter(function (d) { return d.kind === spec[0] && d.deviceId; }).forEach(function (d, i) {
        var o = document.createElement("option");
        o.value = d.deviceId; o.textContent = d.label || (spec[2] === "video" ? "Camera " : "Microphone ") + (i + 1);
        if (d.deviceId === currentId) o.selected = true;
        sel.appendChild(o);
      });
      // No device of this kind (or audio only): no empty picker.
      var picker = sel.closest("[data-picker]");
      if (picker) picker.hidden = !sel.options.length || (spec[2] === "video" && self.audioOnly);
    });
  });
};
Devices.prototype.watchLevel = function () {
  var self = this;
  if (!this.meter) return;
  try {
    this.audioCtx = this.audioCtx || new (window.AudioContext || window.webkitAudioContext)();
    var analyser = this.audioCtx.createAnalyser(), data = new Uint8Array(256);
    analyser.fftSize = 512;
    this.audioCtx.createMediaStreamSource(this.stream).connect(analyser);
    clearInterval(this.meterTimer);
    this.meterTimer = setInterval(function () {
      analyser.getByteTimeDomainData(data);
      var peak = 0; for (var i = 0; i < data.length; i++) peak = Math.max(peak, Math.abs(data[i] - 128));
      self.meter.style.width = Math.min(100, Math.round(peak / 128 * 200)) + "%";
      self.root.dataset.micLevel = peak;
    }, 100);
  } catch { /* no audio processing available: the meter stays still */ }
};
Devices.prototype.stop = function () {
  clearInterval(this.meterTimer);
  if (this.stream) this.stream.getTracks().forEach(function (t) { t.stop(); });
};

// --- The mesh -----------------------------------------------------------------------------------
function MeshCall(opts) {
  // opts: send(obj), selfId, stream(), iceServers, container, onFailed(reason), onQuality(label),
  // nameOf(peerId) (the name shown on that peer's video), selfView (a <video> for one's own camera)
  this.o = opts; this.peers = {}; this.failedReported = false;
  var self = this;
  this.showSelf();
  this.statsTimer = setInterval(function () { self.measure(); }, 2000);
}
MeshCall.prototype.hello = function () { this.o.send({type: "hello"}); };
// A peer said hello (offer to them) or bye.
MeshCall.prototype.onPeer = function (msg) {
  if (msg.event === "hello") this.offerTo(msg.from);
  else if (msg.event === "bye") this.drop(msg.from);
};
MeshCall.prototype.signal = function (to, data) { this.o.send({type: "signal", to: to, data: data}); };
MeshCall.prototype.peer = function (id, offerer) {
  var self = this, pc = new RTCPeerConnection({iceServers: this.o.iceServers || []});
  var p = {id: id, pc: pc, offerer: offerer, pending: [], restarted: false};
  this.o.stream().getTracks().forEach(function (t) { pc.addTrack(t, self.o.stream()); });
  pc.onicecandidate = function (e) { self.signal(id, {candidate: e.candidate ? e.candidate.toJSON() : null}); };
  pc.ontrack = function (e) { self.attach(id, e.streams[0]); };
  pc.oniceconnectionstatechange = function () {
    var s = pc.iceConnectionState;
    self.o.container.dataset.ice = s;
    if (s === "connected" || s === "completed") { clearTimeout(p.timer); p.restarted = false; }
    if (s === "failed" || s === "disconnected") self.recover(p);
  };
  p.timer = setTimeout(function () {
    if (pc.iceConnectionState !== "connected" && pc.iceConnectionState !== "completed") self.fail("no connection after 20 s");
  }, CONNECT_TIMEOUT_MS);
  this.peers[id] = p;
  return p;
};
MeshCall.prototype.offerTo = function (id) {
  var self = this;
  this.drop(id);
  var p = this.peer(id, true);
  p.pc.createOffer().then(function (o) { return p.pc.setLocalDescription(o); })
    .then(function () { self.signal(id, {sdp: p.pc.localDescription.toJSON()}); });
};
// After a network change the offerer restarts ICE once; if that fails too, the call has failed.
MeshCall.prototype.recover = function (p) {
  var self = this;
  setTimeout(function () {
    var s = p.pc.iceConnectionState;
    if (s === "connected" || s === "completed" || self.peers[p.id] !== p) return;
    if (p.offerer && !p.restarted) {
      p.restarted = true;
      p.pc.createOffer({iceRestart: true}).then(function (o) { return p.pc.setLocalDescription(o); })
        .then(function () { self.signal(p.id, {sdp: p.pc.localDescription.toJSON()}); });
    } else if (s === "failed") self.fail("connection failed");
  }, p.pc.iceConnectionState === "failed" ? 0 : 4000);
};
MeshCall.prototype.onSignal = function (from, data) {
  var self = this, p = this.peers[from];
  if (data.sdp && data.sdp.type === "offer") {
    // Both sides offered at once (each said hello as the other joined): the lower id keeps its
    // offer and ignores the other's; the higher id drops its own and answers.
    if (p && p.offerer && p.pc.signalingState === "have-local-offer" && this.o.selfId < from) return;
    if (!p || p.offerer) { this.drop(from); p = this.peer(from, false); }
    p.pc.setRemoteDescription(data.sdp).then(function () { self.flush(p); return p.pc.createAnswer(); })
      .then(function (a) { return p.pc.setLocalDescription(a); })
      .then(function () { self.signal(from, {sdp: p.pc.localDescription.toJSON()}); });
  } else if (data.sdp && data.sdp.type === "answer" && p) {
    p.pc.setRemoteDescription(data.sdp).then(function () { self.flush(p); });
  } else if ("candidate" in data && p && data.candidate) {
    if (p.pc.remoteDescription) p.pc.addIceCandidate(data.candidate).catch(function () {});
    else p.pending.push(data.candidate);
  }
};
MeshCall.prototype.flush = function (p) {
  p.pending.splice(0).forEach(function (c) { p.pc.addIceCandidate(c).catch(function () {}); });
};
MeshCall.prototype.showSelf = function () {
  var view = this.o.selfView, stream = this.o.stream();
  if (view && stream && view.srcObject !== stream) view.srcObject = stream;
};
// Each peer's video is a figure captioned with their name, so everyone sees who is who.
MeshCall.prototype.attach = function (id, stream) {
  var box = this.o.container, video = box.querySelector("video[data-remote='" + id + "']");
  if (!video) {
    var figure = document.createElement("figure"), caption = document.createElement("figcaption");
    figure.className = "peer"; figure.dataset.peer = id;
    video = document.createElement("video");
    video.dataset.remote = id; video.autoplay = true; video.playsInline = true;
    figure.append(video, caption);
    box.appendChild(figure);
    this.rename(figure);
  }
  if (video.srcObject !== stream) video.srcObject = stream;
  video.play().catch(function () {
    // Autoplay with sound needs a tap in some browsers.
    var btn = box.parentNode.querySelector("[data-tap-to-play]");
    if (btn) { btn.hidden = false; btn.onclick = function () { box.querySelectorAll("video").forEach(function (v) { v.play(); }); btn.hidden = true; }; }
  });
};
// A figure's caption from nameOf, again whenever the names may have changed (someone joined).
MeshCall.prototype.rename = function (figure) {
  var caption = figure.querySelector("figcaption");
  caption.textContent = (this.o.nameOf && this.o.nameOf(figure.dataset.peer)) || "";
  caption.hidden = !caption.textContent;
};
MeshCall.prototype.renameAll = function () {
  this.o.container.querySelectorAll("figure[data-peer]").forEach(this.rename, this);
};
MeshCall.prototype.drop = function (id) {
  var p = this.peers[id];
  if (!p) return;
  clearTimeout(p.timer); p.pc.close(); delete this.peers[id];
  var figure = this.o.container.querySelector("[data-peer='" + id + "']");
  if (figure) figure.remove();
};
MeshCall.prototype.replaceStream = function (stream) {
  this.showSelf();
  Object.keys(this.peers).forEach(function (id) {
    this.peers[id].pc.getSenders().forEach(function (sender) {
      var track = stream.getTracks().filter(function (t) { return sender.track && t.kind === sender.track.kind; })[0];
      if (track) sender.replaceTrack(track);
    });
  }, this);
};
MeshCall.prototype.fail = function (reason) {
  if (this.failedReported) return;
  this.failedReported = true;
  this.o.send({type: "call_failed", reason: reason});
  if (this.o.onFailed) this.o.onFailed(reason);
};
// Retry after a failure, or rejoin after the socket reconnected: fresh connections for everyone.
MeshCall.prototype.restart = function () {
  Object.keys(this.peers).forEach(this.drop, this);
  this.failedReported = false;
  this.hello();
};
MeshCall.prototype.hangup = function () {
  this.o.send({type: "bye"});
  Object.keys(this.peers).forEach(this.drop, this);
  clearInterval(this.statsTimer);
};
MeshCall.prototype.measure = function () {
  var self = this, ids = Object.keys(this.peers);
  if (!ids.length || !this.o.onQuality) return;
  var worst = "good";
  Promise.all(ids.map(function (id) { return self.peers[id].pc.getStats(); })).then(function (reports) {
    reports.forEach(function (stats) {
      var rtt = 0, lost = 0, received = 0;
      stats.forEach(function (r) {
        if (r.type === "candidate-pair" && r.nominated && r.currentRoundTripTime) rtt = r.currentRoundTripTime;
        if (r.type === "inbound-rtp") { lost += r.packetsLost || 0; received += r.packetsReceived || 0; }
      });
      var loss = received ? lost / (lost + received) : 0;
      var label = rtt < 0.3 && loss < 0.02 ? "good" : rtt < 0.6 && loss < 0.08 ? "fair" : "poor";
      if (label === "poor" || (label === "fair" && worst === "good")) worst = label;
    });
    self.o.onQuality(worst);
  });
};
function toggleTrack(stream, kind, button, onText, offText) {
  var track = stream.getTracks().filter(function (t) { return t.kind === kind; })[0];
  if (!track) return;
  track.enabled = !track.enabled;
  button.textContent = track.enabled ? onText : offText;
  button.setAttribute("aria-pressed", String(!track.enabled));
}

/* The call's signalling arrives on `live` (the patient's socket or a staff member's call socket)
 * for whichever mesh `current()` returns, if any. */
function routeSignalling(live, current) {
  live.on("peer", function (msg) { var mesh = current(); if (mesh) mesh.onPeer(msg); });
  live.on("signal", function (msg) { var mesh = current(); if (mesh) mesh.onSignal(msg.from, msg.data); });
}

/* The buttons of a call panel `box` (retry, microphone, camera), for the mesh `current()` returns. */
function wireCallControls(box, current, devices) {
  box.querySelector("[data-call-retry]").addEventListener("click", function () {
    box.querySelector("[data-call-error]").hidden = true;
    var mesh = current();
    if (mesh) mesh.restart();
  });
  box.querySelector("[data-toggle-mic]").addEventListener("click", function (e) { toggleTrack(devices.stream, "audio", e.target, "Mute", "Unmute"); });
  box.querySelector("[data-toggle-camera]").addEventListener("click", function (e) { toggleTrack(devices.stream, "video", e.target, "Camera off", "Camera on"); });
}

/* Devices on the call bar: the camera and microphone pickers open over the call as a sheet (app.css
 * "Call screen: devices"); a choice replaces the tracks the call sends (devices.onChange), with no
 * new offer. Done, Escape or Devices again close them, and focus goes back to Devices. Returns
 * close(), for leaving the call. */
function wireDevicesSheet(callBox, deviceCheck) {
  const body = document.body;
  const button = callBox.querySelector("[data-call-devices]");
  const done = deviceCheck.querySelector("[data-devices-close]");
  function show(open) {
    body.classList.toggle("devices-open", open);
    button.setAttribute("aria-expanded", String(open));
    done.hidden = !open;
    if (open) (deviceCheck.querySelector("[data-picker]:not([hidden]) select") || done).focus();
    else if (body.classList.contains("in-call")) button.focus();
  }
  button.addEventListener("click", () => show(!body.classList.contains("devices-open")));
  done.addEventListener("click", () => show(false));
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && body.classList.contains("devices-open")) show(false);
  });
  return function close() {
    body.classList.remove("devices-open");
    button.setAttribute("aria-expanded", "false");
    done.hidden = true;
  };
}

/* The words a page says when its call socket was closed because the same peer opened the call in
 * another tab (4409, closeCodes.takenOver: a staff member's Return to call, a guest's link opened
 * again): the newest tab holds the call, this one must not reconnect (docs/realtime.md). */
const CALL_MOVED = "This call continued in another tab.";

export {CALL_MOVED, Devices, MeshCall, routeSignalling, wireCallControls, wireDevicesSheet};
