"""Delivery, run by the Celery tasks: each message is handed to its backend once (a task run twice
sends nothing more), and Twilio's delivery-status callbacks move an SMS's status forward only.

Nothing here queues a task, so the tasks import this module and nothing imports them back.
"""

from __future__ import annotations

import django.dispatch
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from waitingroom.outbox.models import EmailMessage, SmsMessage
from waitingroom.outbox.sms_backends import get_sms_backend

# Sent after commit when a message's status moved forward; apps above listen (e.g. the visit card).
sms_status_changed = django.dispatch.Signal()  # kwargs: message


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


def email_deliver_now(*, message_id: int) -> None:
    """Hand the email to Django's mail backend once; a sent row is done. The HTML part goes as an
    alternative to the text (rows stored before HTML parts existed go as text only). A mail-server
    failure (OSError) raises, so the task retries with backoff; the row keeps the last error. An
    email that can never be sent (a header with a line break: BadHeaderError; any other ValueError
    from building or sending it) ends as failed with its reason, instead of pending forever."""
    try:
        with transaction.atomic():
            message = EmailMessage.objects.select_for_update().get(pk=message_id)
            if message.status == EmailMessage.Status.SENT:
                return
            email = EmailMultiAlternatives(
                subject=message.subject,
                body=message.body,
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=message.to,
            )
            if message.html_body:
                email.attach_alternative(message.html_body, "text/html")
            for attachment in message.attachments:
                email.attach(attachment["filename"], attachment["content"], attachment["mimetype"])
            email.send()
            message.status, message.sent_at, message.error = EmailMessage.Status.SENT, timezone.now(), ""
            message.save(update_fields=["status", "sent_at", "error"])
    except OSError as error:
        # Recorded outside the rolled-back transaction, so the row shows why it is still pending.
        EmailMessage.objects.filter(pk=message_id).update(error=str(error)[:200])
        raise
    except ValueError as error:  # BadHeaderError is one; retrying cannot change the outcome
        EmailMessage.objects.filter(pk=message_id).exclude(status=EmailMessage.Status.SENT).update(
            status=EmailMessage.Status.FAILED, error=f"Cannot be sent: {error}"[:200]
        )
