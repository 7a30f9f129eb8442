/* The consultation room's attach form (fragments/consultations/_attach_form.html):
 *   <form data-attach data-max-bytes> with <input type="file" data-attach-input>
 * Choosing a file sends it at once: a progress bar with its percentage (announced politely every
 * quarter), a Cancel button that stops it, then the server's answer in plain words. The server
 * decides the file's type and limits from its content; the one check here (the largest size) only
 * saves sending a file that can never be taken.
 *
 * Listeners sit on the document, so a form swapped in by a re-fetch works the same. After a file
 * is added the form dispatches "attach:added" (bubbling, detail: the server's answer), so the room
 * can re-fetch its list without waiting for the push that tells the other side; "attach:ended"
 * follows every upload, whatever its outcome (the room holds its re-fetches of the form meanwhile). */

import {announce} from "../waitingroom/lib/announce.js";
import {megabytes} from "../waitingroom/lib/format.js";
import {upload, CANCELLED} from "../waitingroom/lib/upload.js";

const sending = new WeakMap();  // form -> the upload in flight

function parts(form) {
  return {
    input: form.querySelector("[data-attach-input]"),
    progress: form.querySelector("[data-attach-progress]"),
    bar: form.querySelector("[data-attach-bar]"),
    percent: form.querySelector("[data-attach-percent]"),
    error: form.querySelector("[data-attach-error]"),
    done: form.querySelector("[data-attach-done]"),
  };
}

function say(el, text) {
  if (!el) return;
  el.textContent = text;
  el.hidden = !text;
}

function fail(p, text) {
  say(p.error, text);
  announce(text);
}

function showProgress(p, percent) {
  p.bar.value = percent;
  p.percent.textContent = `${percent}%`;
}

async function send(form, file) {
  const p = parts(form);
  say(p.error, "");
  say(p.done, "");
  const largest = Number(form.dataset.maxBytes || 0);
  if (file.size === 0) {
    fail(p, "This file is empty: there is nothing in it to attach.");
    return;
  }
  if (largest && file.size > largest) {
    fail(p, `This file is too large: files can be up to ${megabytes(largest)}.`);
    return;
  }
  const body = new FormData();
  body.append("file", file, file.name);
  let announced = 0;
  showProgress(p, 0);
  p.progress.hidden = false;
  p.input.disabled = true;
  announce(`Uploading ${file.name}.`);
  const current = upload(form.action, body, {
    onProgress: (percent) => {
      showProgress(p, percent);
      const quarter = Math.floor(percent / 25) * 25;
      if (quarter > announced && quarter < 100) {
        announced = quarter;
        announce(`${quarter}% uploaded.`);
      }
    },
  });
  sending.set(form, current);
  const answer = await current.done;
  sending.delete(form);
  p.progress.hidden = true;
  p.input.disabled = false;
  p.input.value = "";
  if (answer.ok) {
    say(p.done, `${file.name} was added.`);
    announce(p.done.textContent);
    form.dispatchEvent(new CustomEvent("attach:added", {bubbles: true, detail: answer}));
  } else {
    fail(p, answer.aborted ? CANCELLED : answer.error);
  }
  form.dispatchEvent(new CustomEvent("attach:ended", {bubbles: true, detail: answer}));
}

document.addEventListener("change", (e) => {
  const input = e.target;
  if (!(input instanceof HTMLInputElement) || !input.matches("form[data-attach] [data-attach-input]")) return;
  const form = input.form;
  if (!form || sending.has(form) || !input.files || input.files.length === 0) return;
  send(form, input.files[0]);
});

document.addEventListener("click", (e) => {
  const button = e.target instanceof Element ? e.target.closest("[data-attach-cancel]") : null;
  const form = button ? button.closest("form[data-attach]") : null;
  if (form && sending.has(form)) sending.get(form).abort();
});

// Without a script the form would post and show raw JSON: it only ever sends through send().
document.addEventListener("submit", (e) => {
  if (e.target instanceof HTMLFormElement && e.target.matches("form[data-attach]")) e.preventDefault();
});
