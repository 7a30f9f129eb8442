"""The emails a client gets about their card: a receipt when a charge succeeds, a refund receipt,
the link to confirm a charge their bank wants them to authenticate, and word that such a charge
was cancelled by the clinic. Each is stored in the
outbox inside the transaction that moved the payment (one per payment: the outbox's reference),
and sent after it commits."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from waitingroom.outbox.queueing import email_queue
from waitingroom.outbox.rendering import render_email
from waitingroom.payments.models import Payment
from waitingroom.payments.selectors import money


def _context(payment: Payment) -> dict[str, object]:
    clinic = payment.clinic
    card = payment.card
    when = timezone.localtime(payment.succeeded_at or payment.updated_at, clinic.tzinfo)
    # Formatted here: the templates' date filter would turn it back into the server's zone (UTC).
    return {
        "clinic": clinic,
        "payment": payment,
        "amount": money(payment.amount, payment.currency),
        "card_label": card.label if card is not None else "",
        "name": card.name if card is not None else "",
        "when": f"{when.day} {when:%b %Y, %H:%M %Z}",
        "description": payment.description,
        "reference": f"{payment.kind.upper()}-{payment.pk}",
    }


def _to(payment: Payment) -> list[str]:
    return [payment.card.email] if payment.card is not None else []


def receipt(payment: Payment) -> None:
    """The charge succeeded: the client's receipt."""
    email_queue(
        clinic=payment.clinic,
        reference=f"payment-receipt:{payment.pk}",
        to=_to(payment),
        content=render_email("waitingroom/emails/payment_receipt", _context(payment)),
    )


def refund_receipt(refund: Payment) -> None:
    """The refund succeeded: what was refunded of which charge, and why."""
    charge = refund.parent
    context = _context(refund)
    context["charge_amount"] = money(charge.amount, charge.currency) if charge is not None else ""
    context["reason"] = refund.reason
    email_queue(
        clinic=refund.clinic,
        reference=f"payment-refund:{refund.pk}",
        to=_to(refund),
        content=render_email("waitingroom/emails/payment_refund", context),
    )


def confirm_link(payment: Payment) -> str:
    return settings.PUBLIC_BASE_URL + reverse("payments_pay", args=[payment.client_token])


def authentication_request(payment: Payment) -> None:
    """The bank wants the client to confirm the charge: the link to /pay/<token>/."""
    context = _context(payment)
    context["link"] = confirm_link(payment)
    email_queue(
        clinic=payment.clinic,
        reference=f"payment-confirm:{payment.pk}",
        to=_to(payment),
        content=render_email("waitingroom/emails/payment_confirm", context),
    )


def cancellation(payment: Payment) -> None:
    """Staff cancelled a charge the client had been emailed a link to confirm: nothing was taken,
    and the link asks for nothing now. `when` is the cancel's time (updated_at, set by the move)."""
    email_queue(
        clinic=payment.clinic,
        reference=f"payment-cancelled:{payment.pk}",
        to=_to(payment),
        content=render_email("waitingroom/emails/payment_cancelled", _context(payment)),
    )
