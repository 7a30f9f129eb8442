"""The email outbox: stored before sending, one email per reference, failures kept and retried."""

from __future__ import annotations

import pytest
from celery.exceptions import Retry
from django.core import mail

from waitingroom.outbox import delivery, queueing
from waitingroom.outbox.models import EmailMessage

pytestmark = pytest.mark.django_db(transaction=True)


def queue(clinic, reference="ref-1", to=("a@example.com",)):
    return queueing.email_queue(
        clinic=clinic,
        reference=reference,
        to=list(to),
        subject="Hello",
        body="Body",
        attachments=(
            queueing.Attachment("invite.ics", "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "text/calendar"),
        ),
    )


def test_an_email_is_stored_then_sent_once_per_reference(clinic_a):
    mail.outbox.clear()
    first = queue(clinic_a)
    again = queue(clinic_a)
    assert first.pk == again.pk
    (sent,) = mail.outbox
    assert (sent.to, sent.subject, sent.attachments[0][0]) == (["a@example.com"], "Hello", "invite.ics")
    first.refresh_from_db()
    assert first.status == "sent" and first.sent_at is not None
    delivery.email_deliver_now(message_id=first.pk)  # the task running twice sends nothing more
    assert len(mail.outbox) == 1


def test_no_recipients_is_no_email(clinic_a):
    assert queue(clinic_a, to=("", "")) is None
    assert not EmailMessage.objects.exists()


def test_a_mail_server_failure_is_recorded_and_the_task_retries(clinic_a, monkeypatch):
    from django.core.mail.backends.locmem import EmailBackend

    def refuse(self, messages):
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr(EmailBackend, "send_messages", refuse)
    # The task asks Celery to retry it later (with backoff), keeping the row pending.
    with pytest.raises(Retry):
        queue(clinic_a)
    message = EmailMessage.objects.get()
    assert (message.status, message.error) == ("pending", "mail server down")
    monkeypatch.undo()
    delivery.email_deliver_now(message_id=message.pk)
    message.refresh_from_db()
    assert (message.status, message.error) == ("sent", "")
