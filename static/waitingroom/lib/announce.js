/* What screen-reader users hear, and the toasts everyone sees. One polite and one assertive live
 * region per page, created on first use (a region must exist before text lands in it, so the
 * text is written on the next frame). */
import {chime} from "./chime.js";
import {titleSays} from "./title.js";

const regions = {};

function region(politeness) {
  if (!regions[politeness]) {
    const el = document.createElement("div");
    el.className = "visually-hidden";
    el.setAttribute("aria-live", politeness);
    el.setAttribute("aria-atomic", "true");
    el.dataset.announce = politeness;
    document.body.appendChild(el);
    regions[politeness] = el;
  }
  return regions[politeness];
}

export function announce(text, {assertive = false} = {}) {
  const el = region(assertive ? "assertive" : "polite");
  el.textContent = "";
  requestAnimationFrame(() => { el.textContent = text; });
}

export function announceUrgently(text) {
  announce(text, {assertive: true});
}

/* A change of status a patient must not miss while looking elsewhere: read out (assertive when
 * urgent), said in the tab's title, and with a chime (unless muted) for what wants them now. */
export function statusChange(text, {assertive = false, title = text, sound = false} = {}) {
  announce(text, {assertive});
  titleSays(title);
  if (sound) chime();
}

/* A short message in the page's [data-toast] (one is made if the page has none). Success is
 * green and polite; an error is red and assertive. */
let toastTimer = null;
export function toast(text, {ok = false, ms = 6000} = {}) {
  if (!text) return;
  let el = document.querySelector("[data-toast]");
  if (!el) {
    el = document.createElement("p");
    el.className = "toast";
    el.dataset.toast = "";
    document.body.appendChild(el);
  }
  el.textContent = text;
  el.classList.toggle("ok", ok);
  el.classList.toggle("error", !ok);
  el.setAttribute("role", ok ? "status" : "alert");
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, ms);
}
