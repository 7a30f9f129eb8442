/* A call guest's page (visits/guest.py): the device check and Ask to join, the wait to be let in,
 * the call (the call screen of the patient's page: body.in-call) and how it ended. The guest's
 * socket (visits/consumers.py CallGuestConsumer) brings its state (`guest`) and, once admitted,
 * the call's signalling; nothing of the visit besides. */
import {statusChange} from "../waitingroom/lib/announce.js";
import {getJSON, post} from "../waitingroom/lib/http.js";
import {closeCodes} from "../waitingroom/lib/rules.js";
import {connect} from "../waitingroom/lib/socket.js";
import {swapInner} from "../waitingroom/lib/swap.js";
import {CALL_MOVED, Devices, MeshCall, routeSignalling, wireCallControls, wireDevicesSheet} from "./call.js";

const body = document.body, panel = document.querySelector("[data-status-panel]");
const deviceCheck = document.querySelector("[data-device-check]");
const callBox = document.querySelector("[data-call]");
const askWrap = document.querySelector("[data-guest-ask-wrap]"), stopWrap = document.querySelector("[data-guest-stop-wrap]");
const errorLine = document.querySelector("[data-guest-error]");
const devices = new Devices(deviceCheck);
devices.afterError = "";  // no "you keep your place in line": a guest has none
let socket = null, mesh = null, shownHtml = panel.innerHTML, moved = false;

function nameOf(peerId) {
  for (const el of panel.querySelectorAll("[data-peer-name]")) {
    if (el.dataset.peerName === peerId) return el.textContent;
  }
  return "";
}

/* The guest's state: its fragment says which screen it is (visits/guest_lifecycle.py SCREEN), so
 * this script compares no status: "invited", "asking", "in_call" or "ended". */
// The heading last said: the page's own at load is not said again when the socket first answers.
let saidHeading = panel.querySelector("[data-guest-heading]")?.textContent || "";
function show(status, html) {
  if (moved) return;  // an answer still on its way once another tab took the call: this tab stays out
  if (html && html !== shownHtml) {
    shownHtml = html;
    swapInner(panel, html);
  }
  const before = body.dataset.guestScreen, screen = panel.querySelector("[data-guest-screen]").dataset.guestScreen;
  body.dataset.guestState = status;
  body.dataset.guestScreen = screen;
  const heading = panel.querySelector("[data-guest-heading]");
  // A new screen, or new words on the same one (in the call: the patient dropped, then is back).
  if (heading && (before !== screen || heading.textContent !== saidHeading)) {
    saidHeading = heading.textContent;
    statusChange(heading.textContent, {assertive: screen === "in_call" || screen === "ended"});
    if (screen !== "in_call") heading.focus();
  }
  askWrap.hidden = screen !== "invited";
  stopWrap.hidden = screen !== "asking";
  if (screen === "in_call") enterCall(); else leaveCall();
  if (mesh) mesh.renameAll();  // who is in the call may have changed: the captions follow
  if (screen === "ended") {
    deviceCheck.hidden = true;
    devices.stop();
    if (socket) socket.close("Closed");
  }
}

function enterCall() {
  if (moved || (!callBox.hidden && mesh)) return;
  callBox.hidden = false;
  body.classList.add("in-call");  // the call fills the screen (app.css, "Call screen")
  if (mesh || !devices.stream || !socket) return;
  mesh = window.guestCall = new MeshCall({
    send: (m) => socket.send(m), selfId: body.dataset.selfId || "guest", stream: () => devices.stream,
    iceServers: JSON.parse(document.getElementById("ice-servers").textContent),
    container: callBox.querySelector("[data-remote-videos]"),
    selfView: callBox.querySelector("[data-self-view]"), nameOf,
    onFailed: () => { callBox.querySelector("[data-call-error]").hidden = false; },
    onQuality: (label) => { callBox.querySelector("[data-quality]").textContent = label; },
  });
  mesh.hello();
  callBox.focus();
}
function leaveCall() {
  if (mesh) { mesh.hangup(); mesh = window.guestCall = null; }
  callBox.hidden = true;
  body.classList.remove("in-call");
  closeDevices();
}
wireCallControls(callBox, () => mesh, devices);
devices.onChange = (stream) => { if (mesh) mesh.replaceStream(stream); };

// Devices: the pickers open over the call, as on the patient's page.
const closeDevices = wireDevicesSheet(callBox, deviceCheck);

async function act(url) {
  errorLine.textContent = "";
  const data = await post(url);
  if (!data.ok) { errorLine.textContent = data.error; return; }
  show(data.status, data.html);
}
document.querySelector("[data-guest-ask]").addEventListener("click", () => {
  if (!devices.stream) { errorLine.textContent = "Allow your camera and microphone first: the call needs them."; return; }
  act(body.dataset.askUrl);
});
document.querySelector("[data-guest-stop]").addEventListener("click", () => act(body.dataset.leaveUrl));
callBox.querySelector("[data-hangup]").addEventListener("click", () => {
  if (mesh) mesh.hangup();  // say bye while the socket is still open
  act(body.dataset.leaveUrl);
});

/* The same browser opened this link in another tab: that tab holds the call now (its socket took
 * over: 4409, as a staff member's Return to call in a second tab). This one leaves the call without
 * a bye (the guest is still in it, over there), lets the camera go, says so and does not reconnect. */
function callMoved() {
  moved = true;
  leaveCall();
  devices.stop();
  deviceCheck.hidden = askWrap.hidden = stopWrap.hidden = true;
  const box = document.createElement("div"), heading = document.createElement("h1");
  box.className = "guest-status"; box.dataset.guestScreen = body.dataset.guestScreen = "moved";
  heading.dataset.guestHeading = ""; heading.dataset.callMoved = ""; heading.tabIndex = -1;
  heading.textContent = CALL_MOVED;
  box.append(heading);
  panel.replaceChildren(box);
  heading.focus();
  statusChange(CALL_MOVED, {assertive: true});
  socket.close("Closed");
}

function refresh() {
  return getJSON(body.dataset.stateUrl).then((s) => show(s.status, s.html), () => {});
}

if (body.dataset.socketUrl) {
  // Reopened during the call: it starts once the camera does.
  devices.start().then(() => { if (body.dataset.guestScreen === "in_call") enterCall(); }, () => {});
  socket = connect(body.dataset.socketUrl, {
    onOpen: (wasReconnect) => { if (wasReconnect && mesh) mesh.restart(); refresh(); },
    // Removed, declined, the call over: the page says how it ended. Taken over by another tab: the
    // page says so and stays out of the call.
    onRefused: (code) => (code === closeCodes.takenOver ? callMoved() : refresh()),
  });
  socket.on("guest", (msg) => show(msg.status, msg.html));
  routeSignalling(socket, () => mesh);
}
