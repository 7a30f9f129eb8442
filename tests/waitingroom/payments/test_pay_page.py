"""The client's payment page (/pay/<token>/, linked from the confirm-your-payment email): the
charge, and while the bank waits for the client, the button that confirms it with Stripe.js; after
it, the server reads the payment back from Stripe and the page shows where it stands."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.waitingroom.payments import cards
from tests.waitingroom.payments.conftest import SUBJECT
from waitingroom.outbox.models import EmailMessage
from waitingroom.payments import services
from waitingroom.payments.lifecycle import PaymentStatus

pytestmark = pytest.mark.django_db


def page_url(payment) -> str:
    return reverse("payments_pay", args=[payment.client_token])


def confirmed_url(payment) -> str:
    return reverse("payments_pay_confirmed", args=[payment.client_token])


def test_the_page_shows_the_charge_and_a_confirm_button_with_stripe_in_its_csp(waiting):
    response = Client().get(page_url(waiting))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Your payment to Clinic A" in html and "$45.00" in html and "Visa ending 3155" in html
    assert "Phone consultation: Medication review, 7 Dec 2026" in html
    assert ">Confirm payment</button>" in html
    # The status speaks to the client, not about them as the expert's room does.
    assert "$45.00: waiting for you to confirm it with your bank" in html
    assert "the client" not in html and "emailed them" not in html
    assert f'data-client-secret="{waiting.stripe_payment_intent_id}_secret_' in html  # read from Stripe
    assert f'<script src="{settings.STRIPE_JS_URL}"></script>' in html
    policy = response.headers["Content-Security-Policy"]
    script_src = next(part for part in policy.split(";") if part.strip().startswith("script-src"))
    assert settings.LOCALSTRIPE_URL in script_src and "'self'" in script_src
    assert response.headers["Cache-Control"] == "no-store"


def test_after_the_client_confirmed_with_their_bank_the_page_shows_it_paid(waiting):
    cards.authenticate_payment(services.client_secret(payment=waiting))
    client = Client()
    response = client.post(confirmed_url(waiting), follow=True)
    html = response.content.decode()
    assert response.redirect_chain == [(page_url(waiting), 302)]
    assert "Thank you: your payment is confirmed. We emailed you a receipt." in html
    assert "Paid $45.00" in html and "Confirm payment" not in html and settings.STRIPE_JS_URL not in html
    waiting.refresh_from_db()
    assert waiting.status == PaymentStatus.SUCCEEDED
    assert EmailMessage.objects.filter(reference=f"payment-receipt:{waiting.pk}").count() == 1


def test_posting_without_confirming_changes_nothing_and_says_so(waiting):
    response = Client().post(confirmed_url(waiting), follow=True)
    assert "Your bank has not confirmed the payment yet." in response.content.decode()
    waiting.refresh_from_db()
    assert waiting.status == PaymentStatus.NEEDS_AUTHENTICATION


def test_a_payment_no_longer_waiting_shows_its_state(save_card, charge):
    save_card(subject=SUBJECT)
    paid = charge(4500)
    html = Client().get(page_url(paid)).content.decode()
    assert "Paid $45.00" in html and "This payment is complete." in html
    assert "Confirm payment" not in html


def refund_of(charge, *, key: str):
    """A refund row of `charge` (it has its own client token, which opens no pay page)."""
    from django.utils import timezone

    from waitingroom.payments.models import Payment

    now = timezone.now()
    return Payment.objects.create(
        clinic=charge.clinic, subject=SUBJECT, kind="refund", parent=charge, description="x",
        amount=100, currency="usd", idempotency_key=key, created_at=now, updated_at=now,
    )  # fmt: skip


def test_an_unknown_or_refund_token_is_a_404_page(waiting):

    refund = refund_of(waiting, key="refund:x")
    assert Client().get(page_url(refund)).status_code == 404
    response = Client().get("/pay/AAAAAAAAAAAAAAAAAAAAAAAA/")
    assert response.status_code == 404 and "This link is no longer valid" in response.content.decode()
    assert Client().post("/pay/AAAAAAAAAAAAAAAAAAAAAAAA/confirmed/").status_code == 404
    assert Client().get("/pay/not a token/").status_code == 404


def test_stripe_unreachable_when_the_page_is_shown_is_a_message_not_an_error(waiting, fake_stripe):
    fake_stripe.fail = 10
    response = Client().get(page_url(waiting))
    assert response.status_code == 200
    html = response.content.decode()
    assert "The payment service could not be reached. Reload this page in a moment." in html
    assert "Confirm payment</button>" not in html
    response = Client().post(confirmed_url(waiting), follow=True)
    assert "Stripe could not be reached to check your payment." in response.content.decode()


def test_a_charge_not_sent_yet_is_being_processed_for_the_client(card_row, charge, fake_stripe):
    card_row()
    fake_stripe.fail = 10
    pending = charge(4500)
    assert pending.status == PaymentStatus.PENDING and pending.failure_message  # the expert's Retry
    html = Client().get(page_url(pending)).content.decode()
    assert "Your payment of $45.00 is being processed." in html
    assert "Try again" not in html and "not charged yet" not in html


def test_the_confirm_post_needs_post(waiting):
    assert Client().get(confirmed_url(waiting)).status_code == 405


def test_a_refund_token_names_its_clinic_to_contact_and_an_unknown_one_names_none(waiting):

    from tests.waitingroom.web.test_dead_ends import assert_product_page

    refund = refund_of(waiting, key="refund:y")
    name = waiting.clinic.name
    found = assert_product_page(Client().get(page_url(refund)), 404, "This link is no longer valid")
    assert f"Contact {name} by the" in found and f"· {name} ·" in found
    assert "Start again" not in found  # a payment is not started again from a link
    for response in (
        Client().get("/pay/AAAAAAAAAAAAAAAAAAAAAAAA/"),
        Client().post("/pay/AAAAAAAAAAAAAAAAAAAAAAAA/confirmed/"),
        Client().get(page_url(waiting)[:-2] + "x/"),  # one character off a real charge's token
    ):
        html = assert_product_page(response, 404, "This link is no longer valid")
        assert name not in html and "Contact the clinic" in html
