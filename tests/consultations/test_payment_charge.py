"""Charging a paid consultation in the room (through localstripe): the expert holding the claim, or
a clinic admin, charges the saved card in progress or completed, at most the service's price; the
room's payment part on both sides says what happened (paid with the amount, Stripe's reason for a
decline, waiting for the client's authentication, Stripe unreachable with Retry) and is pushed to
both sides as a hint; every refusal charges nothing; cancelling before the consultation charges
nothing and keeps the card."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from consultations import payments, services
from consultations.lifecycle import Status
from consultations.payments import subject_of
from tests.conftest import client_for
from tests.consultations.conftest import CLIENT_EMAIL, make_consultation
from tests.consultations.payment_support import DECLINES, NEEDS_AUTHENTICATION, payment_intents, with_card
from tests.factories import staff
from tests.support.stripe import local_api
from tests.visits.conftest import Published
from waitingroom.models import Role
from waitingroom.payments import services as pay
from waitingroom.payments.lifecycle import PaymentStatus
from waitingroom.payments.models import Payment
from waitingroom.realtime import groups

pytestmark = pytest.mark.django_db
JSON = {"Accept": "application/json"}


@pytest.fixture(autouse=True)
def _stripe(payments_on):
    """Every test here charges through localstripe."""


@pytest.fixture
def held(clinic_a, paid_service, provider):
    """Paula's paid consultation, in progress (its call connected)."""
    return make_consultation(clinic_a, paid_service, expert=provider, status=Status.IN_PROGRESS)


def charge_url(consultation) -> str:
    return reverse("consultation_charge", args=[consultation.pk])


def retry_url(consultation) -> str:
    return reverse("consultation_charge_retry", args=[consultation.pk])


def staff_part(user, consultation) -> str:
    response = client_for(user).get(reverse("consultation_part", args=[consultation.pk, "payment"]))
    assert response.status_code == 200
    return response.content.decode()


def client_part(consultation) -> str:
    url = reverse("consultation_client_part", args=[consultation.client_token, "payment"])
    response = Client().get(url)
    assert response.status_code == 200
    return response.content.decode()


def press_charge(user, consultation, amount="45.00"):
    return client_for(user).post(charge_url(consultation), {"amount": amount}, headers=JSON)


def payment_hint(consultation) -> dict:
    consultation.refresh_from_db()
    return {"type": "consultation", "version": consultation.version, "parts": ["payment"]}


def test_the_expert_charges_the_price_the_room_shows_paid_live_and_the_receipt_is_emailed(
    held, provider, published: Published
):
    card = with_card(held)
    with published.commit():
        answer = press_charge(provider, held)
    assert answer.status_code == 200 and answer.json() == {
        "ok": True,
        "message": "Charging $45.00.",
        "version": held.version,
    }
    payment = Payment.objects.get()
    assert (payment.status, payment.amount, payment.currency, payment.subject, payment.card) == (
        PaymentStatus.SUCCEEDED,
        4500,
        "usd",
        subject_of(held.pk),
        card,
    )
    assert payment.description.startswith("Phone consultation: Medication review, ")
    assert [pi["amount"] for pi in payment_intents(card)] == [4500]
    # Both sides heard the hint for the payment part (stored, then paid), and nothing else.
    hint = payment_hint(held)
    for group in (groups.consultation_staff_group(held.pk), groups.consultation_client_group(held.pk)):
        heard = published.to(group)
        assert heard and all(message == hint for message in heard)
    assert "Paid $45.00" in staff_part(provider, held)
    client_sees = client_part(held)
    assert "Paid $45.00" in client_sees and "Visa ending 4242" in client_sees
    assert "4242424242424242" not in client_sees
    # The receipt reached the client.
    receipts = [m for m in mail.outbox if m.to == [CLIENT_EMAIL] and "$45.00" in m.body]
    assert len(receipts) == 1


def test_a_lower_amount_is_charged_as_confirmed_and_a_clinic_admin_may_charge(
    held, clinic_admin, published: Published
):
    card = with_card(held)
    with published.commit():
        assert press_charge(clinic_admin, held, "30.5").status_code == 200
    assert Payment.objects.get().amount == 3050
    assert [pi["amount"] for pi in payment_intents(card)] == [3050]
    assert "Paid $30.50" in staff_part(clinic_admin, held)


