"""Card payments' writes, the contract the apps call: saving a card for a booking, charging it
after the consultation, refunding, and Stripe's signed events (Stripe's answers are applied by
answers.py, the emails are receipts.py). Rules:
- keyword-only, typed; PaymentRefused carries a plain-words message and changes nothing;
- a Payment's status moves forward only (lifecycle.moves_forward), under its row lock;
- every change tells the subject's app through settings.PAYMENT_SUBJECTS (`tell_subject`) inside
  the transaction that made it, so what that app publishes leaves after commit;
- Stripe is called outside row locks and outside the caller's transaction where a charge is sent
  (the charge task), with the Payment's idempotency key.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import stripe
from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone

from waitingroom.models import Clinic
from waitingroom.payments import answers, gateway
from waitingroom.payments.lifecycle import PaymentKind, PaymentStatus
from waitingroom.payments.models import Payment, SavedCard, StripeEvent, is_token
from waitingroom.payments.reasons import plain_reason
from waitingroom.payments.selectors import money, refundable_amount
from waitingroom.payments.subjects import Change, PaymentRefused, tell_subject

# The contract's names that live in modules of their own (the apps import them from here).
__all__ = ["Change", "PaymentRefused", "tell_subject"]

logger = logging.getLogger(__name__)


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
        ).to_dict()
        # No payment method types: the card element confirms a card (a type list is named
        # differently across Stripe's API versions, and localstripe knows only the old name).
        intent = stripe_client.v1.setup_intents.create(
            params={"customer": str(customer.get("id", "")), "usage": "off_session", "metadata": metadata}
        ).to_dict()
    except stripe.StripeError as error:
        logger.warning("card setup for clinic %s failed: %r", clinic.pk, error)
        raise PaymentRefused(UNREACHABLE_CARD) from error
    secret = intent.get("client_secret")
    if not (customer.get("id") and intent.get("id") and isinstance(secret, str) and secret):
        logger.error("Stripe answered a card setup without ids (setup intent %s)", intent.get("id"))
        raise PaymentRefused(UNREACHABLE_CARD)
    card = SavedCard.objects.create(
        clinic=clinic,
        email=email,
        name=name.strip()[:120],
        stripe_customer_id=str(customer["id"])[:64],
        stripe_setup_intent_id=str(intent["id"])[:64],
        created_at=timezone.now(),
    )
    return card, secret


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
    if not is_token(token) or not subject:
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

UNREACHABLE = "Stripe could not be reached; the charge was not made yet. Try again."
UNREACHABLE_REFUND = "Stripe could not be reached; the refund was not made yet. Try again."
# A send whose worker died is claimable again after this (the SDK's retries end well before).
SEND_CLAIM = timedelta(minutes=2)
# Stripe keeps an idempotency key's result for 24 hours: a send older than that is not resent by
# the sweep (it could charge twice); a person decides.
IDEMPOTENCY_WINDOW = timedelta(hours=23)
SUBJECT_WORDS = {"consultation": "consultation", "meeting": "meeting", "request": "appointment"}


def _subject_word(subject: str) -> str:
    return SUBJECT_WORDS.get(subject.partition(":")[0], "booking")


def charge_key(subject: str, attempt: int) -> str:
    """The idempotency key of a subject's n-th charge: the same charge sent twice (a task run
    twice, a retry after a lost answer) is one charge at Stripe."""
    return f"charge:{subject}:{attempt}"


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
    if not settings.PAYMENTS_ENABLED:
        raise PaymentRefused("Card payments are turned off here, so nothing was charged.")
    if amount <= 0:
        raise PaymentRefused("Enter an amount above zero.")
    if amount > price:
        raise PaymentRefused(f"The amount can't be more than the price, {money(price, clinic.currency)}.")
    card = SavedCard.objects.filter(clinic=clinic, subject=subject, status=SavedCard.Status.SAVED).first()
    if card is None:
        raise PaymentRefused(
            f"The client saved no card for this {_subject_word(subject)}, so it can't be charged."
        )
    now = timezone.now()
    with transaction.atomic():
        last = Payment.objects.filter(subject=subject, kind=PaymentKind.CHARGE).aggregate(last=Max("attempt"))
        attempt = (last["last"] or 0) + 1
        try:
            with transaction.atomic():
                payment = Payment.objects.create(
                    clinic=clinic,
                    subject=subject,
                    kind=PaymentKind.CHARGE,
                    card=card,
                    description=description[:200],
                    amount=amount,
                    currency=clinic.currency,
                    attempt=attempt,
                    idempotency_key=charge_key(subject, attempt),
                    destination_account=clinic.stripe_account_id,
                    application_fee_amount=_platform_fee(amount) if clinic.stripe_account_id else None,
                    created_by=by,
                    created_at=now,
                    updated_at=now,
                )
        except IntegrityError as error:
            # The live-charge index (or the same attempt's key): another press got there first.
            raise PaymentRefused(
                f"This {_subject_word(subject)} is already being charged or paid, so nothing more was charged."
            ) from error
        tell_subject(payment, Change.STARTED)
        _enqueue_send(payment)
    return payment


def _enqueue_send(payment: Payment) -> None:
    from waitingroom.payments import tasks  # the task module imports this one

    task = tasks.payments_charge_send if payment.kind == PaymentKind.CHARGE else tasks.payments_refund_send
    task.delay_on_commit(payment.pk)  # type: ignore[attr-defined]  # a DjangoTask under Celery's Django fix-up; typed as Task


def charge_retry(*, payment: Payment, by: User) -> Payment:
    """A charge left `pending` because Stripe could not be reached is sent again, with the same
    idempotency key (Stripe applies it once). A refund left so is retried the same way, and so is
    a send that never finished (its worker died: no answer for SEND_CLAIM)."""
    now = timezone.now()
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if not may_send_again(payment=payment, now=now):
            raise PaymentRefused("This payment is not waiting to be sent again.")
        payment.failure_code = ""
        payment.failure_message = ""
        payment.updated_at = now
        payment.save(update_fields=["failure_code", "failure_message", "updated_at"])
        logger.info("payment %s sent again by user %s", payment.pk, by.pk)
        tell_subject(payment, Change.UPDATED)
        _enqueue_send(payment)
    return payment


def may_send_again(*, payment: Payment, now: datetime) -> bool:
    """What charge_retry accepts: pending, unanswered and not being sent, and either Stripe could
    not be reached (its message says so) or its send never finished (SEND_CLAIM). The pages that
    offer Retry (a refund's admin page) ask it."""
    return _resendable(payment, now) and bool(
        payment.failure_message or payment.updated_at < now - SEND_CLAIM
    )


def _resendable(payment: Payment, now: datetime) -> bool:
    """Pending, with no answer from Stripe, and no send under way."""
    sending = payment.sending_since is not None and payment.sending_since > now - SEND_CLAIM
    sent = (
        payment.stripe_payment_intent_id if payment.kind == PaymentKind.CHARGE else payment.stripe_refund_id
    )
    return payment.status == PaymentStatus.PENDING and not sending and not sent


def sends_sweep(*, now: datetime) -> int:
    """Beat: a charge or refund whose send never happened (its task lost with the broker, or its
    worker killed mid-request) is enqueued again; the claim and the idempotency key keep it one
    charge. Those that Stripe could not take wait for a person's Retry (their message says so).
    Returns how many were enqueued."""
    stuck = Payment.objects.filter(
        status=PaymentStatus.PENDING,
        failure_message="",
        updated_at__lt=now - SEND_CLAIM,
        created_at__gt=now - IDEMPOTENCY_WINDOW,
    ).filter(Q(sending_since__isnull=True) | Q(sending_since__lt=now - SEND_CLAIM))
    stuck = stuck.filter(
        Q(kind=PaymentKind.CHARGE, stripe_payment_intent_id="")
        | Q(kind=PaymentKind.REFUND, stripe_refund_id="")
    )
    count = 0
    for payment in stuck.order_by("pk")[:100]:
        _enqueue_send(payment)
        count += 1
    return count


def _claim(payment_id: int, kind: str) -> Payment | None:
    """Take the send of a pending payment nobody is sending (compare-and-set): a task run twice,
    or two at once, sends it once. None: nothing to send."""
    now = timezone.now()
    unsent = Q(stripe_payment_intent_id="") if kind == PaymentKind.CHARGE else Q(stripe_refund_id="")
    claimed = (
        Payment.objects.filter(unsent, pk=payment_id, kind=kind, status=PaymentStatus.PENDING)
        .filter(Q(sending_since__isnull=True) | Q(sending_since__lt=now - SEND_CLAIM))
        .update(sending_since=now)
    )
    if not claimed:
        return None
    return Payment.objects.select_related("clinic", "card", "parent").get(pk=payment_id)


def _unsent(payment_id: int, message: str, code: str) -> None:
    """Stripe did not answer (or could not take it now): the payment stays pending, says why, and
    may be sent again (charge_retry), with the same idempotency key."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        payment.sending_since = None
        fields = ["sending_since"]
        if payment.status == PaymentStatus.PENDING:
            payment.failure_code = code
            payment.failure_message = message
            payment.updated_at = timezone.now()
            fields += ["failure_code", "failure_message", "updated_at"]
        payment.save(update_fields=fields)
        if payment.status == PaymentStatus.PENDING:
            tell_subject(payment, Change.UPDATED)


# Errors after which nothing was charged and the same request may be sent again later.
_TRY_AGAIN = (
    stripe.APIConnectionError,
    stripe.APIError,
    stripe.RateLimitError,
    stripe.AuthenticationError,
    stripe.PermissionError,
)


def charge_send(*, payment_id: int) -> None:
    """The task's body: create and confirm the off-session PaymentIntent (idempotency key from the
    subject and attempt; Connect's transfer_data and application fee when the clinic has an
    account), then apply Stripe's answer. Safe to run twice."""
    payment = _claim(payment_id, PaymentKind.CHARGE)
    if payment is None:
        return
    params = _intent_params(payment)
    try:
        intent = gateway.client().v1.payment_intents.create(
            params=params,  # type: ignore[arg-type]  # built as a plain dict: Connect's keys only when set
            options={"idempotency_key": payment.idempotency_key},
        )
    except stripe.CardError as error:
        answers.apply_card_error(payment_id, error)
    except _TRY_AGAIN as error:
        logger.warning("charge %s not sent: %r", payment_id, error)
        _unsent(payment_id, UNREACHABLE, "stripe_unreachable")
    except stripe.StripeError as error:
        logger.error("Stripe refused charge %s: %r", payment_id, error)
        answers.apply_failure(
            payment_id, code=str(error.code or "stripe_refused"), message=answers.refusal(error)
        )
    else:
        answers.apply_intent(payment_id, intent.to_dict())


