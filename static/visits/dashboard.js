/* The staff dashboard. Cards arrive as HTML rendered by the server's one card renderer
 * (visits/cards.py); this file only places them, keeps counts and timers, and turns action forms
 * into fetch POSTs. */
import {announce, statusChange, toast} from "../waitingroom/lib/announce.js";
import {clock} from "../waitingroom/lib/format.js";
import {getJSON, getText, post} from "../waitingroom/lib/http.js";
import {closeCodes, isInCall, isWaitingPhase} from "../waitingroom/lib/rules.js";
import {connect} from "../waitingroom/lib/socket.js";
import {fragment, refetcher, remember, swapInner, swapOuter} from "../waitingroom/lib/swap.js";
import {CALL_MOVED, Devices, MeshCall, routeSignalling, wireCallControls} from "./call.js";

const body = document.body, board = document.querySelector("[data-board]");
const AMBER = Number(body.dataset.amber) * 60, RED = Number(body.dataset.red) * 60;
const baseTitle = document.title, drawer = document.querySelector("[data-chat-drawer]");
const prefix = "wr:" + body.dataset.user + ":" + body.dataset.clinic + ":";

// A card is the same HTML on every dashboard; it lists who is in its call (data-call-staff), and
// these rules hide Join call from them on every card this page ever shows (the server refuses it)
// and offer Return to call instead while this page has no call open (it was reloaded mid-call).
// A constructed style sheet, not a <style> element: the rules are data, and no inline style is needed.
const joinRule = new CSSStyleSheet(), inCall = `[data-call-staff~="${CSS.escape(body.dataset.userId)}"]`;
joinRule.replaceSync(`${inCall} form[data-action="call"] { display: none; }
body:not(.has-call) ${inCall} [data-return-to-call] { display: inline-flex; }`);
document.adoptedStyleSheets = [...document.adoptedStyleSheets, joinRule];

// --- Sections: expand/collapse remembered per person, counts, tab title -----------------------
function applyExpanded() {
  board.querySelectorAll("details[data-phase]").forEach((d) => {
    const saved = localStorage.getItem(prefix + "phase:" + d.dataset.phase);
    if (saved !== null) d.open = saved === "open";
    d.addEventListener("toggle", () => localStorage.setItem(prefix + "phase:" + d.dataset.phase, d.open ? "open" : "closed"));
  });
}
function refreshCounts() {
  board.querySelectorAll("details[data-phase]").forEach((d) => {
    const n = d.querySelectorAll(".cards > [data-visit]").length;
    d.querySelector("[data-count]").textContent = n;
    d.classList.toggle("is-empty", n === 0);
  });
  const waiting = board.querySelectorAll("[data-visit][data-status='waiting']").length;
  document.title = (waiting ? "(" + waiting + " waiting) " : "") + baseTitle;
}

function placeCard(visitId, phase, html) {
  const old = board.querySelector(`[data-visit='${visitId}']`);
  const restore = old ? remember(old) : () => {};
  const hadFocus = Boolean(old && old.contains(document.activeElement));
  if (old) old.remove();
  if (html) {
    const card = fragment(html), list = board.querySelector(`details[data-phase='${phase}'] .cards`);
    if (list) {
      const key = Number(card.dataset.arrived);
      const next = [...list.querySelectorAll("[data-visit]")].find((other) => {
        const arrived = Number(other.dataset.arrived);
        return arrived > key || (arrived === key && Number(other.dataset.visit) > Number(visitId));
      });
      list.insertBefore(card, next || null);
      restore(card);  // a focused button stays focused when its card changes
    }
  }
  // The card went (ended, or into a folded section): focus goes to the list of waiting patients
  // rather than falling to <body>, without scrolling the page to the board's top (the provider
  // keeps their place: at a desk, Call jumped the board by up to its height above the fold).
  if (hadFocus && !board.contains(document.activeElement)) board.focus({preventScroll: true});
  refreshCounts();
  tick();
}

// --- Ticking time and wait colours --------------------------------------------------------------
function tick() {
  const now = Date.now() / 1000;
  board.querySelectorAll("[data-visit]").forEach((card) => {
    const elapsed = now - Number(card.dataset.since);
    card.querySelector("[data-elapsed]").textContent = clock(elapsed);
    // Switch to phone: the connected phone call's own timer.
    card.querySelectorAll("[data-phone-since]").forEach((t) => { t.textContent = clock(now - Number(t.dataset.phoneSince)); });
    const waiting = isWaitingPhase(card.dataset.phase);
    card.classList.toggle("wait-red", waiting && elapsed >= RED);
    card.classList.toggle("wait-amber", waiting && elapsed >= AMBER && elapsed < RED);
  });
}
setInterval(tick, 1000);

