/* The request form: changing the service or provider reloads the form with that choice (the
 * server lists the open times for it), at most three times can be ticked, and the times show only
 * for Scheduled. Without JavaScript the server enforces the same rules.
 *
 * A paid service has the card step (waitingroom/lib/card.js): on Send the card typed into Stripe's
 * field is saved first (the bank's check, when it wants one, happens in the page), then the form
 * posts with the saved card's token. A card that can't be saved stops the post with its reason. */
import {cardStep} from "../waitingroom/lib/card.js";

const form = document.querySelector("[data-request-form]");

function limit() {
  const slots = form.querySelector("[data-slots]");
  if (!slots) return;
  const max = Number(slots.dataset.max);
  const ticked = slots.querySelectorAll("input[type=checkbox]:checked").length;
  slots.querySelectorAll("input[type=checkbox]").forEach((b) => { b.disabled = !b.checked && ticked >= max; });
}
function showTimes() {
  const kind = form.querySelector("[name=kind]:checked");
  const scheduled = !kind || kind.value === "scheduled";
  form.querySelectorAll("[data-slots], .proposed").forEach((el) => { el.hidden = !scheduled; });
}

/* The open times, one day at a time: a phone showed all of them (hundreds of tiny boxes) at once.
 * Previous/Next and a day list move between days; every day's boxes stay in the form, so the
 * same `slots` values post and the server is unchanged. */
function dayPicker(slots) {
  const days = slots ? [...slots.querySelectorAll(".slot-days > div > div")] : [];
  if (days.length < 2) return;
  slots.querySelector(".slot-days").classList.add("one-day");
  const nav = document.createElement("div");
  nav.className = "day-nav";
  const button = (text) => {
    const b = document.createElement("button");
    b.type = "button"; b.className = "day-step"; b.textContent = text;
    return b;
  };
  const prev = button("Previous day"), next = button("Next day");
  const choose = document.createElement("select");
  choose.setAttribute("aria-label", "Day");
  days.forEach((day, i) => {
    const option = document.createElement("option");
    option.value = String(i);
    option.textContent = day.firstElementChild.textContent.trim();
    choose.appendChild(option);
  });
  nav.append(prev, choose, next);
  slots.querySelector(".slot-days").before(nav);
  let shown = 0;
  const show = (i) => {
    shown = Math.max(0, Math.min(days.length - 1, i));
    days.forEach((day, j) => { day.hidden = j !== shown; });
    choose.value = String(shown);
    prev.disabled = shown === 0;
    next.disabled = shown === days.length - 1;
  };
  prev.addEventListener("click", () => show(shown - 1));
  next.addEventListener("click", () => show(shown + 1));
  // Not a form change: the form's change handler must not see it.
  choose.addEventListener("change", (e) => { e.stopPropagation(); show(Number(choose.value)); });
  // A day with a ticked time first (a form sent back with an error), else the first day.
  show(Math.max(0, days.findIndex((day) => day.querySelector("input:checked"))));
}

if (form) {
  dayPicker(form.querySelector("[data-slots]"));
  ["service", "provider"].forEach((name) => {
    const select = form.querySelector(`[name=${name}]`);
    if (!select) return;
    select.addEventListener("change", () => {
      const params = new URLSearchParams();
      ["service", "provider"].forEach((n) => { const s = form.querySelector(`[name=${n}]`); if (s && s.value) params.set(n, s.value); });
      const kind = form.querySelector("[name=kind]:checked");
      if (kind) params.set("kind", kind.value);
      location.search = params.toString();
    });
  });
  form.addEventListener("change", () => { limit(); showTimes(); });
  limit(); showTimes();

  const card = cardStep(form.querySelector("[data-card-step]"));
  const send = form.querySelector("button[type=submit]");
  form.addEventListener("submit", async (e) => {
    if (!card.needed() || card.saved()) return;
    e.preventDefault();
    send.disabled = true;
    try {
      const field = (name) => form.elements.namedItem(name).value;
      const saved = await card.ensureSaved({email: field("email"), name: field("name")});
      // Posted again, now with the card's token: this handler lets it through.
      if (saved.ok) form.requestSubmit();
    } finally {
      send.disabled = false;
    }
  });
}