def _platform_fee(amount: int) -> int | None:
    """The platform's fee on a charge to a clinic's connected account (None: no fee)."""
    fee = amount * settings.PAYMENTS_PLATFORM_FEE_BPS // 10_000
    return fee if fee > 0 else None


def _intent_params(payment: Payment) -> dict[str, object]:
    card = payment.card
    assert card is not None  # a charge always has its card (charge_request)
    params: dict[str, object] = {
        "amount": payment.amount,
        "currency": payment.currency,
        "customer": card.stripe_customer_id,
        "payment_method": card.stripe_payment_method_id,
        # A card, named: with automatic payment methods (Stripe's default) a charge confirmed from
        # the server would also need a return_url for methods that redirect; a card needs none, and
        # localstripe takes the same request.
        "payment_method_types": ["card"],
        "off_session": True,
        "confirm": True,
        "metadata": {
            "payment": str(payment.pk),
            "subject": payment.subject,
            "clinic": str(payment.clinic_id),
        },
    }
    if payment.destination_account:
        # A destination charge: the clinic's account gets the money, less the platform's fee. Both
        # were fixed when the charge was asked for, so a send repeated after the clinic's account
        # or the fee changed is the same request under the same idempotency key (Stripe refuses a
        # key reused with other parameters, which would leave a charge that may have gone through
        # looking failed).
        params["transfer_data"] = {"destination": payment.destination_account}
        if payment.application_fee_amount:
            params["application_fee_amount"] = payment.application_fee_amount
    return params