@pytest.mark.parametrize(
    ("amount", "error"),
    [
        ("45.01", "The most you can charge is the service's price, $45.00."),
        ("1000", "The most you can charge is the service's price, $45.00."),
        ("0", "Enter an amount above zero."),
        ("0.00", "Enter an amount above zero."),
        ("-5", "Enter an amount above zero."),
        ("abc", "Enter the amount as a number, like 45.00."),
        ("NaN", "Enter the amount as a number, like 45.00."),
        ("1.005", "Enter the amount in whole cents, like 45.00."),
        ("", "Enter the amount to charge."),
    ],
)
def test_an_amount_above_the_price_zero_negative_or_not_money_is_refused_and_charges_nothing(
    held, provider, published: Published, amount, error
):
    card = with_card(held)
    with published.commit():
        answer = press_charge(provider, held, amount)
    assert answer.status_code == 409 and answer.json()["error"] == error
    assert not Payment.objects.exists() and payment_intents(card) == []
    assert published.sent == []


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (Status.CANCELLED, "This consultation was cancelled: it can't be charged."),
        (Status.AVAILABLE, "Nobody has claimed this consultation yet: it can't be charged."),
        (Status.CLAIMED, "The card is charged after the consultation: start it or mark it completed first."),
    ],
)
def test_a_cancelled_unclaimed_or_not_yet_held_consultation_is_not_charged(
    clinic_a, paid_service, provider, clinic_admin, status, error
):
    expert = None if status == Status.AVAILABLE else provider
    consultation = make_consultation(clinic_a, paid_service, expert=expert, status=status)
    card = with_card(consultation)
    for who in (provider, clinic_admin):
        answer = press_charge(who, consultation)
        assert answer.status_code == 409 and answer.json()["error"] == error
    assert not Payment.objects.exists() and payment_intents(card) == []
    assert "data-charge-form" not in staff_part(provider, consultation)
    assert error.replace("'", "&#39;") in staff_part(provider, consultation)


def test_a_completed_consultation_is_charged(clinic_a, paid_service, provider, published: Published):
    consultation = make_consultation(clinic_a, paid_service, expert=provider, status=Status.COMPLETED)
    with_card(consultation)
    with published.commit():
        assert press_charge(provider, consultation).status_code == 200
    assert Payment.objects.get().status == PaymentStatus.SUCCEEDED


def test_a_free_consultation_has_no_payment_panel_and_is_not_charged(claimed, provider):
    services.consultation_complete(consultation_id=claimed.pk, by=provider, expected_version=None)
    answer = press_charge(provider, claimed)
    assert answer.status_code == 409
    assert answer.json()["error"] == "This consultation is free: there is nothing to charge."
    assert staff_part(provider, claimed) == "" and client_part(claimed) == ""
    assert (
        'data-part="payment"'
        not in client_for(provider).get(f"/consultations/{claimed.pk}/").content.decode()
    )


# --- Who may charge: the expert holding the claim and clinic admins; other staff of the clinic
# are refused, schedulers and another clinic's staff get 404 --------------------------------------


def test_a_csr_and_another_expert_are_refused_and_see_no_charge_button(held, csr, clinic_a):
    card = with_card(held)
    colleague = staff(username="pete", clinic=clinic_a, role=Role.PROVIDER, first_name="Pete", last_name="P")
    for who in (csr, colleague):
        answer = press_charge(who, held)
        assert answer.status_code == 409
        assert (
            answer.json()["error"]
            == "Only the consultation's expert or a clinic admin can charge the client."
        )
        part = staff_part(who, held)
        assert "Price <strong data-payment-price>$45.00</strong>" in part and "Visa ending 4242" in part
        assert "data-charge-form" not in part
    assert not Payment.objects.exists() and payment_intents(card) == []


@pytest.mark.parametrize("who", ["outsider", "scheduler"])
def test_another_clinics_staff_and_schedulers_get_404_and_learn_nothing_of_the_payment(
    held, provider, who, request, published: Published
):
    card = with_card(held)
    with published.commit():
        press_charge(provider, held)
    payment = Payment.objects.get()
    browser = client_for(request.getfixturevalue(who))
    assert browser.get(reverse("consultation_part", args=[held.pk, "payment"])).status_code == 404
    assert browser.post(charge_url(held), {"amount": "45.00"}).status_code == 404
    assert browser.post(retry_url(held), {"payment": payment.pk}).status_code == 404
    assert Payment.objects.count() == 1 and len(payment_intents(card)) == 1


def test_pressing_twice_or_a_second_expert_pressing_makes_one_charge(
    held, provider, clinic_admin, published: Published
):
    card = with_card(held)
    with published.commit():
        assert press_charge(provider, held).status_code == 200
    for who in (provider, clinic_admin):
        with published.commit():
            again = press_charge(who, held)
        assert again.status_code == 409 and "already" in again.json()["error"]
    assert Payment.objects.count() == 1 and len(payment_intents(card)) == 1
    # The task that sends it, run again (a retried delivery), charges nothing more.
    pay.charge_send(payment_id=Payment.objects.get().pk)
    assert len(payment_intents(card)) == 1


# --- What Stripe answers -------------------------------------------------------------------------


