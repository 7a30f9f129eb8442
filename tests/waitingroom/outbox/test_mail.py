"""The email outbox: stored before sending, one email per reference, failures kept and retried;
the HTML part goes as an alternative to the text, and a row without one goes as text only."""

from __future__ import annotations

import pytest
from celery.exceptions import Retry
from django.core import mail

from waitingroom.outbox import delivery, queueing
from waitingroom.outbox.models import EmailMessage
from waitingroom.outbox.rendering import EmailContent

pytestmark = pytest.mark.django_db(transaction=True)


def queue(clinic, reference="ref-1", to=("a@example.com",), html="<p>Body</p>"):
    return queueing.email_queue(
        clinic=clinic,
        reference=reference,
        to=list(to),
        content=EmailContent(subject="Hello", text="Body", html=html),
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


def test_the_html_part_is_sent_as_an_alternative_beside_the_attachment(clinic_a):
    mail.outbox.clear()
    message = queue(clinic_a)
    assert (message.body, message.html_body) == ("Body", "<p>Body</p>")
    (sent,) = mail.outbox
    assert sent.body == "Body"
    assert [(a.content, a.mimetype) for a in sent.alternatives] == [("<p>Body</p>", "text/html")]
    assert [a[0] for a in sent.attachments] == ["invite.ics"]
    raw = sent.message().as_string()  # multipart/mixed: the alternatives, then the invitation
    assert "multipart/alternative" in raw and "text/html" in raw and "text/calendar" in raw


def test_a_row_without_an_html_part_is_sent_as_text_only(clinic_a):
    """Rows stored before HTML parts existed (the migration gives them an empty one)."""
    mail.outbox.clear()
    queue(clinic_a, html="")
    (sent,) = mail.outbox
    assert (sent.body, sent.alternatives) == ("Body", [])


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


@pytest.mark.parametrize(
    ("subject", "to"),
    [
        ("New request from Rita\r\nBcc: evil@example.com", "host@example.com"),  # a requester's CR/LF
        ("Your meeting", "guest@example.com\nBcc: evil@example.com"),  # a line break in an address
    ],
)
def test_an_email_that_can_never_be_sent_ends_failed_with_its_reason(clinic_a, subject, to):
    """Stored before the forms refused such values: no retry can send it, so it does not stay
    pending (the task retries OSError only) but ends failed, the reason on the row and in the admin."""
    from django.contrib.auth.models import User
    from django.test import Client

    mail.outbox.clear()
    message = queueing.email_queue(
        clinic=clinic_a,
        reference="bad",
        to=[to],
        content=EmailContent(subject=subject, text="Body", html=""),
    )
    message.refresh_from_db()
    assert message.status == "failed" and message.error.startswith("Cannot be sent: ")
    assert mail.outbox == []
    delivery.email_deliver_now(message_id=message.pk)  # run again: still failed, nothing sent
    assert (EmailMessage.objects.get().status, mail.outbox) == ("failed", [])

    admin = Client()
    admin.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    page = admin.get("/admin/waitingroom/emailmessage/").content.decode()
    assert "Cannot be sent: " in page and "Failed" in page
