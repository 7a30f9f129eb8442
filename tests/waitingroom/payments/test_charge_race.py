"""Two experts pressing Charge at the same moment, in two real transactions on two connections: the
live-charge index lets one charge in; the other is told, and Stripe sees one PaymentIntent."""

from __future__ import annotations

import pytest

from tests.factories import staff
from tests.support.races import at_once, meet_at
from tests.support.stripe import local_api
from waitingroom.models import Role
from waitingroom.payments import services
from waitingroom.payments.lifecycle import PaymentStatus
from waitingroom.payments.models import Payment

pytestmark = pytest.mark.django_db(transaction=True)

SUBJECT = "consultation:977"


def test_two_experts_charging_at_once_make_one_payment_intent(
    save_card, clinic_a, provider, heard, monkeypatch
):
    save_card(subject=SUBJECT)
    colleague = staff(username="pete", clinic=clinic_a, role=Role.PROVIDER, first_name="Pete", last_name="P")
    # Both threads have counted the attempts (1) before either inserts: each waits at the barrier
    # right before its insert, so the second really meets the first's uncommitted row.
    meet_at(Payment.objects, "create", monkeypatch)
    outcomes = at_once(
        lambda user: services.charge_request(
            clinic=clinic_a, subject=SUBJECT, amount=4500, price=4500, description="Nutrition call", by=user
        ),
        (provider, colleague),
        refused=services.PaymentRefused,
    )

    assert sorted(outcomes.values()) == [
        "This consultation is already being charged or paid, so nothing more was charged.",
        "done",
    ]
    (payment,) = Payment.objects.filter(subject=SUBJECT)
    assert payment.status == PaymentStatus.SUCCEEDED  # the task ran on the winner's commit
    intents = [
        pi
        for pi in local_api("GET", "/v1/payment_intents?limit=100")["data"]
        if pi["metadata"].get("subject") == SUBJECT
    ]
    assert [pi["id"] for pi in intents] == [payment.stripe_payment_intent_id]
    assert [what for what, *_ in heard] == ["started", "updated"]
