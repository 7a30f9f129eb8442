"""Card payments' reads: what the booking pages, the room's payment panel, the requester's page,
receipts and the admin show."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Sum

from waitingroom.payments.lifecycle import PaymentKind, PaymentStatus
from waitingroom.payments.models import Payment, SavedCard, is_token

# Every currency a clinic may choose (waitingroom.models.Clinic.currency) has cents.
SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "aud": "A$", "cad": "CA$", "nzd": "NZ$"}


def minor_units(price: Decimal) -> int:
    """A service price (45.00) in the minor unit Stripe counts in (4500): every currency a clinic
    may choose has cents."""
    return int((price * 100).to_integral_value())


def money(amount: int, currency: str) -> str:
    """4500, "usd" -> "$45.00" (what pages, receipts and the admin show); 123456 -> "$1,234.56"."""
    sign = "-" if amount < 0 else ""
    units, cents = divmod(abs(amount), 100)
    symbol = SYMBOLS.get(currency.lower())
    number = f"{units:,}.{cents:02d}"
    if symbol is None:
        return f"{sign}{number} {currency.upper()}"
    return f"{sign}{symbol}{number}"


def card_for(*, subject: str) -> SavedCard | None:
    """The saved card bound to a subject, or None."""
    if not subject:
        return None
    return SavedCard.objects.filter(subject=subject, status=SavedCard.Status.SAVED).first()


def card_by_token(*, clinic_id: int, token: str) -> SavedCard | None:
    """A card saved from a booking page and not bound to a booking yet (the page re-shows it when
    the booking form comes back with an error), or None."""
    if not is_token(token):
        return None
    return SavedCard.objects.filter(
        clinic_id=clinic_id, token=token, status=SavedCard.Status.SAVED, subject=""
    ).first()


def payments_for(*, subject: str) -> list[Payment]:
    """A subject's charges and their refunds, newest first (one query)."""
    return list(Payment.objects.filter(subject=subject).select_related("card", "created_by"))


def current_charge(*, subject: str) -> Payment | None:
    """The subject's latest charge (any status), or None: what the room's payment panel shows."""
    return (
        Payment.objects.filter(subject=subject, kind=PaymentKind.CHARGE)
        .select_related("card")
        .order_by("-attempt", "-id")
        .first()
    )


def charge_of(*, subject: str, payment_id: int) -> Payment | None:
    """The charge `payment_id` if it is one of the subject's, else None: the charge a page's button
    was shown for (Retry, Cancel charge), never a newer one a colleague made meanwhile."""
    return Payment.objects.filter(pk=payment_id, subject=subject, kind=PaymentKind.CHARGE).first()


def payments_for_client(*, email: str) -> list[Payment]:
    """Every charge and refund of cards saved by `email` (any clinic), newest first: the requester
    page's list."""
    if not email:
        return []
    return list(Payment.objects.filter(card__email__iexact=email).select_related("clinic", "card", "parent"))


def refunded_amount(*, charge: Payment) -> int:
    """What is refunded of a charge, or being refunded (pending refunds count: the money is on its
    way back and can't be refunded twice)."""
    total = Payment.objects.filter(
        parent=charge,
        kind=PaymentKind.REFUND,
        status__in=[PaymentStatus.PENDING, PaymentStatus.SUCCEEDED],
    ).aggregate(total=Sum("amount"))["total"]
    return int(total or 0)


def refundable_amount(*, charge: Payment) -> int:
    """What may still be refunded of a charge: 0 unless it was paid."""
    if charge.kind != PaymentKind.CHARGE or charge.status != PaymentStatus.SUCCEEDED:
        return 0
    return max(charge.amount - refunded_amount(charge=charge), 0)


def status_text(payment: Payment) -> str:
    """The payment's state in plain words, for the room, the client's page and the admin:
    "Paid $45.00", "Failed: Your card was declined." ..."""
    amount = money(payment.amount, payment.currency)
    refund = payment.kind == PaymentKind.REFUND
    if payment.status == PaymentStatus.SUCCEEDED:
        return f"Refunded {amount}" if refund else f"Paid {amount}"
    if payment.status == PaymentStatus.NEEDS_AUTHENTICATION:
        return f"{amount}: waiting for the client to confirm the payment (we emailed them a link)"
    if payment.status == PaymentStatus.FAILED:
        what = "Refund failed" if refund else "Charge failed"
        return f"{what}: {payment.failure_message}" if payment.failure_message else what
    if payment.status == PaymentStatus.CANCELED:
        return f"{'Refund' if refund else 'Charge'} of {amount} cancelled"
    if payment.failure_message:
        return f"{amount} not {'refunded' if refund else 'charged'} yet: {payment.failure_message}"
    return f"{'Refunding' if refund else 'Charging'} {amount}…"


def client_status_text(payment: Payment) -> str:
    """A charge's state as its client reads it on their payment page (/pay/<token>/): status_text
    speaks of the client to the clinic ("waiting for the client..."), and a charge not sent yet
    carries the expert's "Try again"; the client is told what concerns them."""
    amount = money(payment.amount, payment.currency)
    if payment.status == PaymentStatus.NEEDS_AUTHENTICATION:
        return f"{amount}: waiting for you to confirm it with your bank"
    if payment.status == PaymentStatus.PENDING:
        return f"Your payment of {amount} is being processed."
    if payment.status == PaymentStatus.CANCELED and payment.kind == PaymentKind.CHARGE:
        return f"The charge of {amount} was cancelled"
    return status_text(payment)
