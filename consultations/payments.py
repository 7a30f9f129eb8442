"""A paid phone consultation's card payment. The card is saved at booking (consultations/booking.py
binds it to the consultation) and charged in the room once the consultation has taken place, by
the card payments of the clinic core (waitingroom/payments/): this module decides who may charge
and when, under the consultation's row lock, and words the payment for both sides of the room.

- `charge` / `charge_retry`: the expert holding the claim (or a clinic admin) charges the saved
  card in progress or completed, at most the service's price; the payments core sends it after
  commit and its one-live-charge index makes two presses, two experts or a retried task one charge.
- `payment_changed` (settings.PAYMENT_SUBJECTS): every change of a consultation's payment re-fetches
  the room's `payment` part on both sides.
- `staff_part` / `client_part`: the room's payment panel.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import transaction
from django.urls import reverse
from markupsafe import Markup

from consultations import access, lifecycle, publishing, services
from consultations.lifecycle import Status
from consultations.models import Consultation
from consultations.publishing import Part
from scheduling.models import Service
from waitingroom.fragments import render_fragment
from waitingroom.payments import selectors as pay_selectors
from waitingroom.payments import services as pay
from waitingroom.payments.lifecycle import PaymentKind, PaymentStatus
from waitingroom.payments.models import Payment, SavedCard

# What the room's views need of the payments core's reads, so they import this module only.
minor_units = pay_selectors.minor_units
money = pay_selectors.money

SUBJECT = "consultation"
NO_CARD = "Save a card to book this paid service."
PAYMENTS_OFF = "Card payments are not available right now, so this paid consultation can't be booked online. Please call the clinic."


def subject_of(consultation_id: int) -> str:
    return f"{SUBJECT}:{consultation_id}"


def is_paid(service: Service) -> bool:
    """A service the client pays for by card (the clinic sets a price and requires payment)."""
    return bool(service.payment_required and service.price and service.price > 0)


def price_of(service: Service) -> int:
    """The service's price in minor units (cents)."""
    return pay_selectors.minor_units(service.price or Decimal(0))


def description(consultation: Consultation) -> str:
    """What the receipt and the card statement's record call the charge."""
    local = consultation.starts_at.astimezone(consultation.clinic.tzinfo)
    return f"Phone consultation: {consultation.service.name}, {local.day} {local:%b %Y}"


# --- Who may charge, and when ------------------------------------------------------------------


@dataclass(frozen=True)
class ChargeOffer:
    """Whether the room offers Charge to a staff member now, and if not, why (in words)."""

    allowed: bool
    reason: str = ""


def charge_offer(
    consultation: Consultation, *, role: str | None, user_id: int | None, card: SavedCard | None
) -> ChargeOffer:
    """One rule for the room's panel and the service (which asks it again under the row lock)."""
    if not is_paid(consultation.service):
        return ChargeOffer(False, "This consultation is free: there is nothing to charge.")
    status = Status(consultation.status)
    if status == Status.CANCELLED:
        return ChargeOffer(False, "This consultation was cancelled: it can't be charged.")
    if status == Status.AVAILABLE:
        return ChargeOffer(False, "Nobody has claimed this consultation yet: it can't be charged.")
    if not access.may_charge(role=role, user_id=user_id, consultation=consultation):
        return ChargeOffer(False, "Only the consultation's expert or a clinic admin can charge the client.")
    if status not in lifecycle.CHARGEABLE_STATUSES:
        return ChargeOffer(
            False, "The card is charged after the consultation: start it or mark it completed first."
        )
    if card is None:
        return ChargeOffer(False, "The client saved no card for this consultation: it can't be charged here.")
    return ChargeOffer(True)


def _checked(consultation: Consultation, by: User) -> None:
    role = access.room_role(user=by, clinic_id=consultation.clinic_id)
    card = pay_selectors.card_for(subject=subject_of(consultation.pk))
    verdict = charge_offer(consultation, role=role, user_id=by.pk, card=card)
    if not verdict.allowed:
        raise services.ConsultationRefused(verdict.reason)


