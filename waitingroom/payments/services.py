"""Card payments' writes: saving a card for a booking, charging it after the consultation,
refunding, and applying Stripe's answers and signed events. Every write is here.

CONTRACT (the lead wrote the signatures; the payments helper fills the bodies). Rules:
- keyword-only, typed; PaymentRefused carries a plain-words message and changes nothing;
- a Payment's status moves forward only (lifecycle.moves_forward), under its row lock;
- every change tells the subject's app through settings.PAYMENT_SUBJECTS (`tell_subject`) inside
  the transaction that made it, so what that app publishes leaves after commit;
- Stripe is called outside row locks and outside the caller's transaction where a charge is sent
  (the charge task), with the Payment's idempotency key.
"""

from __future__ import annotations

import logging

import stripe
from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from waitingroom.models import Clinic
from waitingroom.payments import gateway
from waitingroom.payments.models import Payment, SavedCard

logger = logging.getLogger(__name__)


class PaymentRefused(Exception):
    """The payment action can't be done as asked (the message says why, for the page). Changes
    nothing."""


class Change:
    """What a subject's handler hears (settings.PAYMENT_SUBJECTS): `(payment, *, what)`."""

    STARTED = "started"  # a charge or refund was stored (pending)
    UPDATED = "updated"  # its status moved (succeeded, failed, needs authentication ...)


def tell_subject(payment: Payment, what: str) -> None:
    kind = payment.subject.partition(":")[0]
    import_string(settings.PAYMENT_SUBJECTS[kind])(payment, what=what)


# Stripe's reasons in plain words, by error code (or decline code): what the room and the client
# read. A code not here shows Stripe's own message, which is written for people too.
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


# --- Saving a card at booking --------------------------------------------------------------------

UNREACHABLE_CARD = "The card service could not be reached, so your card was not saved. Try again in a moment."


def _payments_on() -> None:
    if not settings.PAYMENTS_ENABLED:
        raise PaymentRefused("Card payments are not available at the moment. Please contact the clinic.")


def card_setup_start(*, clinic: Clinic, email: str, name: str) -> tuple[SavedCard, str]:
    """Ask Stripe for a Customer and a SetupIntent (usage=off_session, card) for a booking page.
    Returns the pending SavedCard (its `token` is the page's handle) and the SetupIntent's
    client_secret for Stripe.js. Raises PaymentRefused when payments are off or Stripe can't be
    reached."""
    _payments_on()
    email = email.strip()
    if not email:
        raise PaymentRefused("Enter your email address to save a card.")
    metadata: dict[str, str] = {"clinic": str(clinic.pk)}
    try:
        stripe_client = gateway.client()
        customer = stripe_client.v1.customers.create(
            params={"email": email, "name": name.strip(), "metadata": metadata}
        )
        # No payment method types: the card element confirms a card (a type list is named
        # differently across Stripe's API versions, and localstripe knows only the old name).
        intent = stripe_client.v1.setup_intents.create(
            params={"customer": customer.id, "usage": "off_session", "metadata": metadata}
        )
    except stripe.StripeError as error:
        logger.warning("card setup for clinic %s failed: %r", clinic.pk, error)
        raise PaymentRefused(UNREACHABLE_CARD) from error
    card = SavedCard.objects.create(
        clinic=clinic,
        email=email,
        name=name.strip()[:120],
        stripe_customer_id=customer.id,
        stripe_setup_intent_id=intent.id,
        created_at=timezone.now(),
    )
    return card, str(intent.client_secret)


def card_setup_finish(*, clinic: Clinic, token: str) -> SavedCard:
    """After Stripe.js confirmed the SetupIntent in the page: read it back from Stripe (the page's
    word is not trusted); succeeded -> the card is `saved` with brand, last4 and expiry from its
    PaymentMethod. Idempotent. Raises PaymentRefused (not confirmed, declined, another clinic's)."""
    card = SavedCard.objects.filter(clinic=clinic, token=token).first() if token else None
    if card is None:
        raise PaymentRefused("This card was not found. Enter it again.")
    if card.status == SavedCard.Status.SAVED:
        return card
    if card.status == SavedCard.Status.FAILED:
        raise PaymentRefused("This card was declined. Enter another card.")
    try:
        intent = gateway.client().v1.setup_intents.retrieve(
            card.stripe_setup_intent_id, params={"expand": ["payment_method"]}
        )
    except stripe.StripeError as error:
        logger.warning("reading setup intent %s failed: %r", card.stripe_setup_intent_id, error)
        raise PaymentRefused(UNREACHABLE_CARD) from error
    seti = intent.to_dict()
    status = seti.get("status")
    if status == "succeeded" and seti.get("customer") == card.stripe_customer_id:
        method = seti.get("payment_method") or {}
        if isinstance(method, str):  # not expanded
            method = gateway.client().v1.payment_methods.retrieve(method).to_dict()
        details = method.get("card") or {}
        with transaction.atomic():
            card = SavedCard.objects.select_for_update().get(pk=card.pk)
            if card.status == SavedCard.Status.PENDING:
                card.status = SavedCard.Status.SAVED
                card.stripe_payment_method_id = str(method.get("id", ""))[:64]
                card.brand = str(details.get("brand") or "card")[:20]
                card.last4 = str(details.get("last4") or "")[:4]
                card.exp_month = _small_int(details.get("exp_month"))
                card.exp_year = _small_int(details.get("exp_year"))
                card.saved_at = timezone.now()
                card.save(
                    update_fields=[
                        "status",
                        "stripe_payment_method_id",
                        "brand",
                        "last4",
                        "exp_month",
                        "exp_year",
                        "saved_at",
                    ]
                )
        return card
    setup_error = seti.get("last_setup_error") or {}
    if status == "canceled" or setup_error:
        SavedCard.objects.filter(pk=card.pk, status=SavedCard.Status.PENDING).update(
            status=SavedCard.Status.FAILED
        )
        raise PaymentRefused(f"{plain_reason(setup_error) or 'Your card was declined.'} Enter another card.")
    if status == "requires_action":
        raise PaymentRefused("Your bank asks you to confirm this card. Press the button again to confirm it.")
    if status == "processing":
        raise PaymentRefused("Your card is still being checked. Try again in a moment.")
    raise PaymentRefused("Your card was not saved yet. Enter it and try again.")