// --- Alerts: sound (mutable), desktop notification ---------------------------------------------
const muteBtn = document.querySelector("[data-mute]");
let audio = null;
const muted = () => localStorage.getItem(prefix + "muted") === "1";
function showMute() { muteBtn.textContent = muted() ? "Sound off" : "Sound on"; muteBtn.setAttribute("aria-pressed", muted()); }
muteBtn.addEventListener("click", () => { localStorage.setItem(prefix + "muted", muted() ? "0" : "1"); showMute(); });
showMute();
function chime() {
  if (muted()) return;
  try {
    audio = audio || new (window.AudioContext || window.webkitAudioContext)();
    const osc = audio.createOscillator(), gain = audio.createGain();
    osc.frequency.value = 880; gain.gain.value = 0.15;
    osc.connect(gain); gain.connect(audio.destination);
    osc.start(); osc.stop(audio.currentTime + 0.25);
    body.dataset.lastChime = String(Date.now());
  } catch { /* no audio device: the title and notification still alert */ }
}
document.querySelector("[data-notify]").addEventListener("click", () => {
  if ("Notification" in window) Notification.requestPermission();
});
function alertReady(card) {
  chime();
  const name = card ? card.querySelector(".patient-name").textContent : "A patient";
  announce(name + " is ready for their visit");
  if ("Notification" in window && Notification.permission === "granted") new Notification("Patient ready", {body: name + " is ready for their visit"});
}

// --- Actions, chat, broadcast ------------------------------------------------------------------
function runAction(form) {
  return post(form.action, form).then((data) => {
    if (!data.ok) { toast(data.error); return; }
    placeCard(data.visit_id, data.phase, data.html);
    if (data.room_url) openCall(data.room_url);
  });
}
// Calling someone else while in a call: ask, and leave the current call the way its Leave
// button does (so that patient is back where the lifecycle puts them) before calling.
async function callFrom(form) {
  const current = callHost.querySelector("[data-staff-call]");
  const card = form.closest("[data-visit]");
  if (current && card && current.dataset.visit !== card.dataset.visit) {
    const next = card.querySelector(".patient-name").textContent;
    if (!confirm(`You are in a call with ${current.dataset.patientName}. Leave it and call ${next}?`)) return;
    if (!await finishCall(current.dataset.leaveUrl)) return;
  }
  await runAction(form);
}
document.addEventListener("submit", (e) => {
  const form = e.target;
  if (form.matches("form[data-action]")) {
    e.preventDefault();
    const action = form.dataset.action;
    if (action === "cancel" && !confirm("Cancel this visit?")) return;
    if (action === "end" && !confirm("End this visit?")) return;
    if (action === "call") callFrom(form); else runAction(form);
  } else if (form.matches("[data-chat-form]")) {
    e.preventDefault();
    post(form.action, form).then((data) => {
      drawer.querySelector("[data-chat-error]").textContent = data.ok ? "" : data.error;
      if (data.ok) form.reset();
    });
  } else if (form.matches("[data-broadcast-form]")) {
    e.preventDefault();
    post(form.action, form).then((data) => {
      if (!data.ok) toast(data.error);
      else toast(data.message ? "Posted to everyone waiting." : "Message cleared.", {ok: true});
    });
  }
});
function closeDrawer() { drawer.hidden = true; drawer.innerHTML = ""; }
document.addEventListener("click", (e) => {
  const open = e.target.closest("[data-chat-open]");
  if (open) {
    getText(open.dataset.chatOpen).then((html) => {
      drawer.innerHTML = html; drawer.hidden = false;
      const log = drawer.querySelector("[data-chat-log]"); log.scrollTop = log.scrollHeight;
      drawer.querySelector("input[name=body]").focus();
    }, () => toast("Couldn't open the chat."));
  }
  if (e.target.closest("[data-chat-close]")) closeDrawer();
});

// --- Device check before a first call -----------------------------------------------------------
const checkPanel = document.querySelector("[data-staff-devices]");
let checkDevices = null;
document.querySelector("[data-device-check-open]").addEventListener("click", () => {
  checkPanel.hidden = false;
  checkDevices = checkDevices || new Devices(checkPanel.querySelector("[data-device-check]"));
  checkDevices.start().catch(() => {});
});
checkPanel.querySelector("[data-device-check-close]").addEventListener("click", () => {
  if (checkDevices) checkDevices.stop();
  checkPanel.hidden = true;
});

