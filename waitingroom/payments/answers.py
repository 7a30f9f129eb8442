"""Stripe's word applied to a Payment: the answer to our request, what the client's page read back,
or a signed event. Under the payment's row lock its Stripe ids are recorded and its status moves
forward only (lifecycle.moves_forward), so a late, repeated or out-of-order answer changes nothing;
a move tells the subject's app and stores the emails it sends (receipts.py), inside the
transaction."""

from __future__ import annotations

import logging

import stripe
from django.db import transaction
from django.utils import timezone

from waitingroom.payments import receipts
from waitingroom.payments.lifecycle import PaymentKind, PaymentStatus, from_payment_intent, moves_forward
from waitingroom.payments.models import Payment
from waitingroom.payments.reasons import REASONS, REFUND_FAILURES, plain_reason
from waitingroom.payments.subjects import Change, tell_subject

logger = logging.getLogger(__name__)


def refusal(error: stripe.StripeError) -> str:
    return f"Stripe refused it: {error.user_message or 'no reason given'}"[:300]


def _error_body(error: stripe.StripeError) -> dict:
    body = error.json_body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return dict(body["error"])
    return {"code": error.code, "message": error.user_message}


def apply_card_error(payment_id: int, error: stripe.CardError) -> None:
    """A declined charge, or one the bank wants the client to authenticate (Stripe answers 402;
    the intent, when it says which, is in the error)."""
    body = _error_body(error)
    code = str(body.get("code") or error.code or "card_declined")
    intent = body.get("payment_intent")
    if isinstance(intent, dict) and intent.get("id"):
        intent = {**intent, "last_payment_error": intent.get("last_payment_error") or body}
        apply_intent(payment_id, intent)
        return
    status = PaymentStatus.NEEDS_AUTHENTICATION if code == "authentication_required" else PaymentStatus.FAILED
    move(
        payment_id,
        status,
        {
            "failure_code": code,
            "failure_message": plain_reason(body),
            "stripe_charge_id": str(body.get("charge") or "")[:64],
        },
    )


def apply_failure(payment_id: int, *, code: str, message: str) -> None:
    move(payment_id, PaymentStatus.FAILED, {"failure_code": code[:64], "failure_message": message})


def apply_intent(payment_id: int, intent: dict) -> bool:
    """Stripe's PaymentIntent (an answer, a read-back or an event's object) applied forward only."""
    error = intent.get("last_payment_error") or {}
    status = from_payment_intent(str(intent.get("status", "")), str(error.get("code") or ""))
    charge = intent.get("latest_charge")
    charge_id = charge.get("id") if isinstance(charge, dict) else charge
    fields: dict[str, object] = {"stripe_payment_intent_id": str(intent.get("id", ""))[:64]}
    if charge_id:
        fields["stripe_charge_id"] = str(charge_id)[:64]
    if status in (PaymentStatus.FAILED, PaymentStatus.NEEDS_AUTHENTICATION):
        fields["failure_code"] = str(error.get("code") or "")[:64]
        fields["failure_message"] = plain_reason(error) or (
            REASONS["authentication_required"] if status == PaymentStatus.NEEDS_AUTHENTICATION else ""
        )
    return move(payment_id, status, fields, intent_id=str(intent.get("id", "")))


def move(
    payment_id: int,
    status: PaymentStatus,
    fields: dict[str, object] | None = None,
    *,
    intent_id: str = "",
    refund_id: str = "",
) -> bool:
    """Under the payment's row lock: its Stripe ids are recorded, and its status moves only
    forward (lifecycle.moves_forward), with the fields that go with it. A payment that moved
    tells its subject, and its emails are stored (sent after commit). Returns whether it moved."""
    given: dict[str, object] = fields or {}
    now = timezone.now()
    with transaction.atomic():
        payment = (
            Payment.objects.select_for_update(of=("self",))
            .select_related("clinic", "card", "parent")
            .get(pk=payment_id)
        )
        if intent_id and payment.stripe_payment_intent_id not in ("", intent_id):
            logger.error(
                "payment %s is intent %s, not %s", payment.pk, payment.stripe_payment_intent_id, intent_id
            )
            return False
        if refund_id and payment.stripe_refund_id not in ("", refund_id):
            logger.error("refund %s is %s, not %s", payment.pk, payment.stripe_refund_id, refund_id)
            return False
        changed = ["sending_since"] if payment.sending_since is not None else []
        payment.sending_since = None
        for name in ("stripe_payment_intent_id", "stripe_charge_id", "stripe_refund_id"):
            if given.get(name) and not getattr(payment, name):
                setattr(payment, name, given[name])
                changed.append(name)
        was = payment.status
        moved = moves_forward(payment.status, status)
        if moved:
            payment.status = status
            payment.failure_code = str(given.get("failure_code", ""))[:64]
            payment.failure_message = str(given.get("failure_message", ""))[:300]
            changed += ["status", "failure_code", "failure_message"]
            if status == PaymentStatus.SUCCEEDED:
                payment.succeeded_at = now
                changed.append("succeeded_at")
        if changed:
            payment.updated_at = now
            payment.save(update_fields=[*changed, "updated_at"])
        if moved:
            tell_subject(payment, Change.UPDATED)
            _aftermove(payment, was=was)
    return moved


