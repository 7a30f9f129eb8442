/* The consultation room, one script for both sides (<body data-room-side="staff|client">). The
 * socket only says which parts changed (`consultation` pushes: status, messages, attachments,
 * note, call, recordings, payment); each part re-fetches itself from its data-part-url, one rendering path for the first
 * load, a push and a reconnection. Actions (the control bar, a message, the note) are posted with
 * fetch and answered {ok, message|error}; the pushes then refresh every open page alike. */
import {statusChange, toast} from "../waitingroom/lib/announce.js";
import {primeChime} from "../waitingroom/lib/chime.js";
import {clock} from "../waitingroom/lib/format.js";
import {getText, postForm} from "../waitingroom/lib/http.js";
import {connect, markSocket} from "../waitingroom/lib/socket.js";
import {refetcher, swapOuter} from "../waitingroom/lib/swap.js";
import "./attach.js";

const body = document.body;
const side = body.dataset.roomSide;
const partEl = (name) => document.querySelector(`[data-part='${name}']`);

// Messages from the other side since the page last looked: announced politely.
const othersCount = () => document.querySelectorAll("[data-part='messages'] [data-mine='0']").length;
let seenFromOthers = othersCount();

/* Each side hears what changed in the room as it happens, read out and in the tab's title
 * (lib/announce.js statusChange). The client: the consultation's status (an expert took it, it was
 * completed or cancelled) and the payment's state. Staff: the status (claimed, completed, cancelled
 * with its reason), the payment's state (paid, failed, waiting for the client) and the phone call's
 * progress. Each part's words before and after a swap are compared: a re-render says nothing. */
const text = (selector) => [...document.querySelectorAll(selector)].map((el) => el.textContent.trim().replace(/\s+/g, " ")).join(" ");
const PAYMENT = {words: () => text("[data-payment-state], [data-payment-refund]"), title: "Payment update"};
const NEWS = {
  client: {
    status: {
      words: () => text("[data-part='status'] [data-cancelled], [data-part='status'] [data-completed]")
        || text("[data-part='status'] p:has(> [data-expert])"),
      title: "Consultation update",
    },
    payment: PAYMENT,
  },
  staff: {
    status: {
      words: () => text("[data-part='status'] [data-cancelled]")
        || (text("[data-part='status'] [data-status-label]") && `Consultation ${text("[data-part='status'] [data-status-label]")}`),
      title: "Consultation update",
    },
    payment: PAYMENT,
    call: {
      words: () => (text("[data-part='call'] [data-call-words]") && `Phone call: ${text("[data-part='call'] [data-call-words]")}`),
      title: "Phone call update",
    },
  },
}[side] || {};
if (side === "client") primeChime();
// What the person who acted caused is said by their toast: the part it changes stays quiet for the
// first change that follows (FORMS below; later pushes, such as a call's progress, are news).
const QUIET_MS = 3000;
const quietUntil = {};
function lastFromOthers() {
  const all = document.querySelectorAll("[data-part='messages'] [data-mine='0']"), last = all[all.length - 1];
  return last ? last.querySelector("div").textContent.trim() : "";
}

function scrollLog() {
  const log = document.querySelector("[data-message-log]");
  if (log) log.scrollTop = log.scrollHeight;
}

// The attachments part holds the attach form: while a file is uploading it is not swapped (that
// would drop the progress bar and its Cancel); a re-fetch asked meanwhile, or whose answer arrives
// meanwhile (the one the socket's opening asks for, when a file is chosen at once), runs again when
// the upload ends.
const uploading = () => Boolean(document.querySelector("[data-part='attachments'] [data-attach-progress]:not([hidden])"));
let attachmentsHeld = false;

