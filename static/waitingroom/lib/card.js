/* The card step of a booking page (fragments/waitingroom/payments/_card_step.html): the client
 * types their card into Stripe's field, and the card is saved for this booking, not charged.
 *
 * Wiring it into a page (the view is decorated with waitingroom.payments.web.stripe_page and puts
 * `card_step(...)` in the context; the template puts the fragment inside the booking <form>):
 *
 *   import {cardStep} from "../waitingroom/lib/card.js";
 *   const card = cardStep(form.querySelector("[data-card-step]"));
 *   // before posting the booking:
 *   if (card.needed() && !(await card.ensureSaved({email: form.email.value, name: form.name.value})).ok) return;
 *
 * ensureSaved() asks the server for a SetupIntent (POST setup), has Stripe.js confirm it with the
 * card typed in the page (stripe.confirmCardSetup: the bank's 3-D Secure check, when it wants one,
 * happens in the page), asks the server to read it back (POST finish), then fills the form's
 * hidden card_token and shows "Visa ending 4242 saved". It answers {ok: true, token} or
 * {ok: false, error} (the error is shown in the step and announced too). The form then posts
 * card_token with the booking; the server binds the card to the booking (services.card_bind).
 *
 * A page that switches services in place calls card.setPrice("$45.00") (or "" for a free service:
 * the step hides and needed() is false). The page must load Stripe.js first: the fragment has its
 * classic <script>, which runs before any module. */
import {post} from "./http.js";
import {announce, announceUrgently} from "./announce.js";


export function cardStep(root) {
  if (!root) {
    // No card step on this page (a free service): nothing to save.
    return {needed: () => false, saved: () => false, token: () => "", ensureSaved: async () => ({ok: true, token: ""}), setPrice() {}};
  }
  const q = (selector) => root.querySelector(selector);
  const status = q("[data-card-status]");
  const input = q("[data-card-token]");
  const entry = q("[data-card-entry]");
  const savedBox = q("[data-card-saved]");
  const label = q("[data-card-label]");
  const price = q("[data-card-price]");
  const enabled = root.hasAttribute("data-enabled");
  let needed = !root.hidden;
  let stripe = null;
  let element = null;
  let running = null;

  function say(text, {error = false} = {}) {
    status.textContent = text;
    status.classList.toggle("error", error);
    if (!text) return;
    if (error) announceUrgently(text); else announce(text);
  }

  function mount() {
    if (element || !enabled || !needed) return;
    if (typeof window.Stripe !== "function") {
      say("The card form could not load. Check your connection and reload the page.", {error: true});
      return;
    }
    stripe = window.Stripe(root.dataset.publishableKey);
    element = stripe.elements().create("card");
    element.mount(q("[data-card-mount]"));
  }

  function showSaved(text) {
    label.textContent = text;
    savedBox.hidden = !text;
    entry.hidden = Boolean(text);
  }

  async function save({email, name}) {
    if (!enabled) return {ok: false, error: "Card payments are not available at the moment. Please contact the clinic."};
    if (!email) return {ok: false, error: "Enter your email address to save a card."};
    mount();
    if (!element) return {ok: false, error: "The card form could not load. Check your connection and reload the page."};
    say("Saving your card…");
    const started = await post(root.dataset.setupUrl, new URLSearchParams({email, name: name || ""}));
    if (!started.ok) return started;
    const result = await stripe.confirmCardSetup(started.client_secret, {
      payment_method: {card: element, billing_details: {name: name || "", email}},
    });
    if (result.error) {
      return {ok: false, error: (result.error && result.error.message) || "Your card could not be saved. Check it and try again."};
    }
    const finished = await post(root.dataset.finishUrl, new URLSearchParams({token: started.token}));
    if (!finished.ok) return finished;
    input.value = finished.token;
    showSaved(`${finished.label} saved`);
    return {ok: true, token: finished.token};
  }

  q("[data-card-change]")?.addEventListener("click", () => {
    input.value = "";
    showSaved("");
    say("");
    mount();
  });

  if (!input.value) mount();

  return {
    needed: () => needed,
    saved: () => Boolean(input.value),
    token: () => input.value,
    /* Save the card typed in the page (once: a second call while one runs gets the same answer). */
    ensureSaved({email, name}) {
      if (input.value) return Promise.resolve({ok: true, token: input.value});
      if (!running) {
        running = save({email: (email || "").trim(), name: (name || "").trim()})
          .then((answer) => {
            if (answer.ok) say(label.textContent);
            else say(answer.error, {error: true});
            return answer;
          })
          .finally(() => { running = null; });
      }
      return running;
    },
    setPrice(text) {
      needed = Boolean(text);
      root.hidden = !needed;
      price.textContent = needed ? `Price: ${text}. Your card is saved now and charged only after ${root.dataset.after}.` : "";
      if (needed && !input.value) mount();
    },
  };
}
