from __future__ import annotations

import pytest

from tests.waitingroom.payments import cards, subjects
from waitingroom.payments import services
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