def client_confirmed(*, payment: Payment) -> Payment:
    """The client finished authentication on /pay/<token>/: read the PaymentIntent back and apply
    it (the page's word is not trusted)."""
    if payment.kind != PaymentKind.CHARGE or not payment.stripe_payment_intent_id:
        return payment
    try:
        intent = gateway.client().v1.payment_intents.retrieve(payment.stripe_payment_intent_id)
    except stripe.StripeError as error:
        logger.warning("reading intent of payment %s failed: %r", payment.pk, error)
        raise PaymentRefused(
            "Stripe could not be reached to check your payment. Reload this page in a moment."
        ) from error
    answers.apply_intent(payment.pk, intent.to_dict())
    return Payment.objects.select_related("clinic", "card").get(pk=payment.pk)


def cancel_key(payment: Payment) -> str:
    """The idempotency key of a charge's cancel: a press sent twice (or retried by the SDK after a
    lost answer) is one cancel at Stripe."""
    return f"cancel:{payment.idempotency_key}"


CANCEL_ONLY_WAITING = "Only a charge waiting for the client to confirm it can be cancelled."
CANCELLING = "This charge is already being cancelled."
# A cancel whose process died mid-request is claimable again after this (as a send: SEND_CLAIM).
CANCEL_CLAIM = SEND_CLAIM


