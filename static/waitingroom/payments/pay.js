/* The client's payment page (/pay/<token>/): "Confirm payment" has Stripe.js confirm the charge
 * with the client's bank (its 3-D Secure check happens in the page), then posts the form, and the
 * server reads the payment back from Stripe and shows where it stands. The page's word is never
 * trusted: a failed or abandoned check is posted too, so the page always shows Stripe's state. */
import {announce, announceUrgently} from "../lib/announce.js";

const form = document.querySelector("[data-pay-form]");
const status = document.querySelector("[data-pay-status]");

function say(text, {error = false} = {}) {
  status.textContent = text;
  status.classList.toggle("error", error);
  if (error) announceUrgently(text); else announce(text);
}

if (form) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    if (typeof window.Stripe !== "function") {
      say("The payment service could not load. Check your connection and reload the page.", {error: true});
      return;
    }
    button.disabled = true;
    say("Confirming with your bank…");
    const stripe = window.Stripe(form.dataset.publishableKey);
    const result = await stripe.confirmCardPayment(form.dataset.clientSecret, {payment_method: form.dataset.paymentMethod});
    if (result.error) say(result.error.message || "Your bank did not confirm the payment.", {error: true});
    else say("Checking your payment…");
    form.submit();
  });
}
