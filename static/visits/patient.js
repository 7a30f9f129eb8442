/* The patient's wait screen: device check, presence and activity over the socket, live status,
 * queue position, broadcast and chat. Status fragments come from the server's one template;
 * which screen a status shows is the server's rule (lib/rules.js). */
import {statusChange} from "../waitingroom/lib/announce.js";
import {wireMuteButton} from "../waitingroom/lib/chime.js";
import {clock} from "../waitingroom/lib/format.js";
import {titleSays} from "../waitingroom/lib/title.js";
import {getJSON, post} from "../waitingroom/lib/http.js";
import {isClosed, isInCall, phaseOf, phases, screenOf} from "../waitingroom/lib/rules.js";
import {connect, markSocket} from "../waitingroom/lib/socket.js";
import {fragment, refetcher, swapInner} from "../waitingroom/lib/swap.js";
import {Devices, MeshCall, routeSignalling, wireCallControls, wireDevicesSheet} from "./call.js";

const body = document.body, panel = document.querySelector("[data-status-panel]");
const deviceCheck = document.querySelector("[data-device-check]");
const callBox = document.querySelector("[data-call]");
const CLOSED_LABEL = "Visit closed";
let mediaOk = null, lastActivity = 0, socket = null, mesh = null, checkReported = false;
const devices = new Devices(deviceCheck);
devices.onChange = (stream) => { if (mesh) mesh.replaceStream(stream); };
// Camera blocked but the microphone works: the visit goes on by voice.
deviceCheck.querySelector("[data-audio-only]")?.addEventListener("click", () => { devices.audioOnly = true; checkDevices(); });

let shownHtml = null, focusCall = false;
function showStatus(status, html) {
  body.dataset.status = status;
  // A push and a re-fetch often bring the same panel: skip it; a changed panel keeps what the
  // patient is typing (a code, a phone number).
  if (html !== shownHtml) {
    const before = panel.dataset.screen;
    const headingBefore = panel.querySelector("h2")?.textContent;
    shownHtml = html;
    swapInner(panel, html);
    panel.dataset.screen = screenOf(status);
    if (before) tellChange(before, headingBefore);
    else if (panel.querySelector("h2")) titleSays(panel.querySelector("h2").textContent);
    tickWaited();
  }
  const retry = panel.querySelector("[data-media-retry]");
  if (retry) retry.addEventListener("click", checkDevices);
  if (phaseOf(status) === phases.IN_PROGRESS) enterCall(); else leaveCall();
  if (mesh) mesh.renameAll();  // who is in the call may have changed: the captions follow
  if (focusCall && !callBox.hidden) { focusCall = false; callBox.focus(); }
  if (isClosed(status)) closeScreen();
}

/* A new screen (or a new heading on the same screen: recalled while the tab was hidden) is read
 * out, put in the tab's title and, when the clinic wants the patient now, chimed; a re-rendered
 * one is not. Being called is urgent and moves focus into the call screen (or the called heading). */
function tellChange(before, headingBefore) {
  const heading = panel.querySelector("h2"), screen = panel.dataset.screen;
  if (!heading || (before === screen && headingBefore === heading.textContent)) return;
  const lead = panel.querySelector("h2 + p");
  const words = heading.textContent + (lead ? ". " + lead.textContent.trim() : "");
  const called = panel.querySelector("[data-called-heading]");
  if (called && before === "stepped_out") {
    statusChange("Your provider is back.", {title: heading.textContent});
  } else if (called && before !== "reconnecting") {
    const text = screen === "call" ? "You're being called. Your visit is starting." : words;
    statusChange(text, {assertive: true, title: screen === "call" ? "You're being called" : heading.textContent, sound: true});
    // In a call the call screen covers the status panel: focus goes into the call once it shows.
    if (screen === "call") focusCall = true; else called.focus();
  } else {
    statusChange(words, {title: heading.textContent});
  }
}

// How long the patient has waited, from the visit's ready time the server rendered.
function tickWaited() {
  const el = panel.querySelector("[data-waited]");
  if (el) el.textContent = clock((Date.now() - Number(el.dataset.sinceMs)) / 1000);
}
setInterval(tickWaited, 1000);
wireMuteButton(document.querySelector("[data-chime-toggle]"));

// The visit is over: nothing left to check, say or connect to.
function closeScreen() {
  devices.stop();
  deviceCheck.hidden = true;
  document.querySelectorAll("[data-chat], [data-leave-form]").forEach((el) => { el.hidden = true; });
  if (socket) socket.close(CLOSED_LABEL); else markSocket("ended", CLOSED_LABEL);
}

