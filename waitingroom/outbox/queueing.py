"""What apps above call to send an SMS or an email: the message is stored (one per reference, so
asking twice sends once) and its delivery task is queued for after the commit. Apps build the
content; the outbox only stores and sends it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

from django.utils import timezone

from waitingroom.models import Clinic
from waitingroom.outbox.models import EmailMessage, SmsMessage
from waitingroom.outbox.rendering import EmailContent
from waitingroom.outbox.tasks import email_deliver, sms_deliver


class SmsCeilingReached(Exception):
    """The clinic sent its daily_sms_limit today: nothing more is sent until tomorrow."""


def sms_ceiling_reached(clinic: Clinic) -> bool:
    """Whether the clinic has stored its daily_sms_limit of SMS today (its own time zone). Checked,
    not locked: parallel sends may pass the limit by a few, which a budget can bear."""
    today = timezone.localtime(timezone.now(), clinic.tzinfo).date()
    since = datetime.combine(today, time.min, tzinfo=clinic.tzinfo)
    return SmsMessage.objects.filter(clinic=clinic, created_at__gte=since).count() >= clinic.daily_sms_limit


def sms_queue(*, clinic: Clinic, reference: str, to: str, body: str) -> SmsMessage:
    """Store the message and send it after commit. The same reference twice is one message.
    Past the clinic's daily ceiling, SmsCeilingReached (callers check sms_ceiling_reached first,
    through waitingroom/sms_limit.py, to tell the clinic admins and the patient)."""
    existing = SmsMessage.objects.filter(reference=reference).first()
    if existing is not None:
        return existing
    if sms_ceiling_reached(clinic):
        raise SmsCeilingReached(clinic.name)
    message, created = SmsMessage.objects.get_or_create(
        reference=reference, defaults={"clinic": clinic, "to": to, "body": body}
    )
    if created:
        sms_deliver.delay_on_commit(message.id)  # type: ignore[attr-defined]  # a DjangoTask under Celery's Django fix-up; typed as Task
    return message


@dataclass(frozen=True)
class Attachment:
    """A text attachment (an .ics invitation): stored in the row as JSON until it is sent."""

    filename: str
    content: str
    mimetype: str


def email_queue(
    *,
    clinic: Clinic,
    reference: str,
    to: list[str],
    content: EmailContent,
    attachments: tuple[Attachment, ...] = (),
) -> EmailMessage | None:
    """Store the email (content from rendering.render_email) and send it after commit. The same
    reference twice is one email; no recipients is no email."""
    recipients = sorted({address for address in to if address})
    if not recipients:
        return None
    message, created = EmailMessage.objects.get_or_create(
        reference=reference,
        defaults={
            "clinic": clinic,
            "to": recipients,
            "subject": content.subject[:200],
            "body": content.text,
            "html_body": content.html,
            "attachments": [a.__dict__ for a in attachments],
        },
    )
    if created:
        email_deliver.delay_on_commit(message.id)  # type: ignore[attr-defined]  # a DjangoTask under Celery's Django fix-up; typed as Task
    return message