def _small_int(value: object) -> int | None:
    return value if isinstance(value, int) and 0 < value < 10_000 else None


def card_bind(*, clinic: Clinic, token: str, subject: str, email: str) -> SavedCard:
    """Inside the booking's transaction: the saved, unbound card with this token, of this clinic,
    saved for this email (case-insensitive), becomes `subject`'s (row-locked; once). Raises
    PaymentRefused("Save a card to book this paid service.") otherwise."""
    refused = PaymentRefused("Save a card to book this paid service.")
    if not token or len(token) > 40 or not subject:
        raise refused
    with transaction.atomic():
        card = (
            SavedCard.objects.select_for_update()
            .filter(clinic=clinic, token=token, status=SavedCard.Status.SAVED, subject="")
            .first()
        )
        if card is None or card.email.casefold() != email.strip().casefold():
            raise refused
        card.subject = subject
        try:
            with transaction.atomic():
                card.save(update_fields=["subject"])
        except IntegrityError as error:  # one card per subject
            raise PaymentRefused("This booking has a card already.") from error
    return card


def card_move(*, from_subject: str, to_subject: str) -> SavedCard | None:
    """An accepted appointment request's card follows it to the meeting it booked ("request:5" ->
    "meeting:9"), inside the accepting transaction. None when the request had no card."""
    with transaction.atomic():
        card = (
            SavedCard.objects.select_for_update().filter(subject=from_subject).first()
            if from_subject
            else None
        )
        if card is None:
            return None
        card.subject = to_subject
        card.save(update_fields=["subject"])
    return card


# --- Charging after the consultation -----------------------------------------------------------


def charge_request(
    *,
    clinic: Clinic,
    subject: str,
    amount: int,
    price: int,
    description: str,
    by: User,
) -> Payment:
    """The expert pressed Charge: `amount` (minor units) must be > 0 and <= `price` (the service's
    price, minor units). The subject's saved card is charged off-session in the clinic's currency,
    by a task after commit (charge_send). A subject with a live charge (pending, waiting for the
    client, or paid) is refused: the partial unique index decides, so two presses, two experts at
    once or a retried task make one charge. After a failed charge a new press is the next attempt.
    The caller has checked who may charge (its own access rules) and the subject's state."""
    raise NotImplementedError


def charge_retry(*, payment: Payment, by: User) -> Payment:
    """A charge left `pending` because Stripe could not be reached is sent again, with the same
    idempotency key (Stripe applies it once)."""
    raise NotImplementedError


def charge_send(*, payment_id: int) -> None:
    """The task's body: create and confirm the off-session PaymentIntent (idempotency key from the
    subject and attempt; Connect's transfer_data and application fee when the clinic has an
    account), then apply Stripe's answer. Safe to run twice."""
    raise NotImplementedError


def client_confirmed(*, payment: Payment) -> Payment:
    """The client finished authentication on /pay/<token>/: read the PaymentIntent back and apply
    it (the page's word is not trusted)."""
    raise NotImplementedError


# --- Refunds -------------------------------------------------------------------------------------


def refund_request(*, charge: Payment, amount: int, reason: str, by: User) -> Payment:
    """A clinic admin refunds `amount` (minor units, > 0, at most what is left unrefunded) of a paid
    charge, with a reason; sent by a task after commit; the client is emailed when it succeeds."""
    raise NotImplementedError


# --- Stripe's events -----------------------------------------------------------------------------


def event_apply(*, event_id: str, event_type: str, obj: dict[str, object]) -> bool:
    """A verified Stripe event: kept once by id (a repeat changes nothing) and applied forward only
    to the payment it names. Returns whether anything changed."""
    raise NotImplementedError
