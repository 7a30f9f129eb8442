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

from django.conf import settings
from django.contrib.auth.models import User
from django.utils.module_loading import import_string

from waitingroom.models import Clinic
from waitingroom.payments.models import Payment, SavedCard


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


# --- Saving a card at booking --------------------------------------------------------------------


def card_setup_start(*, clinic: Clinic, email: str, name: str) -> tuple[SavedCard, str]:
    """Ask Stripe for a Customer and a SetupIntent (usage=off_session, card) for a booking page.
    Returns the pending SavedCard (its `token` is the page's handle) and the SetupIntent's
    client_secret for Stripe.js. Raises PaymentRefused when payments are off or Stripe can't be
    reached."""
    raise NotImplementedError


def card_setup_finish(*, clinic: Clinic, token: str) -> SavedCard:
    """After Stripe.js confirmed the SetupIntent in the page: read it back from Stripe (the page's
    word is not trusted); succeeded -> the card is `saved` with brand, last4 and expiry from its
    PaymentMethod. Idempotent. Raises PaymentRefused (not confirmed, declined, another clinic's)."""
    raise NotImplementedError


def card_bind(*, clinic: Clinic, token: str, subject: str, email: str) -> SavedCard:
    """Inside the booking's transaction: the saved, unbound card with this token, of this clinic,
    saved for this email (case-insensitive), becomes `subject`'s (row-locked; once). Raises
    PaymentRefused("Save a card to book this paid service.") otherwise."""
    raise NotImplementedError


def card_move(*, from_subject: str, to_subject: str) -> SavedCard | None:
    """An accepted appointment request's card follows it to the meeting it booked ("request:5" ->
    "meeting:9"), inside the accepting transaction. None when the request had no card."""
    raise NotImplementedError


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
