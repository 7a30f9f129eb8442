"""Outgoing SMS with stored outcomes: queue (idempotent by reference), deliver (a Celery task, safe
to run twice), and delivery-status updates from Twilio's callback (forward only)."""

from __future__ import annotations

import django.dispatch
from django.conf import settings
from django.db import transaction
from django.urls import reverse

from waitingroom.models import Clinic, SmsMessage
from waitingroom.sms import get_sms_backend

# Sent after commit when a message's status moved forward; apps above listen (e.g. the visit card).
sms_status_changed = django.dispatch.Signal()  # kwargs: message


def sms_queue(*, clinic: Clinic, reference: str, to: str, body: str) -> SmsMessage:
    """Store the message and send it after commit. The same reference twice is one message."""
    from waitingroom.tasks import sms_deliver

    message, created = SmsMessage.objects.get_or_create(
        reference=reference, defaults={"clinic": clinic, "to": to, "body": body}
    )
    if created:
        sms_deliver.delay_on_commit(message.id)  # type: ignore[attr-defined]  # a DjangoTask under Celery's Django fix-up; typed as Task
    return message


def sms_deliver_now(*, message_id: int) -> None:
    """Hand the message to the SMS backend once: a row that already has a provider id is done."""
    with transaction.atomic():
        message = SmsMessage.objects.select_for_update().get(pk=message_id)
        if message.sid:
            return
        callback = settings.PUBLIC_BASE_URL + reverse("twilio_sms_status")
        result = get_sms_backend().send(to=message.to, body=message.body, status_callback=callback)
        message.sid, message.status = result.sid, result.status
        message.save(update_fields=["sid", "status", "updated_at"])
        transaction.on_commit(lambda: sms_status_changed.send(sender=SmsMessage, message=message))


def sms_status_update(*, sid: str, status: str, error: str = "") -> bool:
    """Apply a delivery callback. Unknown, repeated or out-of-order (backwards) statuses change
    nothing. Returns whether the status moved."""
    rank = SmsMessage.STATUS_RANK.get(status)
    if rank is None:
        return False
    with transaction.atomic():
        message = SmsMessage.objects.select_for_update().filter(sid=sid).first()
        if message is None or rank <= SmsMessage.STATUS_RANK.get(message.status, 0):
            return False
        message.status, message.error = status, error[:200]
        message.save(update_fields=["status", "error", "updated_at"])
        transaction.on_commit(lambda: sms_status_changed.send(sender=SmsMessage, message=message))
    return True