def _aftermove(payment: Payment, *, was: str) -> None:
    """The emails a move sends (inside its transaction: the outbox stores them, sends after)."""
    if payment.status == PaymentStatus.NEEDS_AUTHENTICATION:
        receipts.authentication_request(payment)
    elif (
        payment.status == PaymentStatus.CANCELED
        and payment.kind == PaymentKind.CHARGE
        and was == PaymentStatus.NEEDS_AUTHENTICATION
    ):
        # The client was emailed a link to confirm it: tell them it asks for nothing now. A move
        # happens once (cancelled is final), whichever of the cancel's answer or Stripe's event
        # made it, and the outbox's reference keeps it one email.
        receipts.cancellation(payment)
    elif payment.status == PaymentStatus.SUCCEEDED:
        # Once per payment, whichever of Stripe's answer, the client's page or an event got here.
        first = Payment.objects.filter(pk=payment.pk, receipt_sent_at__isnull=True).update(
            receipt_sent_at=timezone.now()
        )
        if first:
            if payment.kind == PaymentKind.CHARGE:
                receipts.receipt(payment)
            else:
                receipts.refund_receipt(payment)


def apply_refund(payment_id: int, refund: dict) -> bool:
    status = {
        "succeeded": PaymentStatus.SUCCEEDED,
        "failed": PaymentStatus.FAILED,
        "canceled": PaymentStatus.CANCELED,
    }.get(str(refund.get("status")), PaymentStatus.PENDING)
    reason = str(refund.get("failure_reason") or "")
    fields: dict[str, object] = {"stripe_refund_id": str(refund.get("id", ""))[:64]}
    if status == PaymentStatus.FAILED:
        fields["failure_code"] = reason
        fields["failure_message"] = REFUND_FAILURES.get(reason, "The refund failed at Stripe.")
    return move(payment_id, status, fields, refund_id=str(refund.get("id", "")))


def payment_for(obj: dict, *, kind: str, id_field: str) -> int | None:
    """The payment a Stripe object is about: by its Stripe id, else by the metadata we sent with it
    (the answer to our request may have been lost), checked against the subject it names."""
    stripe_id = obj.get("id")
    if isinstance(stripe_id, str) and stripe_id:
        found = (
            Payment.objects.filter(kind=kind, **{id_field: stripe_id}).values_list("pk", flat=True).first()
        )
        if found is not None:
            return found
    metadata = obj.get("metadata")
    raw = metadata.get("payment") if isinstance(metadata, dict) else None
    if not (isinstance(raw, str) and raw.isdigit()):
        return None
    candidate = Payment.objects.filter(pk=int(raw), kind=kind, **{id_field: ""}).first()
    if candidate is None:
        return None
    subject = metadata.get("subject") if isinstance(metadata, dict) else None
    if kind == PaymentKind.CHARGE and subject != candidate.subject:
        return None  # another deployment's payment of the same number, on the same Stripe account
    return candidate.pk


def stripe_id(value: object) -> str:
    """A Stripe reference as sent: an id, or the object expanded in its place."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else ""


def refund_mismatch(payment_id: int, refund: dict, *, charge_id: str = "", intent_id: str = "") -> str:
    """Why a Stripe refund object (an event's) is not the refund `payment_id` it was found for, or
    "" when it is. It must name the refund's charge, by the charge or the payment intent (a
    `charge.refunded` event's refunds are checked against the event's charge too: `charge_id`,
    `intent_id`), and none of them may be another's; the metadata we sent with it (`payment`, `subject`, `clinic`) must
    agree where present. Found by a refund id or by metadata alone, an event of another charge (a
    bug, another deployment on the same Stripe account, a forged object) must not move ours."""
    payment = Payment.objects.select_related("parent").get(pk=payment_id)
    charge = payment.parent
    if charge is None:
        return "it has no charge"
    # Each id the event gives (the refund's own, and a charge.refunded event's charge) must be the
    # refund's charge's, and at least one must be there to compare.
    named = {
        "payment intent": (
            [stripe_id(refund.get("payment_intent")), intent_id],
            charge.stripe_payment_intent_id,
        ),
        "charge": ([stripe_id(refund.get("charge")), charge_id], charge.stripe_charge_id),
    }
    matched = False
    for what, (given, ours) in named.items():
        for theirs in filter(None, given):
            if ours and theirs != ours:
                return f"its {what} is {theirs}, the refund's charge is {ours}"
            matched = matched or theirs == ours
    if not matched:
        return "it names none of the refund's charge's Stripe ids"
    metadata = refund.get("metadata")
    expected = {"payment": str(payment.pk), "subject": payment.subject, "clinic": str(payment.clinic_id)}
    for key, ours_value in expected.items():
        theirs_value = metadata.get(key) if isinstance(metadata, dict) else None
        if theirs_value not in (None, "") and str(theirs_value) != ours_value:
            return f"its metadata {key} is {theirs_value!r}, not {ours_value!r}"
    return ""