// --- The staff side of a call --------------------------------------------------------------------
const callHost = document.querySelector("[data-call-host]");
let call = null;
function closeCall() {
  const visit = call && call.visit, hadFocus = callHost.contains(document.activeElement);
  if (call) {
    call.mesh.hangup(); call.socket.close(); call.devices.stop();
    call = window.staffCall = null;
  }
  callHost.innerHTML = "";
  body.classList.remove("has-call");
  // The focused Leave call / End visit button is gone: focus goes back to the visit's card (or the
  // patients' list), not to <body>.
  if (hadFocus) {
    const card = visit && board.querySelector(`[data-visit='${visit}']`);
    const target = (card && card.querySelector("button")) || board;
    target.focus();
    if (document.activeElement !== target) board.focus();  // the card is in a folded section
  }
}
// The call continued in another tab of this staff member: the panel goes, the words stay in its place
// (read out) until a call is opened here again; the card offers Return to call to take it back.
function callMoved() {
  closeCall();
  const note = document.createElement("p");
  note.className = "call-moved"; note.dataset.callMoved = ""; note.textContent = CALL_MOVED;
  callHost.replaceChildren(note);
  announce(CALL_MOVED);
}
// Leave the call or end the visit (the server's action at `url`); true once done.
async function finishCall(url) {
  if (call) call.mesh.hangup();  // say bye while the call socket is still open
  const data = await post(url);
  if (!data.ok) { toast(data.error); return false; }
  placeCard(data.visit_id, data.phase, data.html);
  closeCall();
  return true;
}
// The name on a peer's video: the patient's from the panel; a colleague's from the visit's card,
// whose "In call" names follow its data-call-staff ids (visits/cards.py).
function peerName(root, id) {
  if (id === "patient") return root.dataset.patientName;
  if (id.startsWith("guest-")) return guestName(root, id);
  const card = board.querySelector(`[data-visit='${root.dataset.visit}']`);
  const names = card && card.querySelector("[data-in-call]");
  if (!card || !names || !card.dataset.callStaff) return "Colleague";
  const at = card.dataset.callStaff.split(" ").indexOf(id.replace("staff-", ""));
  return names.textContent.replace(/^In call: /, "").split(", ")[at] || "Colleague";
}
// On a narrow screen the panel is in the page's flow, under the board and the panels: the whole
// call (video, Mute, Leave call, End visit) comes into view, not only its title's line. At a desk it
// is fixed on screen beside the board, which is not scrolled.
function showCallPanel(root) {
  if (getComputedStyle(root).position !== "fixed") root.scrollIntoView({block: "start"});
}
function openCall(url) {
  closeCall();
  getText(url).then((html) => {
    callHost.innerHTML = html;
    body.classList.add("has-call");  // the board moves aside for the call panel
    const root = callHost.querySelector("[data-staff-call]"), box = root.querySelector("[data-call]");
    // Keyboard and screen-reader users land in the call, and the board stays put: the panel is
    // fixed beside it at a desk; in the page's flow (a narrow screen) it is scrolled into view.
    root.querySelector("[data-call-title]").focus({preventScroll: true});
    showCallPanel(root);
    const devices = new Devices(root.querySelector("[data-device-check]"));
    return devices.start().then(() => {
      const mesh = new MeshCall({
        send: (m) => call && call.socket.send(m), selfId: root.dataset.self,
        stream: () => devices.stream,
        iceServers: JSON.parse(root.querySelector("#ice-servers-staff").textContent),
        container: box.querySelector("[data-remote-videos]"),
        selfView: box.querySelector("[data-self-view]"), nameOf: (id) => peerName(root, id),
        onFailed: () => { box.querySelector("[data-call-error]").hidden = false; },
        onQuality: (label) => { box.querySelector("[data-quality]").textContent = label; },
      });
      devices.onChange = (stream) => mesh.replaceStream(stream);
      box.hidden = false;
      showCallPanel(root);  // now with its video and buttons
      call = window.staffCall = {mesh, devices, visit: root.dataset.visit};
      call.socket = connect(root.dataset.callSocket, {
        trackState: false,
        onOpen: () => {  // (re)joined: fresh connections with everyone, and the guest part afresh
          mesh.restart();
          getText(root.dataset.guestPanelUrl).then((html) => showGuestPanel(html), () => {});
        },
        // The same staff member opened this call in another tab (Return to call there): that tab
        // holds it now. This one ends the call here, says so, and does not reconnect.
        onRefused: (code) => (code === closeCodes.takenOver ? callMoved() : closeCall()),
      });
      call.socket.on("visit", (msg) => { if (!isInCall(msg.status)) closeCall(); });
      call.socket.on("call_guest", (msg) => showGuestPanel(msg.html, msg.announce));
      routeSignalling(call.socket, () => mesh);
      wireCallControls(box, () => mesh, devices);
      root.querySelector("[data-call-leave]").addEventListener("click", () => finishCall(root.dataset.leaveUrl));
      root.querySelector("[data-call-end]").addEventListener("click", () => { if (confirm("End this visit?")) finishCall(root.dataset.endUrl); });
    });
  }).catch(() => toast("Couldn't start your camera and microphone for the call."));
}

