"""localstripe's own webhook deliveries reach the app's endpoint and pass its signature check, as
`make run` registers them (manage.py localstripe): a charge's payment_intent.succeeded arrives,
signed with the endpoint's secret, about a second after the charge."""

from __future__ import annotations

import time

import pytest

from tests.support.live import off_loop
from tests.support.stripe import register_webhook
from tests.waitingroom.payments import cards
from waitingroom.payments import services
from waitingroom.payments.models import StripeEvent


@pytest.fixture
def events_to_the_app(live_url, localstripe):
    register_webhook(f"{live_url}/stripe/webhook/")
    yield
    # localstripe keeps its webhooks for the session: later events go nowhere.
    register_webhook("http://127.0.0.1:9/nowhere/")


def charge_a_saved_card(clinic, provider):
    card, secret = services.card_setup_start(clinic=clinic, email="rosa@example.test", name="Rosa")
    cards.confirm_setup(secret)
    services.card_setup_finish(clinic=clinic, token=card.token)
    services.card_bind(clinic=clinic, token=card.token, subject="consultation:61", email="rosa@example.test")
    return services.charge_request(
        clinic=clinic,
        subject="consultation:61",
        amount=4500,
        price=4500,
        description="Nutrition call",
        by=provider,
    )


def test_localstripes_signed_event_is_received_and_kept(events_to_the_app, clinic_a, provider):
    payment = off_loop(charge_a_saved_card, clinic_a, provider)
    payment.refresh_from_db()
    deadline = time.monotonic() + 10
    while not StripeEvent.objects.filter(object_id=payment.stripe_payment_intent_id).exists():
        assert time.monotonic() < deadline, "localstripe's event did not arrive"
        time.sleep(0.2)
    event = StripeEvent.objects.get(object_id=payment.stripe_payment_intent_id)
    assert event.type == "payment_intent.succeeded"
    assert event.applied is False  # Stripe's answer had moved the payment already
