"""Reminders before a booked consultation: an email 24 hours before and an SMS 15 minutes before
("<clinic> will call you from <number>"), each sent once.

A beat sweep (consultations/tasks.py) claims due rows with select_for_update(skip_locked=True) and
stamps reminder_email_at / reminder_sms_at in the same transaction that queues the message, so a
second sweep, concurrent or later, finds nothing to do; the outbox's reference is a second guard
(one message per reference).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from consultations import emails
from consultations.lifecycle import Status
from consultations.models import Consultation
from waitingroom.outbox.queueing import SmsCeilingReached, sms_queue
from waitingroom.sms_limit import sms_allowed

log = logging.getLogger(__name__)

EMAIL_BEFORE = timedelta(hours=24)
SMS_BEFORE = timedelta(minutes=15)
# Booked, not started: Available and Claimed ones (a cancelled or started call needs no reminder).
REMINDED_STATUSES = (Status.AVAILABLE, Status.CLAIMED)


def _due(now: datetime, limit: int, **filters) -> QuerySet[Consultation]:
    return (
        Consultation.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("clinic", "service", "expert", "requester")
        .filter(status__in=REMINDED_STATUSES, starts_at__gt=now, **filters)
        .order_by("starts_at")[:limit]
    )


def send_due_emails(*, now: datetime, limit: int = 200) -> int:
    """Consultations starting within 24 hours that were booked more than 24 hours ahead (a later
    booking's confirmation was its reminder)."""
    with transaction.atomic():
        due = list(
            _due(
                now,
                limit,
                reminder_email_at__isnull=True,
                starts_at__lte=now + EMAIL_BEFORE,
                created_at__lte=F("starts_at") - EMAIL_BEFORE,
            )
        )
        for consultation in due:
            consultation.reminder_email_at = now
            consultation.save(update_fields=["reminder_email_at"])
            emails.reminder_24h(consultation)
    return len(due)


def reminder_sms_body(consultation: Consultation) -> str:
    clinic = consultation.clinic
    number = emails.voice_number(clinic)
    start = consultation.starts_at.astimezone(clinic.tzinfo)
    calls = f"{clinic.name} will call you from {number}" if number else f"{clinic.name} will call you"
    return (
        f"{calls} at {start:%H:%M} for your {consultation.service.name}. "
        f"Your consultation: {emails.room_url(consultation)}"
    )


def send_due_sms(*, now: datetime, limit: int = 200) -> int:
    """Consultations starting within 15 minutes. Past the clinic's daily SMS ceiling the reminder
    is given up (stamped, not sent: tomorrow is too late) and the admins get the ceiling's alert."""
    sent = 0
    with transaction.atomic():
        due = list(_due(now, limit, reminder_sms_at__isnull=True, starts_at__lte=now + SMS_BEFORE))
        for consultation in due:
            consultation.reminder_sms_at = now
            consultation.save(update_fields=["reminder_sms_at"])
            if not sms_allowed(consultation.clinic):
                log.warning("consultation %s: SMS reminder not sent (daily SMS limit)", consultation.pk)
                continue
            try:
                sms_queue(
                    clinic=consultation.clinic,
                    reference=f"consultation-{consultation.pk}-reminder-sms",
                    to=consultation.client_phone,
                    body=reminder_sms_body(consultation),
                )
            except SmsCeilingReached:  # reached by a parallel send since sms_allowed() looked
                continue
            sent += 1
    return sent


def reminders_send_due(*, now: datetime | None = None) -> tuple[int, int]:
    """(emails, SMS) queued by this sweep."""
    now = now or timezone.now()
    return send_due_emails(now=now), send_due_sms(now=now)
