"""Stripe's reasons in plain words: what the room, the client's page and the emails say when a
card is declined, needs the bank's confirmation, or a refund can't go back to it."""

from __future__ import annotations

# By error code (or decline code). A code not here shows Stripe's own message, which is written for
# people too.
REASONS = {
    "card_declined": "Your card was declined.",
    "generic_decline": "Your card was declined.",
    "do_not_honor": "Your card was declined.",
    "expired_card": "Your card has expired.",
    "insufficient_funds": "Your card has insufficient funds.",
    "incorrect_cvc": "Your card's security code is incorrect.",
    "incorrect_number": "Your card number is incorrect.",
    "lost_card": "Your card was declined.",
    "stolen_card": "Your card was declined.",
    "processing_error": "An error occurred while processing your card. Try again.",
    "authentication_required": "Your bank needs you to confirm this payment.",
    "payment_intent_authentication_failure": "The payment was not confirmed with your bank.",
    "setup_intent_authentication_failure": "Your card was not confirmed with your bank.",
}


def plain_reason(error: dict | None) -> str:
    """A Stripe error object (a PaymentIntent's last_payment_error, a SetupIntent's
    last_setup_error, an API error's body) in plain words; "" for none."""
    if not error:
        return ""
    for code in (error.get("decline_code"), error.get("code")):
        if isinstance(code, str) and code in REASONS:
            return REASONS[code]
    message = error.get("message")
    return str(message)[:300] if message else "The payment was refused."


REFUND_FAILURES = {
    "lost_or_stolen_card": "The card was reported lost or stolen, so the money can't go back to it.",
    "expired_or_canceled_card": "The card has expired or was cancelled, so the money can't go back to it.",
    "declined": "The client's bank declined the refund.",
}
