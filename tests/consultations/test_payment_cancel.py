"""Cancelling, in the room, a charge the client's bank holds for their confirmation (through
localstripe): the expert holding the claim or a clinic admin cancels it, both sides of the room
hear it and say it was cancelled, and the consultation may be charged again; a CSR or another
expert can't, and a repeated cancel is refused."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from consultations.lifecycle import Status
from tests.conftest import client_for
from tests.consultations.conftest import make_consultation
from tests.consultations.payment_support import NEEDS_AUTHENTICATION, payment_intents, with_card
from tests.factories import staff
from tests.visits.conftest import Published
from waitingroom.models import Role
from waitingroom.payments.lifecycle import PaymentStatus
from waitingroom.payments.models import Payment
from waitingroom.realtime import groups

pytestmark = pytest.mark.django_db
JSON = {"Accept": "application/json"}


@pytest.fixture(autouse=True)
def _stripe(payments_on):
    """Every test here charges through localstripe."""


@pytest.fixture
def waiting(clinic_a, paid_service, provider, published: Published):
    """Paula's paid consultation, in progress, its charge waiting for the client's bank."""
    consultation = make_consultation(clinic_a, paid_service, expert=provider, status=Status.IN_PROGRESS)
    with_card(consultation, number=NEEDS_AUTHENTICATION)
    with published.commit():
        answer = client_for(provider).post(
            reverse("consultation_charge", args=[consultation.pk]), {"amount": "45.00"}, headers=JSON
        )
    assert answer.status_code == 200
    assert Payment.objects.get().status == PaymentStatus.NEEDS_AUTHENTICATION
    published.clear()
    return consultation


def cancel(user, consultation, payment_id: int | str):
    return client_for(user).post(
        reverse("consultation_charge_cancel", args=[consultation.pk]), {"payment": payment_id}, headers=JSON
    )


def staff_part(user, consultation) -> str:
    return (
        client_for(user).get(reverse("consultation_part", args=[consultation.pk, "payment"])).content.decode()
    )


def client_part(consultation) -> str:
    url = reverse("consultation_client_part", args=[consultation.client_token, "payment"])
    return Client().get(url).content.decode()


def test_the_expert_cancels_a_waiting_charge_both_sides_see_it_live_and_may_charge_again(
    waiting, provider, published: Published
):
    payment = Payment.objects.get()
    assert "data-charge-cancel" in staff_part(provider, waiting)
    with published.commit():
        answer = cancel(provider, waiting, payment.pk)
    assert answer.status_code == 200
    assert answer.json()["message"] == "Charge of $45.00 cancelled: you may charge again."
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CANCELED and payment.card is not None
    assert [pi["status"] for pi in payment_intents(payment.card)] == ["canceled"]
    for group in (groups.consultation_staff_group(waiting.pk), groups.consultation_client_group(waiting.pk)):
        assert any("payment" in message.get("parts", []) for message in published.to(group))
    part = staff_part(provider, waiting)
    assert "Charge of $45.00 cancelled: nothing was taken from the card." in part
    assert ">Charge again</button>" in part and "data-charge-cancel" not in part
    client_sees = client_part(waiting)
    assert "The clinic cancelled the charge of $45.00: nothing was taken from your card." in client_sees
    assert "data-payment-confirm" not in client_sees
    with published.commit():
        again = client_for(provider).post(
            reverse("consultation_charge", args=[waiting.pk]), {"amount": "40.00"}, headers=JSON
        )
    assert again.status_code == 200
    assert Payment.objects.order_by("-id").first().attempt == 2  # type: ignore[union-attr]


def test_a_clinic_admin_may_cancel_but_a_csr_or_another_expert_may_not(
    waiting, csr, clinic_a, clinic_admin, published: Published
):
    payment = Payment.objects.get()
    colleague = staff(username="pete", clinic=clinic_a, role=Role.PROVIDER, first_name="Pete", last_name="P")
    for who in (csr, colleague):
        refused = cancel(who, waiting, payment.pk)
        assert refused.status_code == 409
        assert (
            refused.json()["error"]
            == "Only the consultation's expert or a clinic admin can cancel the charge."
        )
        assert "data-charge-cancel" not in staff_part(who, waiting)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.NEEDS_AUTHENTICATION
    with published.commit():
        assert cancel(clinic_admin, waiting, payment.pk).status_code == 200


def test_a_repeated_or_wrong_cancel_is_refused_and_changes_nothing(
    waiting, provider, outsider, published: Published
):
    payment = Payment.objects.get()
    assert (
        client_for(outsider)
        .post(reverse("consultation_charge_cancel", args=[waiting.pk]), {"payment": payment.pk})
        .status_code
        == 404
    )
    assert (
        cancel(provider, waiting, 999999).json()["error"] == "This charge is not one of this consultation's."
    )
    assert cancel(provider, waiting, "x").status_code == 409
    with published.commit():
        assert cancel(provider, waiting, payment.pk).status_code == 200
    payment.refresh_from_db()
    updated = payment.updated_at
    published.clear()
    with published.commit():
        again = cancel(provider, waiting, payment.pk)
    assert again.status_code == 409 and again.json()["error"] == "This charge is already cancelled."
    payment.refresh_from_db()
    assert payment.updated_at == updated and published.sent == []


def test_a_cancel_pressed_while_another_is_under_way_is_told_and_writes_no_trail_entry(
    waiting, provider, published: Published
):
    """The clinic admin's cancel holds the charge's claim (its request is at Stripe): the expert's
    press is told so (409), reaches no Stripe, moves nothing and writes no access-trail entry."""
    from django.utils import timezone

    from waitingroom.audit.models import AccessEvent

    payment = Payment.objects.get()
    Payment.objects.filter(pk=payment.pk).update(cancelling_since=timezone.now())
    entries = AccessEvent.objects.filter(detail="charge cancel").count()
    told = cancel(provider, waiting, payment.pk)
    assert told.status_code == 409 and told.json()["error"] == "This charge is already being cancelled."
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.NEEDS_AUTHENTICATION and published.sent == []
    assert payment.card is not None
    assert [pi["status"] for pi in payment_intents(payment.card)] == ["requires_action"]
    assert AccessEvent.objects.filter(detail="charge cancel").count() == entries
    # Once the claim is cleared, a cancel goes through and is recorded, once.
    Payment.objects.filter(pk=payment.pk).update(cancelling_since=None)
    with published.commit():
        assert cancel(provider, waiting, payment.pk).status_code == 200
    assert AccessEvent.objects.filter(detail="charge cancel").count() == entries + 1
