"""Payments' reads (money in each currency, a subject's charges, a client's payments in one query)
and the lifecycle table: every (current, new) pair, and Stripe's intent statuses."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from waitingroom.payments import selectors
from waitingroom.payments.lifecycle import (
    FINAL,
    RANK,
    PaymentKind,
    PaymentStatus,
    from_payment_intent,
    moves_forward,
)
from waitingroom.payments.models import Payment


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (4500, "usd", "$45.00"),
        (5, "usd", "$0.05"),
        (123456, "eur", "€1,234.56"),
        (999, "gbp", "£9.99"),
        (1000, "aud", "A$10.00"),
        (1000, "CAD", "CA$10.00"),
        (1000, "nzd", "NZ$10.00"),
        (1000, "chf", "10.00 CHF"),
        (-250, "usd", "-$2.50"),
    ],
)
def test_money_is_shown_with_its_currency(amount, currency, shown):
    assert selectors.money(amount, currency) == shown


def test_a_price_in_minor_units():
    assert selectors.minor_units(Decimal("45.00")) == 4500
    assert selectors.minor_units(Decimal("0.1")) == 10


@pytest.mark.django_db
def test_a_subjects_and_a_clients_payments_are_read_in_one_query(card_row, clinic_a, provider):
    card = card_row()
    now = timezone.now()
    charges = [
        Payment.objects.create(
            clinic=clinic_a,
            subject="consultation:41",
            card=card,
            description="x",
            amount=4500,
            currency="usd",
            status=status,
            attempt=n,
            idempotency_key=f"charge:consultation:41:{n}",
            created_by=provider,
            created_at=now,
            updated_at=now,
        )
        for n, status in ((1, PaymentStatus.FAILED), (2, PaymentStatus.SUCCEEDED))
    ]
    Payment.objects.create(
        clinic=clinic_a,
        subject="consultation:41",
        kind=PaymentKind.REFUND,
        parent=charges[1],
        card=card,
        description="x",
        amount=500,
        currency="usd",
        status=PaymentStatus.SUCCEEDED,
        idempotency_key="refund:consultation:41:2:1",
        created_at=now,
        updated_at=now,
    )
    assert selectors.current_charge(subject="consultation:41") == charges[1]
    assert selectors.current_charge(subject="consultation:42") is None
    assert selectors.card_for(subject="consultation:41") == card and selectors.card_for(subject="") is None
    assert selectors.refundable_amount(charge=charges[1]) == 4000
    assert selectors.refundable_amount(charge=charges[0]) == 0
    with CaptureQueriesContext(connection) as queries:
        mine = selectors.payments_for_client(email="ROSA@example.test")
        texts = [(p.kind, p.clinic.name, p.card.label if p.card else "") for p in mine]
        listed = selectors.payments_for(subject="consultation:41")
        _ = [p.card.label for p in listed if p.card]
    assert len(queries) == 2
    assert len(mine) == 3 and texts[0][1] == "Clinic A" and len(listed) == 3
    assert selectors.payments_for_client(email="") == []


@pytest.mark.parametrize("current", list(PaymentStatus))
@pytest.mark.parametrize("new", list(PaymentStatus))
def test_a_status_moves_only_forward_and_a_final_one_never(current, new):
    expected = current not in FINAL and RANK[new] > RANK[current]
    assert moves_forward(current, new) is expected


@pytest.mark.parametrize(
    ("status", "code", "ours"),
    [
        ("succeeded", "", PaymentStatus.SUCCEEDED),
        ("canceled", "", PaymentStatus.CANCELED),
        ("requires_action", "", PaymentStatus.NEEDS_AUTHENTICATION),
        ("requires_confirmation", "", PaymentStatus.NEEDS_AUTHENTICATION),
        ("requires_payment_method", "authentication_required", PaymentStatus.NEEDS_AUTHENTICATION),
        ("requires_payment_method", "card_declined", PaymentStatus.FAILED),
        ("processing", "", PaymentStatus.PENDING),
        ("requires_capture", "", PaymentStatus.PENDING),
    ],
)
def test_stripes_intent_statuses_in_ours(status, code, ours):
    assert from_payment_intent(status, code) == ours
