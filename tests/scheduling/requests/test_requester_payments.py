"""The requester's page lists their payments: each charge with its date, what it paid for, the
amount, its state in plain words and its refunds; only their own, and escaped."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from scheduling.links import requester_link
from scheduling.models import Requester
from tests.factories import ClinicFactory
from waitingroom.payments.lifecycle import PaymentKind, PaymentStatus
from waitingroom.payments.models import Payment, SavedCard

pytestmark = pytest.mark.django_db

AT = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)  # 11:00 in New York (clinic A)


def card(clinic, email: str, last4: str = "4242") -> SavedCard:
    return SavedCard.objects.create(
        clinic=clinic, email=email, status=SavedCard.Status.SAVED, subject=f"meeting:{last4}",
        stripe_customer_id=f"cus_{last4}", stripe_setup_intent_id=f"seti_{last4}",
        stripe_payment_method_id=f"pm_{last4}", brand="visa", last4=last4, created_at=AT,
    )  # fmt: skip


def payment(saved: SavedCard, amount: int, status: str, *, parent=None, **extra) -> Payment:
    return Payment.objects.create(
        clinic=saved.clinic, subject=saved.subject, card=saved, amount=amount, currency=saved.clinic.currency,
        status=status, kind=PaymentKind.REFUND if parent else PaymentKind.CHARGE, parent=parent,
        idempotency_key=f"key-{Payment.objects.count()}", created_at=AT, updated_at=AT,
        description=extra.pop("description", "Video appointment: Specialist review, 24 Nov 2026"), **extra,
    )  # fmt: skip


def signed_in(client, email: str) -> None:
    requester = Requester.objects.create(email=email, name="Rita Requester")
    path = requester_link(requester).removeprefix("https://clinic.example.test")
    assert client.get(path).status_code == 302


def test_the_requester_page_lists_their_payments_and_refunds(client, clinic_a):
    rita = card(clinic_a, "rita@example.com")
    paid = payment(rita, 6000, PaymentStatus.SUCCEEDED)
    payment(rita, 1500, PaymentStatus.SUCCEEDED, parent=paid)
    other = card(ClinicFactory(name="Clinic C", slug="clinic-c", currency="eur"), "RITA@example.com", "1881")
    payment(
        other, 4000, PaymentStatus.FAILED, failure_message="Your card was declined.",
        description="Phone consultation: <b>Review</b>, 2 Dec 2026",
    )  # fmt: skip
    olga = card(clinic_a, "olga@example.com", "5556")
    payment(olga, 9900, PaymentStatus.SUCCEEDED, description="Olga's appointment")

    signed_in(client, "rita@example.com")
    html = " ".join(client.get(reverse("requester_home")).content.decode().split())
    assert "Your payments" in html
    assert (
        "24 Nov 2026</time> · Video appointment: Specialist review, 24 Nov 2026 · <strong data-amount>$60.00</strong>"
        in html
    )
    assert "Paid" in html and "Refunded: <strong data-amount>$15.00</strong>" in html
    assert "Not paid: Your card was declined." in html and "€40.00" in html
    assert "Phone consultation: &lt;b&gt;Review&lt;/b&gt;" in html and "<b>Review</b>" not in html
    assert "Olga" not in html and "$99.00" not in html
    assert "Visa ending 4242" in html and "pm_4242" not in html and "cus_4242" not in html


def test_a_requester_without_payments_sees_none(client, clinic_a):
    signed_in(client, "new@example.com")
    html = client.get(reverse("requester_home")).content.decode()
    assert "Your payments" in html and "No payments." in html