const parts = new Map();  // part name -> its refetcher (one re-fetch at a time, the latest wins)
function refresh(name) {
  if (!partEl(name)) return null;
  if (name === "attachments" && uploading()) {
    attachmentsHeld = true;
    return null;
  }
  if (!parts.has(name)) {
    parts.set(name, refetcher(() => getText(partEl(name).dataset.partUrl), (html) => {
      const el = partEl(name);
      if (!el) return;
      if (name === "attachments" && uploading()) {
        attachmentsHeld = true;
        return;
      }
      const news = NEWS[name], before = news && news.words();
      swapOuter(el, html);
      if (news) {
        const after = news.words();
        if (after && after !== before) {
          if (Date.now() < (quietUntil[name] || 0)) delete quietUntil[name];
          else statusChange(after, {title: news.title});
        }
      }
      if (name === "attachments") restoreAttachSaid();
      if (name === "messages") {
        scrollLog();
        const now = othersCount();
        // The other side wrote: said with its words and in the title (the client's also chimed).
        if (now > seenFromOthers && side === "client") {
          statusChange(`New message from the clinic: ${lastFromOthers()}`, {title: "New message from the clinic", sound: true});
        } else if (now > seenFromOthers) {
          statusChange(`New message from the client: ${lastFromOthers()}`, {title: "New message from the client"});
        }
        seenFromOthers = now;
      }
    }));
  }
  return parts.get(name).refresh();
}
// What the attach form said after its last upload ("… was added.", "Upload cancelled.", a refusal):
// a re-fetch of the part swaps the form, and the words must outlive it (the re-fetch that follows
// an added file would otherwise wipe its confirmation at once).
const SAID = ["[data-attach-done]", "[data-attach-error]"];
let attachSaid = [];
function restoreAttachSaid() {
  const form = document.querySelector("[data-part='attachments'] form[data-attach]");
  if (!form) return;  // locked: the refusal replaces the form
  attachSaid.forEach(([selector, text]) => {
    const el = form.querySelector(selector);
    if (el) { el.textContent = text; el.hidden = !text; }
  });
}
document.addEventListener("attach:ended", (e) => {
  attachSaid = SAID.map((selector) => {
    const el = e.target.querySelector(selector);
    return [selector, el && !el.hidden ? el.textContent : ""];
  });
  if (e.detail.ok || attachmentsHeld) {
    attachmentsHeld = false;
    refresh("attachments");
  }
});
const refreshAll = () => document.querySelectorAll("[data-part]").forEach((el) => refresh(el.dataset.part));

scrollLog();
const live = connect(body.dataset.socketUrl, {
  // Anything that changed between the page render and the socket opening is fetched too.
  onOpen: () => refreshAll(),
  onRefused: () => markSocket("refused", side === "client" ? "This link is no longer valid" : "Not allowed"),
});
live.on("consultation", (msg) => msg.parts.forEach((name) => refresh(name)));

// Posting: the control bar's actions, a message, the note. Which parts to re-fetch at once (the
// push follows, but the person who acted sees the result without waiting for it).
// The third list: the parts whose next change is what the action's toast already says (a charge's
// outcome, Paid or Failed, is news: the payment part is never kept quiet).
const FORMS = [
  ["[data-room-action]", ["status", "messages", "call", "payment"], ["status"]],
  ["[data-call-form]", ["call"], ["call"]],
  ["[data-message-form]", ["messages"], []],
  ["[data-note-form]", ["note"], []],
  ["[data-charge-form]", ["payment"], []],
];
document.addEventListener("submit", (e) => {
  const form = e.target;
  const match = FORMS.find(([selector]) => form.matches(selector));
  if (!match) return;
  e.preventDefault();
  match[2].forEach((name) => { quietUntil[name] = Date.now() + QUIET_MS; });
  const button = form.querySelector("button[type=submit]");
  if (button) button.disabled = true;
  postForm(form, e.submitter).then((data) => {
    if (button) button.disabled = false;
    if (data.ok) {
      form.querySelectorAll("textarea").forEach((field) => { field.value = ""; field.defaultValue = ""; });
      if (!form.matches("[data-message-form]")) toast(data.message, {ok: true});
    } else {
      toast(data.error);
      match[2].forEach((name) => { delete quietUntil[name]; });  // nothing changed: nothing to keep quiet
    }
    match[1].forEach((name) => refresh(name));
  });
});

// Charge's confirm step names the amount typed (forms.js asks data-confirm before the submit), in
// the clinic's currency as the page words money ("$45.00").
document.addEventListener("input", (e) => {
  const field = e.target;
  if (!(field instanceof HTMLInputElement) || !field.matches("[data-charge-amount]")) return;
  const form = field.form;
  const amount = Number(field.value.trim());
  let words = field.value.trim();
  if (field.value.trim() && Number.isFinite(amount)) {
    try {
      words = new Intl.NumberFormat("en-US", {style: "currency", currency: form.dataset.currency}).format(amount);
    } catch {
      words = `${field.value.trim()} ${form.dataset.currency}`;
    }
  }
  form.dataset.confirm = `Charge ${words} to the client's ${form.dataset.card}?`;
});

// The phone call's clock: "In call" ticks from the connection (data-since, epoch seconds) and an
// ended call's length is worded m:ss; both by lib/format.js clock(), the one m:ss formula.
function tickCall() {
  document.querySelectorAll("[data-call-since]").forEach((el) => {
    el.textContent = clock(Date.now() / 1000 - Number(el.dataset.callSince));
  });
  document.querySelectorAll("[data-call-duration]").forEach((el) => {
    el.textContent = clock(Number(el.dataset.callDuration));
  });
}
tickCall();
setInterval(tickCall, 1000);
