/* The phone consultation booking page: changing the consultation or the expert reloads the page
 * with that choice (the server lists the times open for it); the mobile number is checked inline
 * with an SMS code ("Send code", then "Verify"; a new number or a new code at any time); the booking
 * is posted as fetch, and the client goes on to their consultation room. A paid service's card is
 * saved first (the payments core's card step, lib/card.js: Stripe's field, the bank's check in the
 * page), and the booking posts the card's token. The server checks all of it again: this script
 * only spares a round trip and keeps typed answers. */
import {post} from "../waitingroom/lib/http.js";
import {announce, announceUrgently} from "../waitingroom/lib/announce.js";
import {cardStep} from "../waitingroom/lib/card.js";
import {upload} from "../waitingroom/lib/upload.js";

const form = document.querySelector("[data-booking-form]");

function reloadWithChoice() {
  const params = new URLSearchParams();
  ["service", "expert"].forEach((name) => {
    const select = form.querySelector(`[name=${name}]`);
    if (select && select.value) params.set(name, select.value);
  });
  location.search = params.toString();
}

function phoneStep() {
  const step = form.querySelector("[data-phone-step]");
  const phone = form.querySelector("[name=phone]");
  const codeRow = step.querySelector("[data-code-row]");
  const code = step.querySelector("[data-code]");
  const status = step.querySelector("[data-phone-status]");
  const sendButton = step.querySelector("[data-send-code]");
  const verifyButton = step.querySelector("[data-verify-code]");
  let verifiedNumber = step.hasAttribute("data-verified") ? phone.value.trim() : "";

  function say(text, {error = false} = {}) {
    status.textContent = text;
    status.classList.toggle("error", error);
    if (error) announceUrgently(text); else announce(text);
  }

  sendButton.addEventListener("click", async () => {
    if (!phone.value.trim()) { say("Enter your mobile number first.", {error: true}); phone.focus(); return; }
    sendButton.disabled = true;
    const answer = await post(form.dataset.codeSendUrl, new URLSearchParams({phone: phone.value}));
    sendButton.disabled = false;
    if (!answer.ok) { say(answer.error, {error: true}); return; }
    verifiedNumber = "";
    step.querySelector("[data-sent-to]").textContent = answer.sent_to;
    codeRow.hidden = false;
    sendButton.textContent = "Send a new code";
    code.value = "";
    code.focus();
    say(`We texted a code to ${answer.sent_to}. Enter it, then press Verify.`);
  });

  verifyButton.addEventListener("click", async () => {
    if (!/^\d{6}$/.test(code.value.trim())) { say("The code is the 6 digits we texted you.", {error: true}); code.focus(); return; }
    verifyButton.disabled = true;
    const answer = await post(form.dataset.codeVerifyUrl, new URLSearchParams({code: code.value}));
    verifyButton.disabled = false;
    if (!answer.ok) { say(answer.error, {error: true}); return; }
    verifiedNumber = phone.value.trim();
    codeRow.hidden = true;
    say(`Number verified (${answer.verified}).`);
  });

  // A changed number needs its own code: the old verification is for the old number.
  phone.addEventListener("input", () => {
    if (verifiedNumber && phone.value.trim() !== verifiedNumber) {
      verifiedNumber = "";
      say("This is a new number: send a code to it.");
    }
    sendButton.textContent = "Send code";
  });

  return {verified: () => verifiedNumber !== "" && phone.value.trim() === verifiedNumber};
}

/* After the booking: the files chosen on this page go to the new room (upload_url: the room's own
 * upload, with its checks), one at a time with a progress bar and a Cancel, then the client goes to
 * their room. The booking stands whatever happens to a file: a refused or cancelled one is said in
 * plain words, and the client goes on from a link (they can attach it again in the room). */
async function afterBooking(answer) {
  const input = form.querySelector("[data-booking-files] input[type=file]");
  const files = input ? Array.from(input.files) : [];
  if (!files.length) {
    window.location.assign(answer.room_url);
    return;
  }
  const box = form.querySelector("[data-booking-files]");
  const progress = box.querySelector("[data-upload-progress]");
  const bar = box.querySelector("progress");
  const percent = box.querySelector("[data-upload-percent]");
  const cancel = box.querySelector("[data-upload-cancel]");
  const problems = box.querySelector("[data-upload-problems]");
  const booked = box.querySelector("[data-upload-booked]");
  const failed = [];
  input.disabled = true;
  // Booked: the page says so while the files go (the Book button would invite a second booking).
  form.querySelector("[data-book]").hidden = true;
  booked.hidden = false;
  progress.hidden = false;
  for (const file of files) {
    const data = new FormData();
    data.append("file", file, file.name);
    bar.value = 0;
    percent.textContent = `${file.name}: 0%`;
    announce(`Your consultation is booked. Attaching ${file.name}.`);
    const sending = upload(answer.upload_url, data, {
      onProgress: (value) => { bar.value = value; percent.textContent = `${file.name}: ${value}%`; },
    });
    cancel.onclick = () => sending.abort();
    const result = await sending.done;
    if (!result.ok) failed.push(`${file.name}: ${result.error}`);
  }
  progress.hidden = true;
  if (!failed.length) {
    booked.textContent = "Your consultation is booked. Opening your consultation room…";
    window.location.assign(answer.room_url);
    return;
  }
  booked.hidden = true;  // the problems box says it is booked
  problems.querySelector("[data-upload-errors]").textContent = failed.join(" ");
  problems.querySelector("a").href = answer.room_url;
  problems.hidden = false;
  announceUrgently(`Your consultation is booked, but not every file was attached. ${failed.join(" ")}`);
}

if (form) {
  ["service", "expert"].forEach((name) => {
    const select = form.querySelector(`[name=${name}]`);
    if (select) select.addEventListener("change", reloadWithChoice);
  });
  const phone = phoneStep();
  const card = cardStep(form.querySelector("[data-card-step]"));
  const formError = form.querySelector("[data-form-error]");
  const submit = form.querySelector("[data-book]");

  function refuse(text) {
    formError.textContent = text;
    formError.hidden = false;
    announceUrgently(text);
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!phone.verified()) {
      refuse("Please verify your mobile number with the code we text you before booking.");
      return;
    }
    formError.hidden = true;
    submit.disabled = true;
    if (card.needed()) {
      // The card first: a booking of a paid service without one is refused.
      const saved = await card.ensureSaved({
        email: form.querySelector("[name=email]").value,
        name: form.querySelector("[name=name]").value,
      });
      if (!saved.ok) {
        submit.disabled = false;
        refuse(saved.error);
        return;
      }
    }
    const data = new FormData(form);
    data.delete("files");  // uploaded to the room once it exists
    const answer = await post(window.location.pathname, data);
    if (answer.ok) { await afterBooking(answer); return; }
    submit.disabled = false;
    refuse(answer.error);
  });
}
