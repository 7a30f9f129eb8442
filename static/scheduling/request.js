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

if (form) {
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
