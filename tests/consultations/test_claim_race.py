"""Two experts pressing Claim at the same moment, in two real transactions on two connections: the
row lock serialises them, exactly one wins and the other is told who did."""

from __future__ import annotations

import pytest

from consultations import services
from consultations.lifecycle import Status
from consultations.models import Consultation, ConsultationEvent
from tests.factories import staff
from tests.support.races import at_once, meet_at
from waitingroom.models import Role

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_experts_claiming_at_once_one_wins_and_the_other_is_told(available, provider, monkeypatch):
    colleague = staff(
        username="pete", clinic=available.clinic, role=Role.PROVIDER, first_name="Pete", last_name="P"
    )
    # Both threads read the row before either writes: each waits at the barrier right after
    # taking its row lock is attempted, so the second really blocks behind the first.
    meet_at(services, "locked", monkeypatch)
    outcomes = at_once(
        lambda user: services.consultation_claim(consultation_id=available.pk, by=user, expected_version=0),
        (provider, colleague),
        refused=services.ConsultationRefused,
    )

    available.refresh_from_db()
    assert available.status == Status.CLAIMED
    winner = available.expert.username
    loser = ({"paula", "pete"} - {winner}).pop()
    assert outcomes[winner] == "done"
    assert outcomes[loser] == f"{available.expert.get_full_name()} claimed this consultation first."
    assert ConsultationEvent.objects.filter(consultation=available).count() == 1
    assert Consultation.objects.get(pk=available.pk).version == 1
