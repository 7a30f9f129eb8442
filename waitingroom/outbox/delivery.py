"""Delivery, run by the Celery tasks: each message is handed to its backend once (a task run twice,
or again after its worker was killed, sends nothing more), a sweep finds the messages that did not
get through, and Twilio's delivery-status callbacks move an SMS's status forward only.

Nothing here queues a task, so the tasks import this module and nothing imports them back.
"""

from __future__ import annotations

import functools
import logging
import uuid
from datetime import datetime, timedelta
from urllib.parse import urlencode

import django.dispatch
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from waitingroom.outbox.models import EmailMessage, SmsMessage
from waitingroom.outbox.sms_backends import SmsRefused, get_sms_backend

log = logging.getLogger(__name__)

# Sent after commit when a message's status moved forward; apps above listen (e.g. the visit card).
sms_status_changed = django.dispatch.Signal()  # kwargs: message


def sms_deliver_now(*, message_id: int) -> None:
    """Hand the message to the SMS backend at most once.

    The attempt is committed ("submitting", with its reference) before the backend is called, so
    a worker killed during the call leaves a row that says so: no later run of this task sends it
    again (a redelivered task finds it "submitting" and stops); the sweep asks the provider what
    became of that attempt. A row that already has a provider id, or is stuck or failed, is done.
    """
    message = _claim(message_id)
    if message is None:
        return
    callback = (
        settings.PUBLIC_BASE_URL
        + reverse("twilio_sms_status")
        + "?"
        + urlencode({"attempt": message.attempt})
    )
    try:
        result = get_sms_backend().send(
            to=message.to, body=message.body, status_callback=callback, reference=message.attempt
        )
    except SmsRefused as refused:
        # The provider said no: nothing was sent. Temporary (rate limited): pending again, and the
        # task retries; otherwise the message fails with the provider's reason, shown on the card.
        status = "pending" if refused.retry else "failed"
        _settle(message, status=status, error=str(refused)[:200])
        if refused.retry:
            raise
        return
    except Exception:
        # Did the request reach the provider? Unknown: the row stays "submitting" and the sweep
        # asks the provider (sms_sweep), instead of a retry that could text the patient twice.
        log.exception("SMS %s: outcome of attempt %s unknown", message.reference, message.attempt)
        return
    _settle(message, sid=result.sid, status=result.status)


def _claim(message_id: int) -> SmsMessage | None:
    """Mark a pending message "submitting" under a new attempt, in a transaction of its own."""
    with transaction.atomic():
        message = SmsMessage.objects.select_for_update().filter(pk=message_id).first()
        if message is None or message.sid or message.status != "pending":
            return None
        message.status, message.error = SmsMessage.SUBMITTING, ""
        message.attempt, message.attempt_started_at = uuid.uuid4().hex, timezone.now()
        message.save(update_fields=["status", "error", "attempt", "attempt_started_at", "updated_at"])
    return message


def _settle(message: SmsMessage, **changes: str) -> bool:
    """Apply the outcome of `message`'s attempt if that attempt is still the one in flight (the
    status callback or the sweep may have settled it first). Returns whether it applied."""
    with transaction.atomic():
        row = (
            SmsMessage.objects.select_for_update()
            .filter(pk=message.pk, attempt=message.attempt, status=SmsMessage.SUBMITTING, sid="")
            .first()
        )
        if row is None:
            return False
        for name, value in changes.items():
            setattr(row, name, value)
        row.save(update_fields=[*changes, "updated_at"])
        transaction.on_commit(lambda: sms_status_changed.send(sender=SmsMessage, message=row))
    return True


def sms_sweep(*, now: datetime | None = None) -> list[int]:
    """Beat's sweep for messages that did not get through; returns the ids to enqueue again.

    - "pending" with no change for SMS_QUEUED_STALE_SECONDS: its task was lost (a worker killed
      before it claimed the row, a broker restart): enqueued again (claiming is idempotent).
    - "submitting" for SMS_SENDING_STALE_SECONDS (longer than a backend call may take): the
      provider is asked about that attempt. It has it: its SID is stored. It never got it:
      pending again and enqueued. It cannot tell: asked again next time.
    - Either one still unsent after SMS_GIVE_UP_SECONDS, or a backend that cannot be asked:
      "stuck", shown on the card; never sent again automatically.
    """
    now = now or timezone.now()
    give_up = now - timedelta(seconds=settings.SMS_GIVE_UP_SECONDS)
    again: list[int] = []
    with transaction.atomic():
        queued = SmsMessage.objects.select_for_update(skip_locked=True).filter(
            status="pending",
            sid="",
            updated_at__lt=now - timedelta(seconds=settings.SMS_QUEUED_STALE_SECONDS),
        )
        for message in queued:
            if message.created_at < give_up:
                message.status, message.error = SmsMessage.STUCK, "No worker sent it in time."
                message.save(update_fields=["status", "error", "updated_at"])
                transaction.on_commit(functools.partial(_changed, message))
            else:
                again.append(message.pk)
        # Stamped, so the next sweep waits a full period before enqueueing these again.
        SmsMessage.objects.filter(pk__in=again).update(updated_at=now)
    submitting = SmsMessage.objects.filter(
        status=SmsMessage.SUBMITTING,
        sid="",
        attempt_started_at__lt=now - timedelta(seconds=settings.SMS_SENDING_STALE_SECONDS),
    )
    backend = get_sms_backend()
    for message in submitting:
        started = message.attempt_started_at or now  # always set with "submitting"
        try:
            found = backend.lookup(to=message.to, body=message.body, reference=message.attempt, since=started)
        except NotImplementedError:
            _settle(message, status=SmsMessage.STUCK, error="Sent or not is unknown (a worker stopped).")
            continue
        except Exception:
            log.warning("SMS %s: the provider could not be asked", message.reference, exc_info=True)
            if started < give_up:
                _settle(message, status=SmsMessage.STUCK, error="Sent or not is unknown (a worker stopped).")
            continue
        if found is not None:
            _settle(message, sid=found.sid, status=found.status)
        elif _settle(message, status="pending"):
            again.append(message.pk)
    return again


def _changed(message: SmsMessage) -> None:
    sms_status_changed.send(sender=SmsMessage, message=message)


def sms_status_update(*, sid: str, status: str, error: str = "", attempt: str = "") -> bool:
    """Apply a delivery callback. Unknown, repeated or out-of-order (backwards) statuses change
    nothing. A callback naming the attempt of a row with no SID yet (its worker died after the
    provider took the message) gives the row its SID. Returns whether the status moved."""
    rank = SmsMessage.STATUS_RANK.get(status)
    if rank is None:
        return False
    with transaction.atomic():
        message = SmsMessage.objects.select_for_update().filter(sid=sid).first()
        if message is None and attempt:
            message = SmsMessage.objects.select_for_update().filter(attempt=attempt, sid="").first()
            if message is not None:
                message.sid = sid
        if message is None or rank <= SmsMessage.STATUS_RANK.get(message.status, 0):
            return False
        message.status, message.error = status, error[:200]
        message.save(update_fields=["sid", "status", "error", "updated_at"])
        transaction.on_commit(functools.partial(_changed, message))
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
