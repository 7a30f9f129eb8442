"""The client's payment emails (waitingroom/payments/receipts.py): the receipt and the refund
receipt date the payment in the clinic's time zone, named, as every other email to a client does."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from waitingroom.outbox.models import EmailMessage
from waitingroom.payments import receipts
from waitingroom.payments.lifecycle import PaymentKind, PaymentStatus
from waitingroom.payments.models import Payment

pytestmark = pytest.mark.django_db

# 04:37 UTC on 6 December is 23:37 on 5 December in New York (Clinic A's zone).
PAID_AT = datetime(2026, 12, 6, 4, 37, tzinfo=UTC)


def paid(card, **fields) -> Payment:
    return Payment.objects.create(
        clinic=card.clinic,
        subject=card.subject,
        card=card,
        description="Phone consultation: Medication review, 5 Dec 2026",
        amount=4500,
        currency="usd",
        status=PaymentStatus.SUCCEEDED,
        idempotency_key=f"charge:{card.subject}:1",
        created_at=PAID_AT,
        updated_at=PAID_AT,
        succeeded_at=PAID_AT,
        **fields,
    )


def test_the_receipt_dates_the_charge_in_the_clinics_time_zone(card_row):
    charge = paid(card_row())
    receipts.receipt(charge)
    email = EmailMessage.objects.get(reference=f"payment-receipt:{charge.pk}")
    assert "Date: 5 Dec 2026, 23:37 EST" in email.body
    assert "5 Dec 2026, 23:37 EST" in email.html_body


def test_the_refund_receipt_dates_the_refund_in_the_clinics_time_zone(card_row):
    charge = paid(card_row())
    refund = Payment.objects.create(
        clinic=charge.clinic,
        subject=charge.subject,
        kind=PaymentKind.REFUND,
        parent=charge,
        card=charge.card,
        description=charge.description,
        amount=1000,
        currency="usd",
        status=PaymentStatus.SUCCEEDED,
        reason="Call cut short",
        idempotency_key=f"refund:{charge.subject}:1:1",
        created_at=PAID_AT,
        updated_at=PAID_AT,
        succeeded_at=PAID_AT,
    )
    receipts.refund_receipt(refund)
    email = EmailMessage.objects.get(reference=f"payment-refund:{refund.pk}")
    assert "Date: 5 Dec 2026, 23:37 EST" in email.body
    assert "5 Dec 2026, 23:37 EST" in email.html_body