// --- Live updates ------------------------------------------------------------------------------
// Card pushes that arrive while the board is re-fetched are newer than the answer (lib/swap.js):
// they are put back on the fresh board.
const boardState = refetcher(() => getText(body.dataset.boardUrl), (html, newer) => {
  swapInner(board, html);
  applyExpanded();
  newer.forEach((msg) => placeCard(msg.visit_id, msg.phase, msg.html));
  refreshCounts(); tick();
  document.dispatchEvent(new CustomEvent("wr:panel", {detail: {panel: "*"}}));
});
applyExpanded();
refreshCounts();
tick();
// The clinic opened or closed (its hours, or a clinic admin's Close now / Reopen): the banner, read
// out by its status role, and which of Close now / Reopen applies (clinic admins' forms only).
function showOpening(msg) {
  const banner = document.querySelector("[data-opening-banner]");
  banner.textContent = msg.text; banner.hidden = msg.open;
  const close = document.querySelector("[data-close-form]"), reopen = document.querySelector("[data-reopen-form]");
  if (close) close.hidden = msg.closed_now;
  if (reopen) reopen.hidden = !msg.closed_now;
}
const openingState = refetcher(() => getJSON(body.dataset.openingUrl), (s, newer) => { if (!newer.has("opening")) showOpening(s); });
// Pushes are hints: after every (re)connection the board and the opening banner are re-fetched, so nothing missed while
// the socket was down stays missed.
const live = window.dashboardSocket = connect(body.dataset.socketUrl, {onOpen: () => { boardState.refresh(); openingState.refresh(); }});
live.on("visit", (msg) => {
  boardState.pushed("visit:" + msg.visit_id, msg);
  placeCard(msg.visit_id, msg.phase, msg.html);
  // The card names who is in the call: the captions on this call's videos follow it.
  if (call && call.mesh && String(msg.visit_id) === call.visit) call.mesh.renameAll();
  if (msg.alert) alertReady(board.querySelector(`[data-visit='${msg.visit_id}']`));
  if (!msg.html && drawer.querySelector(`[data-chat-visit='${msg.visit_id}']`)) closeDrawer();
});
live.on("chat", (msg) => {
  const panel = drawer.querySelector(`[data-chat-visit='${msg.visit_id}']`);
  if (!panel) return;
  const log = panel.querySelector("[data-chat-log]");
  log.appendChild(fragment(msg.html)); log.scrollTop = log.scrollHeight;
  // Marks the patient's message read (`?read=1`: no panel in the answer, so no access entry).
  if (msg.sender === "patient") getText(panel.closest("aside").querySelector("[data-chat-form]").action + "?read=1").catch(() => {});
});
live.on("broadcast", (msg) => { document.querySelector("#broadcast").value = msg.message; });
live.on("opening", (msg) => { openingState.pushed("opening"); showOpening(msg); });
// Panels of other apps (appointment requests) re-fetch themselves: see waitingroom/panels.js.
live.on("panel", (msg) => document.dispatchEvent(new CustomEvent("wr:panel", {detail: {panel: msg.panel}})));
// Arrived from "Enter room" on the meetings overview: the host is already in the call.
if (body.dataset.openRoom) openCall(body.dataset.openRoom);

// --- A call guest (visits/call_guests.py): the call panel's guest part --------------------------
// Its fragment comes with every change over the call socket (`call_guest`) and in the answer to
// each of its forms; a request to join is said at once (assertive) and in the tab's title.
function guestName(root, id) {
  const part = root.querySelector(`[data-guest-peer='${id}']`);
  return part ? part.dataset.guestName : "Guest";
}
function showGuestPanel(html, words = "") {
  const part = callHost.querySelector("[data-call-guest]");
  if (!part) return;
  // What the person is doing in it stays: the invitation form open, what they typed, the focus
  // (or, when the focused button is gone, the nearest control: lib/swap.js).
  const wasOpen = Boolean(part.querySelector("details[open]"));
  const next = swapOuter(part, html);
  const form = next && next.querySelector("details");
  if (form && wasOpen) form.open = true;
  if (words) statusChange(words, {assertive: true});
  if (call && call.mesh) call.mesh.renameAll();
}
document.addEventListener("submit", (e) => {
  const form = e.target;
  if (!form.matches("[data-guest-form]")) return;
  e.preventDefault();
  post(form.action, form).then((data) => {
    if (!data.ok) {
      // The panel stays as it is (the form keeps what was typed) and says what was wrong.
      const error = callHost.querySelector("[data-guest-error]");
      if (error) error.textContent = data.error; else toast(data.error);
      return;
    }
    showGuestPanel(data.html);
    if (form.matches("[data-guest-invite]")) toast("Invitation sent.", {ok: true});
  });
});
