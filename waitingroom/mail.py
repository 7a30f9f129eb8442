"""Outgoing email with stored outcomes: queue (idempotent by reference) and deliver (a Celery task,
safe to run twice). Apps above build the content; this module only stores and sends it."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage as DjangoEmail
from django.db import transaction
from django.utils import timezone

from waitingroom.models import Clinic, EmailMessage


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: str
    mimetype: str


def email_queue(
    *,
    clinic: Clinic,
    reference: str,
    to: list[str],
    subject: str,
    body: str,
    attachments: tuple[Attachment, ...] = (),
) -> EmailMessage | None:
    """Store the email and send it after commit. The same reference twice is one email; no
    recipients is no email."""
    from waitingroom.tasks import email_deliver

    recipients = sorted({address for address in to if address})
    if not recipients:
        return None
    message, created = EmailMessage.objects.get_or_create(
        reference=reference,
        defaults={
            "clinic": clinic,
            "to": recipients,
            "subject": subject[:200],
            "body": body,
            "attachments": [a.__dict__ for a in attachments],
        },
    )
    if created:
        email_deliver.delay_on_commit(message.id)  # type: ignore[attr-defined]  # a DjangoTask under Celery's Django fix-up; typed as Task
    return message


def email_deliver_now(*, message_id: int) -> None:
    """Hand the email to Django's mail backend once; a sent row is done. A failure raises, so the
    task retries with backoff; the row keeps the last error."""
    try:
        with transaction.atomic():
            message = EmailMessage.objects.select_for_update().get(pk=message_id)
            if message.status == EmailMessage.Status.SENT:
                return
            email = DjangoEmail(
                subject=message.subject,
                body=message.body,
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=message.to,
            )
            for attachment in message.attachments:
                email.attach(attachment["filename"], attachment["content"], attachment["mimetype"])
            email.send()
            message.status, message.sent_at, message.error = EmailMessage.Status.SENT, timezone.now(), ""
            message.save(update_fields=["status", "sent_at", "error"])
    except OSError as error:
        # Recorded outside the rolled-back transaction, so the row shows why it is still pending.
        EmailMessage.objects.filter(pk=message_id).update(error=str(error)[:200])
        raise