def charge_cancel(*, payment: Payment, by: User) -> Payment:
    """Staff who may charge cancel a charge the bank holds for the client's confirmation
    (needs_authentication), so it no longer holds the subject and a new Charge may be asked for.

    The cancel is claimed first (a compare-and-set of `cancelling_since`, committed before Stripe
    is called): of two presses at once, one reaches Stripe and the other is told "This charge is
    already being cancelled." and changes nothing (the same idempotency key sent twice at once is
    refused by Stripe as in use, which would read as "could not be reached" while the cancel went
    through; and both could report success and record it twice). The claim is cleared when this
    call ends, whatever the answer, so a cancel Stripe could not be reached for may be tried again;
    a claim left by a process that died is claimable again after CANCEL_CLAIM.

    Stripe is called outside the row lock (PaymentIntent cancel, with its own idempotency key);
    Stripe's answer, or on a refusal the intent read back, is applied forward only under the lock
    (answers.apply_intent), so a cancel racing the client's confirmation ends in whichever Stripe
    applied first: cancelled, or paid (and the caller is told so). A late requires_action answer or
    event never moves a cancelled charge back. Raises PaymentRefused, changing nothing, for a
    charge that is not waiting (paid, failed, cancelled already, not sent yet), one being
    cancelled, or when Stripe can't be reached. Call it outside a transaction: the claim must be
    seen by the other press before Stripe answers."""
    claimed_at = _claim_cancel(payment.pk)
    try:
        return _cancel_at_stripe(payment.pk, by)
    finally:
        # Only our own claim (a later press may have taken an expired one over).
        Payment.objects.filter(pk=payment.pk, cancelling_since=claimed_at).update(cancelling_since=None)


def _claim_cancel(payment_id: int) -> datetime:
    """Take the cancel of a charge waiting for the client that nobody is cancelling (one UPDATE:
    the row's lock orders two presses, and the second re-reads the first's claim). Returns the
    claim's time; raises PaymentRefused with why not."""
    now = timezone.now()
    claimed = (
        Payment.objects.filter(
            pk=payment_id, kind=PaymentKind.CHARGE, status=PaymentStatus.NEEDS_AUTHENTICATION
        )
        .exclude(stripe_payment_intent_id="")
        .filter(Q(cancelling_since__isnull=True) | Q(cancelling_since__lt=now - CANCEL_CLAIM))
        .update(cancelling_since=now)
    )
    if claimed:
        return now
    payment = Payment.objects.get(pk=payment_id)
    if payment.kind != PaymentKind.CHARGE:
        raise PaymentRefused("A refund can't be cancelled here.")
    if payment.status == PaymentStatus.CANCELED:
        raise PaymentRefused("This charge is already cancelled.")
    if payment.status == PaymentStatus.NEEDS_AUTHENTICATION and payment.stripe_payment_intent_id:
        # Claimed when we tried (its claim may have been cleared since, by a cancel Stripe could
        # not be reached for: this press is still refused, and a later one may try).
        raise PaymentRefused(CANCELLING)
    raise PaymentRefused(CANCEL_ONLY_WAITING)