def test_a_declined_card_fails_with_stripes_reason_and_can_be_charged_again(
    held, provider, published: Published
):
    card = with_card(held, number=DECLINES)
    with published.commit():
        assert press_charge(provider, held).status_code == 200
    failed = Payment.objects.get()
    assert failed.status == PaymentStatus.FAILED and failed.failure_message == "Your card was declined."
    part = staff_part(provider, held)
    assert "Failed: Your card was declined." in part and ">Charge again</button>" in part
    assert "did not go through: Your card was declined." in client_part(held)

    with published.commit():
        assert press_charge(provider, held, "40.00").status_code == 200
    second = Payment.objects.order_by("-id").first()
    assert second is not None
    assert (second.attempt, second.amount, second.status) == (2, 4000, PaymentStatus.FAILED)
    assert len(payment_intents(card)) == 2


def test_a_card_that_needs_authentication_waits_for_the_client_who_is_emailed_a_link(
    held, provider, published: Published
):
    with_card(held, number=NEEDS_AUTHENTICATION)
    with published.commit():
        assert press_charge(provider, held).status_code == 200
    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.NEEDS_AUTHENTICATION
    assert "Waiting for the client to confirm the payment of $45.00 (we emailed them a link)." in staff_part(
        provider, held
    )
    client_sees = client_part(held)
    link = payments.confirm_url(payment)
    assert "Your bank asks you to confirm the payment of $45.00." in client_sees and link in client_sees
    assert any(m.to == [CLIENT_EMAIL] and link in m.body for m in mail.outbox)
    # Meanwhile a second Charge is refused: the charge waits for the client.
    assert press_charge(provider, held).status_code == 409


def test_stripe_unreachable_leaves_the_charge_pending_with_retry_which_charges_once(
    held, provider, published: Published, settings
):
    card = with_card(held)
    reachable = settings.STRIPE_API_BASE
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there
    with published.commit():
        assert press_charge(provider, held).status_code == 200
    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.PENDING and payment.failure_message
    part = staff_part(provider, held)
    assert "Charge of $45.00 waiting: Stripe could not be reached" in part and "data-charge-retry" in part
    assert "data-charge-form data-card" not in part  # no new charge meanwhile: Retry sends this one
    assert "being processed" in client_part(held)

    settings.STRIPE_API_BASE = reachable
    with published.commit():
        answer = client_for(provider).post(retry_url(held), {"payment": payment.pk}, headers=JSON)
    assert answer.status_code == 200 and answer.json()["message"] == "Sending the charge again."
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert len(payment_intents(card)) == 1 and "Paid $45.00" in staff_part(provider, held)


def test_retry_refuses_another_consultations_charge(held, provider, clinic_a, paid_service, published):
    other = make_consultation(
        clinic_a, paid_service, expert=provider, status=Status.IN_PROGRESS, email="robin@example.com"
    )
    with_card(held)
    with_card(other)
    with published.commit():
        press_charge(provider, other)
    answer = client_for(provider).post(retry_url(held), {"payment": Payment.objects.get().pk}, headers=JSON)
    assert (
        answer.status_code == 409
        and answer.json()["error"] == "This charge is not one of this consultation's."
    )


def test_refunds_are_listed_under_the_charge_on_both_sides(
    held, provider, clinic_admin, published: Published
):
    with_card(held)
    with published.commit():
        press_charge(provider, held)
    charge = Payment.objects.get()
    published.clear()
    with published.commit():
        pay.refund_request(charge=charge, amount=1000, reason="Shorter than booked", by=clinic_admin)
    assert published.to(groups.consultation_staff_group(held.pk))[-1] == payment_hint(held)
    assert "Refunded $10.00 on " in staff_part(provider, held)
    assert "Refunded $10.00 on " in client_part(held)


def test_a_charge_and_its_refund_show_in_the_currency_they_were_made_in_after_the_clinic_changes_it(
    held, provider, clinic_admin, published: Published
):
    with_card(held)
    with published.commit():
        press_charge(provider, held)
    charge = Payment.objects.get()
    with published.commit():
        pay.refund_request(charge=charge, amount=1000, reason="Shorter than booked", by=clinic_admin)
    held.clinic.currency = "eur"
    held.clinic.save(update_fields=["currency"])
    for part in (staff_part(provider, held), client_part(held)):
        assert "Paid $45.00" in part and "Refunded $10.00 on " in part
        assert "Paid €" not in part and "Refunded €" not in part


# --- Cancelling ----------------------------------------------------------------------------------


def test_cancelling_before_the_consultation_charges_nothing_and_keeps_the_card(
    clinic_a, paid_service, provider, published: Published
):
    consultation = make_consultation(clinic_a, paid_service, expert=provider)
    card = with_card(consultation)
    method_before = local_api("GET", f"/v1/payment_methods/{card.stripe_payment_method_id}")
    with published.commit():
        services.consultation_cancel(
            consultation_id=consultation.pk, by=provider, reason="The vet is ill.", expected_version=None
        )
    assert not Payment.objects.exists() and payment_intents(card) == []
    card.refresh_from_db()
    assert card.subject == subject_of(consultation.pk)
    # Nothing detached at Stripe either: the card's payment method is as it was.
    method = local_api("GET", f"/v1/payment_methods/{card.stripe_payment_method_id}")
    assert method == method_before
