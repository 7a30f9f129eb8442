"""Helpers of the consultation payment tests: a card saved through localstripe as the booking
page saves one (a SetupIntent confirmed with the card as Stripe.js does: the payments tests'
tests/waitingroom/payments/cards.py, then read back by the server), bound to a consultation, and
what localstripe holds of a card's charges."""

from __future__ import annotations

from consultations.models import Consultation
from consultations.payments import subject_of
from tests.consultations.conftest import CLIENT_EMAIL
from tests.support.stripe import local_api
from tests.waitingroom.payments import cards
from waitingroom.models import Clinic
from waitingroom.payments import services as pay
from waitingroom.payments.models import SavedCard

VISA = cards.OK
DECLINES = cards.DECLINED_AT_CHARGE  # saved fine, declined on every charge
NEEDS_AUTHENTICATION = cards.NEEDS_AUTHENTICATION  # 3-D Secure at saving and on every charge


def saved_card(clinic: Clinic, *, email: str = CLIENT_EMAIL, number: str = VISA) -> SavedCard:
    """A card saved on `clinic`'s booking page for `email`, not bound to a booking yet."""
    card, secret = pay.card_setup_start(clinic=clinic, email=email, name="Casey Client")
    status, body = cards.confirm_setup(secret, number)
    assert status == 200, body
    if body["status"] == "requires_action":
        cards.complete_setup_authentication(secret)
    return pay.card_setup_finish(clinic=clinic, token=card.token)


def with_card(consultation: Consultation, *, number: str = VISA) -> SavedCard:
    """`consultation` booked with a saved card (as the booking binds it)."""
    card = saved_card(consultation.clinic, email=consultation.client_email, number=number)
    return pay.card_bind(
        clinic=consultation.clinic,
        token=card.token,
        subject=subject_of(consultation.pk),
        email=consultation.client_email,
    )


def payment_intents(card: SavedCard) -> list[dict]:
    """Every PaymentIntent localstripe holds for the card's customer."""
    listed = local_api("GET", "/v1/payment_intents?limit=100")["data"]
    return [
        pi
        for pi in listed
        if pi.get("customer") == card.stripe_customer_id
        or pi.get("payment_method") == card.stripe_payment_method_id
    ]