// --- Device check ------------------------------------------------------------------------------
function reportMedia() {
  if (!socket || phaseOf(body.dataset.status) !== phases.GETTING_READY) return;
  if (!checkReported && socket.send({type: "media_check", state: "started"})) checkReported = true;
  if (mediaOk !== null) socket.send({type: "media", ok: mediaOk});
}
function checkDevices() {
  mediaOk = null; checkReported = false; reportMedia();
  devices.start().then(() => {
    mediaOk = true; reportMedia();
    if (phaseOf(body.dataset.status) === phases.IN_PROGRESS) enterCall();  // reopened during a call
  }, () => { mediaOk = false; reportMedia(); });
}

// --- The call ----------------------------------------------------------------------------------
// A staff member's name on their video: the status panel names each staff member in the call
// with their signalling peer id (visits/selectors.py patient_state), so every video gets its own.
function staffName(peerId) {
  for (const el of panel.querySelectorAll("[data-peer-name]")) {
    if (el.dataset.peerName === peerId) return el.textContent;
  }
  return "Clinic";
}
function enterCall() {
  callBox.hidden = false;
  body.classList.add("in-call");  // the call fills the screen (app.css, "Call screen")
  // Stepped out: every staff member has left the call, so no connection is left to keep.
  if (mesh && screenOf(body.dataset.status) === "stepped_out") Object.keys(mesh.peers).forEach(mesh.drop, mesh);
  if (mesh || !devices.stream || !socket) return;
  mesh = window.patientCall = new MeshCall({
    send: (m) => socket.send(m), selfId: "patient", stream: () => devices.stream,
    iceServers: JSON.parse(document.getElementById("ice-servers").textContent),
    container: callBox.querySelector("[data-remote-videos]"),
    selfView: callBox.querySelector("[data-self-view]"), nameOf: staffName,
    onFailed: () => { callBox.querySelector("[data-call-error]").hidden = false; },
    onQuality: (label) => { callBox.querySelector("[data-quality]").textContent = label; },
  });
  mesh.hello();
}
function leaveCall() {
  if (mesh) { mesh.hangup(); mesh = window.patientCall = null; }
  callBox.hidden = true;
  body.classList.remove("in-call");
  closeDevices();
}
wireCallControls(callBox, () => mesh, devices);

// Devices: the camera and microphone pickers over the call (call.js wireDevicesSheet).
const closeDevices = wireDevicesSheet(callBox, deviceCheck);
// Hanging up ends the patient's visit (the same as Leave, which asks first).
callBox.querySelector("[data-hangup]").addEventListener("click", () => {
  document.querySelector("[data-leave-form]").requestSubmit();
});

// --- Queue position and estimate ---------------------------------------------------------------
// The server's estimate for each place up to ours (visits/selectors.py): moving up the queue
// reads the new estimate from it.
function showPosition(position) {
  const el = panel.querySelector("[data-position]");
  if (!el || el.textContent === String(position)) return;
  el.textContent = position;
  const table = document.getElementById("estimate-table"), minutes = panel.querySelector("[data-estimate-minutes]");
  const estimate = table && JSON.parse(table.textContent)[position - 1];
  if (minutes && estimate) minutes.textContent = estimate;
  const wait = minutes && estimate ? ` Estimated wait: about ${estimate} min.` : "";
  statusChange(`You're now number ${position} in line.${wait}`, {title: `Number ${position} in line`});
}
// The server sends this screen only the moves of patients ahead of it (+1 joined, -1 left),
// never who they are.
function onQueue(msg) {
  const el = panel.querySelector("[data-position]");
  if (el) showPosition(Math.max(1, Number(el.textContent) + msg.change));
}

