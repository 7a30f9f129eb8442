from __future__ import annotations

import pytest

from tests.waitingroom.payments import cards, subjects
from waitingroom.payments import services
from waitingroom.payments.lifecycle import PaymentStatus
from waitingroom.payments.models import SavedCard


@pytest.fixture(autouse=True)
def payment_settings(settings):
    settings.PAYMENTS_ENABLED = True
    settings.PAYMENT_SUBJECTS = {
        kind: "tests.waitingroom.payments.subjects.heard" for kind in ("consultation", "meeting", "request")
    }
    subjects.HEARD.clear()
    yield settings
    subjects.HEARD.clear()


@pytest.fixture
def heard():
    return subjects.HEARD


@pytest.fixture
def save_card(localstripe, clinic_a):
    """A card saved through the card step's path (SetupIntent confirmed as Stripe.js does it),
    bound to `subject` unless subject is ""."""

    def save(number: str = cards.OK, *, subject: str = "consultation:41", clinic=None) -> SavedCard:
        clinic = clinic or clinic_a
        card, secret = services.card_setup_start(clinic=clinic, email="rosa@example.test", name="Rosa Client")
        status, body = cards.confirm_setup(secret, number)
        assert status == 200, body
        if body["status"] == "requires_action":
            cards.complete_setup_authentication(secret)
        card = services.card_setup_finish(clinic=clinic, token=card.token)
        if subject:
            card = services.card_bind(
                clinic=clinic, token=card.token, subject=subject, email="rosa@example.test"
            )
        return card

    return save


SUBJECT = "consultation:41"


@pytest.fixture
def card_row(clinic_a):
    """A saved card as the card step leaves it, with made-up Stripe ids (for the fake HTTP client)."""

    def make(subject: str = SUBJECT, clinic=None) -> SavedCard:
        from django.utils import timezone

        return SavedCard.objects.create(
            clinic=clinic or clinic_a,
            subject=subject,
            status=SavedCard.Status.SAVED,
            email="rosa@example.test",
            name="Rosa Client",
            stripe_customer_id="cus_fake",
            stripe_setup_intent_id=f"seti_fake_{subject}",
            stripe_payment_method_id="pm_fake",
            brand="visa",
            last4="4242",
            created_at=timezone.now(),
            saved_at=timezone.now(),
        )

    return make


@pytest.fixture
def charge(clinic_a, provider, django_capture_on_commit_callbacks):
    """The expert presses Charge (the send task runs on commit, as the worker would)."""

    def press(amount: int = 4500, *, subject: str = SUBJECT, price: int = 4500, by=None):
        with django_capture_on_commit_callbacks(execute=True):
            payment = services.charge_request(
                clinic=clinic_a,
                subject=subject,
                amount=amount,
                price=price,
                description="Phone consultation: Medication review, 7 Dec 2026",
                by=by or provider,
            )
        payment.refresh_from_db()
        return payment

    return press


def intent_answer(request, *, status: str = "succeeded", **extra):
    """FakeStripeHttp's answer to a PaymentIntent create: the intent as Stripe returns it."""
    return 200, {
        "id": "pi_fake1",
        "object": "payment_intent",
        "status": status,
        "amount": int(request.params.get("amount", 0)),
        "currency": request.params.get("currency", "usd"),
        "latest_charge": "ch_fake1",
        "metadata": {"payment": request.params.get("metadata[payment]", "")},
        "client_secret": "pi_fake1_secret_x",
        **extra,
    }


def refund_answer(request, *, status: str = "succeeded"):
    return 200, {
        "id": "re_fake1",
        "object": "refund",
        "status": status,
        "amount": int(request.params.get("amount", 0)),
        "payment_intent": request.params.get("payment_intent"),
        "metadata": {"payment": request.params.get("metadata[payment]", "")},
    }


def stripe_answers(request):
    if request.path.startswith("/v1/refunds"):
        return refund_answer(request)
    return intent_answer(request)


@pytest.fixture
def waiting(save_card, charge):
    """A charge of $45.00 the client's bank holds for their confirmation (the /pay/ link)."""
    save_card(cards.NEEDS_AUTHENTICATION, subject=SUBJECT)
    payment = charge(4500)
    assert payment.status == PaymentStatus.NEEDS_AUTHENTICATION
    return payment