def charge(*, consultation_id: int, by: User, amount: int) -> Payment:
    """The expert confirmed `amount` (minor units): more than zero and at most the service's price.
    The consultation's row lock serialises two experts (or two presses); the payments core refuses
    a second live charge of the consultation whatever the caller."""
    with transaction.atomic():
        consultation = services.locked(consultation_id)
        _checked(consultation, by)
        price = price_of(consultation.service)
        currency = consultation.clinic.currency
        if amount <= 0:
            raise services.ConsultationRefused("Enter an amount above zero.")
        if amount > price:
            raise services.ConsultationRefused(
                f"The most you can charge is the service's price, {pay_selectors.money(price, currency)}."
            )
        try:
            return pay.charge_request(
                clinic=consultation.clinic,
                subject=subject_of(consultation.pk),
                amount=amount,
                price=price,
                description=description(consultation),
                by=by,
            )
        except pay.PaymentRefused as refused:
            raise services.ConsultationRefused(str(refused)) from None


def charge_retry(*, consultation_id: int, payment_id: int, by: User) -> Payment:
    """Retry: a charge left pending because Stripe could not be reached is sent again (with its own
    idempotency key: Stripe applies it once)."""
    with transaction.atomic():
        consultation = services.locked(consultation_id)
        _checked(consultation, by)
        payment = pay_selectors.charge_of(subject=subject_of(consultation.pk), payment_id=payment_id)
        if payment is None:
            raise services.ConsultationRefused("This charge is not one of this consultation's.")
        try:
            return pay.charge_retry(payment=payment, by=by)
        except pay.PaymentRefused as refused:
            raise services.ConsultationRefused(str(refused)) from None


def may_cancel(consultation: Consultation, *, role: str | None, user_id: int | None) -> bool:
    """Who may cancel a charge waiting for the client's confirmation: whoever may charge (the
    expert holding the claim, a clinic admin), whatever the consultation's status since."""
    return access.may_charge(role=role, user_id=user_id, consultation=consultation)


def charge_cancel(*, consultation_id: int, payment_id: int, by: User) -> Payment:
    """Cancel a charge the bank holds for the client's confirmation, so the consultation may be
    charged again. Who may cancel and which charge are checked under the consultation's row lock,
    which is released before the payments core calls Stripe: a Charge pressed meanwhile is refused
    by the one-live-charge index (the waiting charge still holds the consultation until the cancel
    is applied), not by this lock. The core moves the charge forward only (a client who confirmed
    first leaves it paid)."""
    with transaction.atomic():
        consultation = services.locked(consultation_id)
        role = access.room_role(user=by, clinic_id=consultation.clinic_id)
        if not may_cancel(consultation, role=role, user_id=by.pk):
            raise services.ConsultationRefused(
                "Only the consultation's expert or a clinic admin can cancel the charge."
            )
        payment = pay_selectors.charge_of(subject=subject_of(consultation.pk), payment_id=payment_id)
        if payment is None:
            raise services.ConsultationRefused("This charge is not one of this consultation's.")
    # Outside the consultation's transaction: the payments core calls Stripe outside row locks.
    try:
        return pay.charge_cancel(payment=payment, by=by)
    except pay.PaymentRefused as refused:
        raise services.ConsultationRefused(str(refused)) from None


def payment_changed(payment: Payment, *, what: str) -> None:
    """settings.PAYMENT_SUBJECTS' handler, inside the transaction that changed the payment: both
    sides of the room re-fetch the payment part (published after commit)."""
    consultation = Consultation.objects.only("pk", "version").get(pk=int(payment.subject.partition(":")[2]))
    publishing.room_changed(consultation, Part.PAYMENT)


# --- The room's payment part --------------------------------------------------------------------


@dataclass(frozen=True)
class Refund:
    words: str
    failed: bool


def _refund_words(refund: Payment, currency: str, tz) -> Refund:
    amount = pay_selectors.money(refund.amount, currency)
    status = PaymentStatus(refund.status)
    if status == PaymentStatus.SUCCEEDED:
        when = (refund.succeeded_at or refund.updated_at).astimezone(tz)
        return Refund(f"Refunded {amount} on {when.day} {when:%b %Y}", False)
    if status in (PaymentStatus.FAILED, PaymentStatus.CANCELED):
        return Refund(
            f"Refund of {amount} failed" + (f": {refund.failure_message}" if refund.failure_message else ""),
            True,
        )
    return Refund(f"Refund of {amount} on its way", False)


