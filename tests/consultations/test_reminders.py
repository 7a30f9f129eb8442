"""Reminders: the email 24 hours before and the SMS 15 minutes before ("<clinic> will call you
from <number>"), each sent once, however often and however concurrently the sweep runs."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection

from consultations import reminders, tasks
from consultations.lifecycle import Status
from consultations.models import Consultation, ConsultationProfile
from tests.consultations.conftest import CLIENT_PHONE, make_consultation
from tests.scheduling.conftest import MONDAY_NOON
from waitingroom.outbox import sms_backends
from waitingroom.outbox.models import EmailMessage, SmsMessage

# Messages leave on commit, and the concurrent sweeps need their own committed view.
pytestmark = pytest.mark.django_db(transaction=True)
VOICE = "+15551230000"
STARTS = MONDAY_NOON + timedelta(days=2)  # Wednesday 12:00 EST


@pytest.fixture
def booked(clinic_a, provider, phone_service):
    """Casey's consultation with Paula, booked on Monday noon for Wednesday noon."""
    ConsultationProfile.objects.create(clinic=clinic_a, voice_number=VOICE)
    consultation = make_consultation(clinic_a, phone_service, expert=provider, starts_at=STARTS)
    Consultation.objects.filter(pk=consultation.pk).update(created_at=MONDAY_NOON)
    return consultation


def sweep_at(moment) -> tuple[int, int]:
    with time_machine.travel(moment, tick=False):
        return tasks.send_reminders()


def test_the_email_goes_24_hours_before_once(booked):
    assert sweep_at(STARTS - timedelta(hours=24, minutes=1)) == (0, 0)
    assert sweep_at(STARTS - timedelta(hours=24)) == (1, 0)
    assert sweep_at(STARTS - timedelta(hours=23)) == (0, 0)  # the sweep again: nothing
    [email] = mail.outbox
    assert "Reminder" in email.subject and "Wednesday 25 November 2026, 12:00 EST" in email.body
    assert VOICE in email.body and booked.client_token in email.body
    booked.refresh_from_db()
    assert booked.reminder_email_at == STARTS - timedelta(hours=24)


def test_the_sms_goes_15_minutes_before_once_naming_the_number(booked):
    sweep_at(STARTS - timedelta(hours=23))  # the email, first
    assert sweep_at(STARTS - timedelta(minutes=16)) == (0, 0)
    assert sweep_at(STARTS - timedelta(minutes=15)) == (0, 1)
    assert sweep_at(STARTS - timedelta(minutes=14)) == (0, 0)
    [sms] = sms_backends.outbox
    assert sms.to == CLIENT_PHONE
    assert sms.body.startswith(f"Clinic A will call you from {VOICE} at 12:00")
    assert SmsMessage.objects.filter(reference=f"consultation-{booked.pk}-reminder-sms").count() == 1


def test_a_stamp_lost_still_sends_once_by_the_outbox_reference(booked):
    """Were a stamp ever cleared, the outbox's reference keeps it to one message."""
    sweep_at(STARTS - timedelta(minutes=10))
    Consultation.objects.filter(pk=booked.pk).update(reminder_sms_at=None, reminder_email_at=None)
    sweep_at(STARTS - timedelta(minutes=9))
    assert len(sms_backends.outbox) == 1 and len(mail.outbox) == 1


def test_cancelled_started_and_late_bookings_get_no_reminder(clinic_a, provider, phone_service, booked):
    Consultation.objects.filter(pk=booked.pk).update(status=Status.CANCELLED)
    late = make_consultation(clinic_a, phone_service, starts_at=STARTS, email="late@example.com")
    Consultation.objects.filter(pk=late.pk).update(created_at=STARTS - timedelta(hours=3))
    assert sweep_at(STARTS - timedelta(hours=2)) == (0, 0)  # booked 3 hours ahead: its confirmation will do
    assert sweep_at(STARTS - timedelta(minutes=5)) == (0, 1)  # but it is still texted
    assert sweep_at(STARTS + timedelta(minutes=1)) == (0, 0)


def test_the_clinics_daily_sms_limit_is_respected(clinic_a, booked):
    clinic_a.daily_sms_limit = 0
    clinic_a.save(update_fields=["daily_sms_limit"])
    assert sweep_at(STARTS - timedelta(minutes=10)) == (1, 0)
    assert sms_backends.outbox == [] and SmsMessage.objects.count() == 0
    assert Consultation.objects.get(pk=booked.pk).reminder_sms_at is not None  # given up, not retried


def test_two_sweeps_at_once_send_each_reminder_once(booked, clinic_a, phone_service):
    for n in range(5):
        extra = make_consultation(clinic_a, phone_service, starts_at=STARTS, email=f"c{n}@example.com")
        Consultation.objects.filter(pk=extra.pk).update(created_at=MONDAY_NOON)
    moment = STARTS - timedelta(minutes=10)  # both reminders due for all six
    start = threading.Barrier(2)
    results: list[tuple[int, int]] = []
    errors: list[BaseException] = []

    def sweep() -> None:
        try:
            start.wait(timeout=10)
            results.append(reminders.reminders_send_due(now=moment))
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    assert sum(r[0] for r in results) == 6 and sum(r[1] for r in results) == 6
    assert EmailMessage.objects.filter(reference__contains="reminder-24h").count() == 6
    assert SmsMessage.objects.count() == 6
