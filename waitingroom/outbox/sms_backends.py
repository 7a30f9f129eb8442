"""SMS backends, chosen by settings.SMS_BACKEND (console, in-memory outbox, Twilio).

A backend sends one message and returns what the provider said about it; storing that outcome
and retrying belong to the caller (a Celery task), so backends stay small and swappable.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.module_loading import import_string

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SmsResult:
    sid: str
    status: str


@dataclass(frozen=True)
class OutboxMessage:
    to: str
    body: str
    status_callback: str | None
    sid: str = field(default_factory=lambda: "SM" + uuid.uuid4().hex)


class BaseSmsBackend:
    def send(self, *, to: str, body: str, status_callback: str | None = None) -> SmsResult:
        raise NotImplementedError


class ConsoleSmsBackend(BaseSmsBackend):
    """Development: the message goes to the process's log (the worker's, under `make run`)."""

    def send(self, *, to: str, body: str, status_callback: str | None = None) -> SmsResult:
        sid = "SM" + uuid.uuid4().hex
        log.warning("SMS to %s: %s", to, body)
        return SmsResult(sid=sid, status="sent")


# Tests read what would have been sent from here, like django.core.mail.outbox.
outbox: list[OutboxMessage] = []


class LocmemSmsBackend(BaseSmsBackend):
    def send(self, *, to: str, body: str, status_callback: str | None = None) -> SmsResult:
        message = OutboxMessage(to=to, body=body, status_callback=status_callback)
        outbox.append(message)
        return SmsResult(sid=message.sid, status="queued")


class TwilioSmsBackend(BaseSmsBackend):
    """Production: Twilio Messaging. Tests pass `http_client` to capture the exact request."""

    def __init__(self, http_client=None) -> None:
        from twilio.rest import Client  # imported here: only production needs the SDK loaded

        self.client = Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=http_client)

    def send(self, *, to: str, body: str, status_callback: str | None = None) -> SmsResult:
        kwargs: dict[str, str] = {"to": to, "body": body}
        if settings.TWILIO_MESSAGING_SERVICE_SID:
            kwargs["messaging_service_sid"] = settings.TWILIO_MESSAGING_SERVICE_SID
        else:
            kwargs["from_"] = settings.TWILIO_FROM_NUMBER
        if status_callback:
            kwargs["status_callback"] = status_callback
        message = self.client.messages.create(**kwargs)
        return SmsResult(sid=message.sid, status=message.status or "queued")


def get_sms_backend(**kwargs) -> BaseSmsBackend:
    return import_string(settings.SMS_BACKEND)(**kwargs)