// --- Live updates ------------------------------------------------------------------------------
function setBroadcast(text, {pushed = false} = {}) {
  const el = document.querySelector("[data-broadcast]");
  const changed = (text || "") !== el.textContent;
  el.textContent = text || ""; el.hidden = !text;
  if (pushed && changed && text) statusChange(`Message from the clinic: ${text}`, {title: "Message from the clinic"});
}
// The clinic closed (its hours, or Close now) or opened again: whoever waits keeps their place.
function setOpening(text, {pushed = false} = {}) {
  const el = document.querySelector("[data-opening]");
  const changed = (text || "") !== el.textContent;
  el.textContent = text || ""; el.hidden = !text;
  // In a call it changes nothing for the patient: shown in the page, not read out over the call.
  if (pushed && changed && phaseOf(body.dataset.status) !== phases.IN_PROGRESS) {
    if (text) statusChange(text, {title: "The clinic has closed"});
    else statusChange("The clinic is open again.", {title: "The clinic is open"});
  }
}
// A push that arrives while the state is re-fetched wins over the answer (lib/swap.js): the
// server changes the visit right after this socket opens (coming back from offline, say), and
// that push can arrive before the answer to the re-fetch sent on open.
const state = refetcher(() => getJSON(body.dataset.stateUrl), (s, newer) => {
  if (!newer.has("visit")) showStatus(s.status, s.html);
  if (!newer.has("broadcast")) setBroadcast(s.broadcast);
  if (!newer.has("opening")) setOpening(s.opening);
  reportMedia();
});
function resync(wasReconnect) {
  // After a socket reconnection the call's connections are made afresh (an ICE restart).
  if (wasReconnect && mesh) mesh.restart();
  return state.refresh();
}

// Activity (throttled to one message per 5 s) keeps an in-call patient from showing as away;
// a hidden page sends none, so it counts as idle. It matters only in a call (the server ignores
// it elsewhere), so a waiting patient's page sends none: thousands of waiting screens then cost
// a ping each 25 s and nothing more.
function activity() {
  if (document.hidden || !socket || !isInCall(body.dataset.status)) return;
  const now = Date.now();
  if (now - lastActivity < 5000) return;
  lastActivity = now;
  socket.send({type: "activity"});
}
["pointermove", "keydown", "touchstart", "scroll", "click"].forEach((ev) => document.addEventListener(ev, activity, {passive: true}));
// Hidden or shown again: a verified patient goes offline (keeping their place) and comes back.
document.addEventListener("visibilitychange", () => {
  if (socket) socket.send({type: "visibility", hidden: document.hidden});
  if (!document.hidden && socket) { lastActivity = 0; activity(); resync(); }
});

// What leaving really does: in a call it ends the visit (it can't be rejoined); in the queue it
// gives up the place in line.
function leaveQuestion() {
  if (phaseOf(body.dataset.status) === phases.IN_PROGRESS) {
    return "Hang up and end your visit? The clinic can't reconnect you after this. To be seen again, you would join the waiting room again.";
  }
  return "Leave the waiting room? You will give up your place in line.";
}

document.addEventListener("submit", (e) => {
  const form = e.target;
  if (form.matches("[data-chat-form]")) {
    e.preventDefault();
    post(form.action, form).then((data) => {
      document.querySelector("[data-chat-error]").textContent = data.ok ? "" : data.error;
      if (data.ok) form.reset();
    });
  } else if (form.matches("[data-json-form]")) {
    // Phone number and code, "Call me instead" and taking it back: the server answers with an
    // error or publishes the next step.
    e.preventDefault();
    post(form.action, form).then((data) => {
      if (!data.ok) { form.querySelector("[data-form-error]").textContent = data.error; return; }
      resync();
      if (form.dataset.jsonForm === "use-video") checkDevices();  // video again: ask for the camera
    });
  } else if (form.matches("[data-leave-form]") && !confirm(leaveQuestion())) {
    e.preventDefault();
  }
});

if (isClosed(body.dataset.status)) {
  showStatus(body.dataset.status, panel.innerHTML);
} else {
  socket = window.patientSocket = connect(body.dataset.socketUrl, {onOpen: resync});
  socket.on("visit", (msg) => { state.pushed("visit"); showStatus(msg.status, msg.html); reportMedia(); });
  socket.on("queue", onQueue);
  socket.on("broadcast", (msg) => { state.pushed("broadcast"); setBroadcast(msg.message, {pushed: true}); });
  socket.on("opening", (msg) => { state.pushed("opening"); setOpening(msg.text, {pushed: true}); });
  socket.on("chat", (msg) => {
    const log = document.querySelector("[data-chat-log]"), item = fragment(msg.html);
    const words = item.querySelector(".body")?.textContent || "";
    log.appendChild(item); log.scrollTop = log.scrollHeight;
    if (msg.sender === "staff") statusChange(`New message from the clinic: ${words}`, {title: "New message from the clinic", sound: true});
  });
  routeSignalling(socket, () => mesh);
  checkDevices();
}
