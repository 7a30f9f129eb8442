"""Two experts (the claim's holder and a clinic admin) pressing Charge at the same moment, in two
real transactions on two connections: the consultation's row lock serialises them, exactly one
charge reaches Stripe and the other press is told."""

from __future__ import annotations

import pytest

from consultations import payments, services
from consultations.lifecycle import Status
from tests.consultations.conftest import make_consultation
from tests.consultations.payment_support import payment_intents, with_card
from tests.support.races import at_once, meet_at
from waitingroom.payments.lifecycle import PaymentStatus
from waitingroom.payments.models import Payment

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_presses_at_once_make_one_charge(
    payments_on, clinic_a, paid_service, provider, clinic_admin, monkeypatch
):
    consultation = make_consultation(clinic_a, paid_service, expert=provider, status=Status.IN_PROGRESS)
    card = with_card(consultation)
    meet_at(services, "locked", monkeypatch)
    outcomes = at_once(
        lambda user: payments.charge(consultation_id=consultation.pk, by=user, amount=4500),
        (provider, clinic_admin),
        refused=services.ConsultationRefused,
    )

    assert sorted(outcomes) == ["ada", "paula"]
    assert list(outcomes.values()).count("done") == 1
    assert Payment.objects.get().status == PaymentStatus.SUCCEEDED
    assert len(payment_intents(card)) == 1