def _cancel_at_stripe(payment_id: int, by: User) -> Payment:
    """charge_cancel's work once its claim is taken."""
    payment = Payment.objects.get(pk=payment_id)
    intent_id = payment.stripe_payment_intent_id
    stripe_client = gateway.client()
    accepted = False  # whether Stripe cancelled it for this call (or its idempotent repeat)
    try:
        answer = stripe_client.v1.payment_intents.cancel(
            intent_id, options={"idempotency_key": cancel_key(payment)}
        )
        accepted = True
    except stripe.InvalidRequestError as error:
        # Stripe cancels only an intent still waiting: the client confirmed it (or a cancel made
        # elsewhere, in Stripe's dashboard, came) first. What Stripe holds now is applied, forward only.
        logger.info("Stripe refused to cancel payment %s: %r", payment.pk, error)
        try:
            answer = stripe_client.v1.payment_intents.retrieve(intent_id)
        except stripe.StripeError as read_error:
            logger.warning("reading intent of payment %s failed: %r", payment.pk, read_error)
            raise PaymentRefused(
                "Stripe refused to cancel this charge and could not be asked why. Reload the page in a moment."
            ) from read_error
    except stripe.StripeError as error:
        logger.warning("cancelling payment %s failed: %r", payment.pk, error)
        raise PaymentRefused(
            "Stripe could not be reached, so the charge was not cancelled. Try again."
        ) from error
    answers.apply_intent(payment.pk, answer.to_dict())
    payment = Payment.objects.select_related("clinic", "card").get(pk=payment.pk)
    if payment.status == PaymentStatus.CANCELED:
        # Stripe's payment_intent.canceled event may have moved the row before this answer did:
        # the cancel is still this call's. Stripe refusing it means another cancel came first.
        if not accepted:
            raise PaymentRefused("This charge is already cancelled.")
        logger.info("payment %s cancelled by user %s", payment.pk, by.pk)
        return payment
    if payment.status == PaymentStatus.SUCCEEDED:
        raise PaymentRefused(
            "The client confirmed the payment before it could be cancelled: it is paid. Refund it if needed."
        )
    if payment.status == PaymentStatus.FAILED:
        raise PaymentRefused("The charge failed before it could be cancelled: nothing was charged.")
    raise PaymentRefused("Stripe did not cancel this charge. Reload the page and try again.")


def client_secret(*, payment: Payment) -> str:
    """The PaymentIntent's client secret, for the client's page to confirm it with Stripe.js: read
    from Stripe when the page is shown, never stored. "" when Stripe can't be reached."""
    if not payment.stripe_payment_intent_id:
        return ""
    try:
        intent = gateway.client().v1.payment_intents.retrieve(payment.stripe_payment_intent_id)
    except stripe.StripeError as error:
        logger.warning("reading intent of payment %s failed: %r", payment.pk, error)
        return ""
    return str(intent.to_dict().get("client_secret") or "")


# --- Refunds -------------------------------------------------------------------------------------


def refund_key(charge: Payment, n: int) -> str:
    return f"refund:{charge.subject}:{charge.attempt}:{n}"


def refund_request(*, charge: Payment, amount: int, reason: str, by: User) -> Payment:
    """A clinic admin refunds `amount` (minor units, > 0, at most what is left unrefunded) of a paid
    charge, with a reason; sent by a task after commit; the client is emailed when it succeeds."""
    reason = " ".join(reason.split())
    if amount <= 0:
        raise PaymentRefused("Enter an amount above zero.")
    if not reason:
        raise PaymentRefused("Give a reason for the refund.")
    if len(reason) > 300:
        raise PaymentRefused("Keep the reason under 300 characters.")
    now = timezone.now()
    with transaction.atomic():
        # The charge's lock serialises refunds of it: two admins can't both refund the rest.
        charge = Payment.objects.select_for_update(of=("self",)).select_related("clinic").get(pk=charge.pk)
        if charge.kind != PaymentKind.CHARGE or charge.status != PaymentStatus.SUCCEEDED:
            raise PaymentRefused("Only a paid charge can be refunded.")
        left = refundable_amount(charge=charge)
        if amount > left:
            if left == 0:
                raise PaymentRefused("This charge is refunded in full already.")
            raise PaymentRefused(f"At most {money(left, charge.currency)} of this charge can be refunded.")
        n = charge.refunds.count() + 1
        refund = Payment.objects.create(
            clinic=charge.clinic,
            subject=charge.subject,
            kind=PaymentKind.REFUND,
            parent=charge,
            card=charge.card,
            description=charge.description,
            amount=amount,
            currency=charge.currency,
            attempt=n,
            idempotency_key=refund_key(charge, n),
            destination_account=charge.destination_account,
            reason=reason,
            created_by=by,
            created_at=now,
            updated_at=now,
        )
        tell_subject(refund, Change.STARTED)
        _enqueue_send(refund)
    return refund