STATES = ("none", "sending", "unreachable", "waiting", "paid", "failed", "cancelled")


def _state(charge: Payment | None) -> str:
    if charge is None:
        return "none"
    status = PaymentStatus(charge.status)
    if status == PaymentStatus.SUCCEEDED:
        return "paid"
    if status == PaymentStatus.NEEDS_AUTHENTICATION:
        return "waiting"
    if status == PaymentStatus.FAILED:
        return "failed"
    if status == PaymentStatus.CANCELED:
        return "cancelled"
    # Pending: on its way to Stripe, or left there because Stripe could not be reached (the
    # payments core keeps the reason on the payment until a retry is answered).
    return "unreachable" if charge.failure_message else "sending"


def _panel(consultation: Consultation) -> dict:
    """The payment as both sides see it: two queries (the card, the payments)."""
    subject = subject_of(consultation.pk)
    card = pay_selectors.card_for(subject=subject)
    rows = pay_selectors.payments_for(subject=subject)
    charge = next((p for p in rows if p.kind == PaymentKind.CHARGE), None)
    currency = consultation.clinic.currency
    tz = consultation.clinic.tzinfo
    # A charge and its refunds in the currency they were made in (the clinic's may have changed
    # since); the price in the clinic's.
    refunds = [
        _refund_words(p, p.currency, tz)
        for p in reversed(rows)
        if charge is not None and p.kind == PaymentKind.REFUND and p.parent_id == charge.pk
    ]
    state = _state(charge)
    price = price_of(consultation.service)
    return {
        "saved_card": card,
        "card": card.label if card is not None else "",
        "charge": charge,
        "price": pay_selectors.money(price, currency),
        "amount": pay_selectors.money(charge.amount, charge.currency) if charge is not None else "",
        "refunds": refunds,
        "reason": (charge.failure_message if charge is not None else "") or "",
        **{f"is_{name}": state == name for name in STATES},
    }


def shows_payment(consultation: Consultation) -> bool:
    """A free service's room has no payment panel (unless it was paid when charged): one query
    that spares a free consultation's room the panel's two."""
    if is_paid(consultation.service):
        return True
    return Payment.objects.filter(subject=subject_of(consultation.pk)).exists()


def staff_part(
    viewer: access.StaffViewer,
    *,
    part_url: str,
    charge_url: str,
    retry_url: str,
    cancel_url: str,
    request,
) -> Markup:
    consultation = viewer.consultation
    if not shows_payment(consultation):
        return Markup("")
    panel = _panel(consultation)
    verdict = charge_offer(consultation, role=viewer.role, user_id=viewer.user.pk, card=panel["saved_card"])
    may_charge = verdict.allowed and (panel["is_none"] or panel["is_failed"] or panel["is_cancelled"])
    return render_fragment(
        "consultations/_payment.html",
        {
            "side": "staff",
            "part_url": part_url,
            "p": panel,
            "offer": verdict,
            "may_charge": may_charge,
            "charge_label": "Charge again" if panel["is_failed"] or panel["is_cancelled"] else "Charge",
            "may_retry": verdict.allowed and panel["is_unreachable"],
            "may_cancel": panel["is_waiting"]
            and may_cancel(consultation, role=viewer.role, user_id=viewer.user.pk),
            "charge_url": charge_url,
            "retry_url": retry_url,
            "cancel_url": cancel_url,
            "default_amount": f"{consultation.service.price or 0:.2f}",
            "currency": consultation.clinic.currency.upper(),
        },
        request=request,
    )


def confirm_url(payment: Payment) -> str:
    """The payments core's page where the client completes a charge their bank holds."""
    return reverse("payments_pay", args=[payment.client_token])


def client_part(
    consultation: Consultation, *, part_url: str, confirm_url: Callable[[Payment], str]
) -> Markup:
    """The client's read-only view: what they will pay and when, then the payment's state (and,
    when their bank asks, the link to confirm it)."""
    if not shows_payment(consultation):
        return Markup("")
    panel = _panel(consultation)
    charge = panel["charge"]
    return render_fragment(
        "consultations/_payment.html",
        {
            "side": "client",
            "part_url": part_url,
            "p": panel,
            "confirm_url": confirm_url(charge) if panel["is_waiting"] else "",
        },
    )
