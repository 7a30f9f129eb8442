/* The guest's meeting page of a paid session: the card typed into Stripe's field (the card step,
 * waitingroom/lib/card.js) is saved first, for the guest's email, then the form posts its token
 * and the server binds the card to the meeting. A card that can't be saved stops the post with
 * its reason. */
import {cardStep} from "../waitingroom/lib/card.js";

const form = document.querySelector("[data-card-form]");

if (form) {
  const card = cardStep(form.querySelector("[data-card-step]"));
  const send = form.querySelector("[data-save-card]");
  form.addEventListener("submit", async (e) => {
    if (card.saved()) return;
    e.preventDefault();
    send.disabled = true;
    try {
      const saved = await card.ensureSaved({email: form.dataset.email, name: form.dataset.name});
      // Posted again, now with the card's token: this handler lets it through.
      if (saved.ok) form.requestSubmit();
    } finally {
      send.disabled = false;
    }
  });
}
