"""Two experts (the claim's holder and a clinic admin) pressing Charge at the same moment, in two
real transactions on two connections: the consultation's row lock serialises them, exactly one
charge reaches Stripe and the other press is told."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from consultations import payments, services
from consultations.lifecycle import Status
from tests.consultations.conftest import make_consultation
from tests.consultations.payment_support import payment_intents, with_card
from waitingroom.payments.lifecycle import PaymentStatus
from waitingroom.payments.models import Payment

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_presses_at_once_make_one_charge(
    payments_on, clinic_a, paid_service, provider, clinic_admin, monkeypatch
):
    consultation = make_consultation(clinic_a, paid_service, expert=provider, status=Status.IN_PROGRESS)
    card = with_card(consultation)
    barrier = threading.Barrier(2, timeout=10)
    real_locked = services.locked

    def locked_together(consultation_id: int):
        barrier.wait()
        return real_locked(consultation_id)

    monkeypatch.setattr(services, "locked", locked_together)
    outcomes: dict[str, str] = {}

    def press(user):
        try:
            payments.charge(consultation_id=consultation.pk, by=user, amount=4500)
            outcomes[user.username] = "charged"
        except services.ConsultationRefused as refused:
            outcomes[user.username] = str(refused)
        finally:
            connection.close()

    threads = [threading.Thread(target=press, args=(user,)) for user in (provider, clinic_admin)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == ["ada", "paula"]
    assert list(outcomes.values()).count("charged") == 1
    assert Payment.objects.get().status == PaymentStatus.SUCCEEDED
    assert len(payment_intents(card)) == 1
