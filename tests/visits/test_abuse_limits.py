"""Public actions that text a patient are limited per client address, and a clinic's daily SMS
ceiling stops sending and tells its admins once a day."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.test import Client
from django.utils import timezone

from tests.factories import staff
from tests.visits.conftest import ready
from visits import offline
from visits.lifecycle import Status
from visits.models import Visit
from waitingroom.models import Role
from waitingroom.outbox import sms_backends
from waitingroom.outbox.queueing import SmsCeilingReached, sms_queue
from waitingroom.sms_limit import CANNOT_TEXT

# SMS and emails leave on commit: these tests commit for real.
pytestmark = pytest.mark.django_db(transaction=True)
SMS_PER_CLIENT, _ = settings.RATE_LIMITS["phone-verification"]


@pytest.fixture
def clinic(clinic_a):
    clinic_a.offline_queueing = True
    clinic_a.save(update_fields=["offline_queueing"])
    sms_backends.outbox.clear()
    mail.outbox.clear()
    return clinic_a


def new_visit_url(client: Client, clinic, address: str) -> str:
    response = client.post(f"/c/{clinic.slug}/", {"patient_name": "Pat"}, REMOTE_ADDR=address)
    assert response.status_code == 302
    return response["Location"]


def test_verification_sms_to_many_numbers_from_one_address_are_cut_at_the_limit(clinic):
    client = Client()
    answers = []
    for n in range(12):
        wait_url = new_visit_url(client, clinic, "203.0.113.5")
        answers.append(
            client.post(f"{wait_url}phone/", {"phone": f"(415) 555-01{n:02d}"}, REMOTE_ADDR="203.0.113.5")
        )
    assert [a.status_code for a in answers] == [200] * SMS_PER_CLIENT + [429] * (12 - SMS_PER_CLIENT)
    assert "Too many requests from your network" in answers[-1].json()["error"]
    assert len(sms_backends.outbox) == SMS_PER_CLIENT
    # Another address is not limited by this one.
    other = Client()
    wait_url = new_visit_url(other, clinic, "198.51.100.20")
    assert (
        other.post(f"{wait_url}phone/", {"phone": "(415) 555-0199"}, REMOTE_ADDR="198.51.100.20").status_code
        == 200
    )
    assert len(sms_backends.outbox) == SMS_PER_CLIENT + 1


def test_the_daily_sms_ceiling_stops_sending_and_alerts_the_admins_once(clinic, provider):
    admin = staff(username="ada", clinic=clinic, role=Role.CLINIC_ADMIN)
    clinic.daily_sms_limit = 2
    clinic.save(update_fields=["daily_sms_limit"])
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for n in range(2):
            offline.phone_verification_start(
                visit_id=ready(clinic, f"P{n}").id, raw_phone=f"(415) 555-01{n:02d}"
            )
        assert len(sms_backends.outbox) == 2
        refused = ready(clinic, "Third")
        for _ in range(2):
            with pytest.raises(offline.VerificationError, match=CANNOT_TEXT):
                offline.phone_verification_start(visit_id=refused.id, raw_phone="(415) 555-0150")
        assert len(sms_backends.outbox) == 2 and not refused.phone_verifications.exists()
        [alert] = mail.outbox
        assert alert.to == [admin.email] and "daily SMS limit" in alert.subject

        # Recall, the staff action that texts, is refused too and changes nothing.
        offline_visit = Visit.objects.get(patient_name="P0")
        offline_visit.verified_phone = "+14155550100"
        offline_visit.save(update_fields=["verified_phone"])
        offline.visit_visibility(visit_id=offline_visit.id, hidden=True)
        with pytest.raises(offline.RecallRefused):
            offline.visit_recall(visit_id=offline_visit.id, user=provider)
        offline_visit.refresh_from_db()
        assert offline_visit.status == Status.OFFLINE and offline_visit.recall_count == 0
        assert len(sms_backends.outbox) == 2 and len(mail.outbox) == 1  # still one alert today
        # The outbox itself refuses, whoever calls it.
        with pytest.raises(SmsCeilingReached):
            sms_queue(clinic=clinic, reference="direct", to="+14155550100", body="hi")

    with time_machine.travel(start + timedelta(days=1), tick=False):
        offline.phone_verification_start(visit_id=refused.id, raw_phone="(415) 555-0150")
        assert len(sms_backends.outbox) == 3


def test_a_patient_past_the_ceiling_is_told_on_the_wait_screen(clinic):
    clinic.daily_sms_limit = 0
    clinic.save(update_fields=["daily_sms_limit"])
    client = Client()
    wait_url = new_visit_url(client, clinic, "203.0.113.5")
    answer = client.post(f"{wait_url}phone/", {"phone": "(415) 555-0123"})
    assert answer.status_code == 400 and answer.json()["error"] == CANNOT_TEXT
    assert not sms_backends.outbox