def refund_send(*, payment_id: int) -> None:
    """The refund task's body: Refund.create with the refund's idempotency key; a refund of a
    destination charge takes the money back from the clinic's account and returns the platform's
    fee. Safe to run twice."""
    refund = _claim(payment_id, PaymentKind.REFUND)
    if refund is None:
        return
    charge = refund.parent
    assert charge is not None  # a refund always has its charge (a check constraint)
    params: dict[str, object] = {
        "payment_intent": charge.stripe_payment_intent_id,
        "amount": refund.amount,
        # What the webhook checks a refund's events against (answers.refund_mismatch), and finds
        # the refund by when the answer to this request was lost.
        "metadata": {
            "reason": refund.reason,
            "payment": str(refund.pk),
            "subject": refund.subject,
            "clinic": str(refund.clinic_id),
        },
    }
    if refund.destination_account:
        params["reverse_transfer"] = True
        params["refund_application_fee"] = True
    try:
        answer = gateway.client().v1.refunds.create(
            params=params,  # type: ignore[arg-type]  # built as a plain dict: Connect's keys only when set
            options={"idempotency_key": refund.idempotency_key},
        )
    except _TRY_AGAIN as error:
        logger.warning("refund %s not sent: %r", payment_id, error)
        _unsent(payment_id, UNREACHABLE_REFUND, "stripe_unreachable")
    except stripe.StripeError as error:
        logger.error("Stripe refused refund %s: %r", payment_id, error)
        answers.apply_failure(
            payment_id, code=str(error.code or "stripe_refused"), message=answers.refusal(error)
        )
    else:
        answers.apply_refund(payment_id, answer.to_dict())


# --- Stripe's events -----------------------------------------------------------------------------

INTENT_EVENTS = {
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.requires_action",
    "payment_intent.canceled",
}
REFUND_EVENTS = {"refund.created", "refund.updated", "charge.refund.updated"}


def event_apply(*, event_id: str, event_type: str, obj: dict[str, object]) -> bool:
    """A verified Stripe event: kept once by id (a repeat changes nothing) and applied forward only
    to the payment it names. Returns whether anything changed."""
    object_id = str(obj.get("id") or "")[:64]
    with transaction.atomic():
        try:
            with transaction.atomic():
                event = StripeEvent.objects.create(
                    event_id=event_id[:64],
                    type=event_type[:64],
                    object_id=object_id,
                    received_at=timezone.now(),
                )
        except IntegrityError:
            return False  # delivered before
        changed = False
        if event_type in INTENT_EVENTS:
            payment_id = answers.payment_for(
                obj, kind=PaymentKind.CHARGE, id_field="stripe_payment_intent_id"
            )
            if payment_id is not None:
                changed = answers.apply_intent(payment_id, dict(obj))
        elif event_type in REFUND_EVENTS:
            changed = _refund_event(event, dict(obj))
        elif event_type == "charge.refunded":
            refunds = obj.get("refunds")
            items = refunds.get("data") if isinstance(refunds, dict) else None
            for item in items if isinstance(items, list) else []:
                if not isinstance(item, dict):
                    continue
                # The refunds a charge lists are that charge's: they name it by the event's object.
                charge_of = {
                    "charge_id": object_id,
                    "intent_id": answers.stripe_id(obj.get("payment_intent")),
                }
                changed = _refund_event(event, item, **charge_of) or changed
        if changed:
            event.applied = True
            event.save(update_fields=["applied"])
    return changed


def _refund_event(event: StripeEvent, refund: dict, *, charge_id: str = "", intent_id: str = "") -> bool:
    """A refund in an event, applied to the refund it belongs to only (answers.refund_mismatch): one
    of another charge or subject is kept with its event and changes nothing, and is logged."""
    payment_id = answers.payment_for(refund, kind=PaymentKind.REFUND, id_field="stripe_refund_id")
    if payment_id is None:
        return False
    mismatch = answers.refund_mismatch(payment_id, refund, charge_id=charge_id, intent_id=intent_id)
    if mismatch:
        logger.warning(
            "stripe event %s (%s): refund %s of it not applied to payment %s: %s",
            event.event_id,
            event.type,
            str(refund.get("id") or "")[:64],
            payment_id,
            mismatch,
        )
        return False
    return answers.apply_refund(payment_id, refund)
