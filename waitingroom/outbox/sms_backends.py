"""SMS backends, chosen by settings.SMS_BACKEND (console, in-memory outbox, Twilio).

A backend sends one message and returns what the provider said about it; storing that outcome
and retrying belong to the caller (a Celery task), so backends stay small and swappable.

Every send carries `reference`, the idempotency reference of one send attempt. A worker killed
during a send leaves its outcome unknown; `lookup()` then asks the provider whether that attempt
reached it (an SmsResult), did not (None), or cannot be told (NotImplementedError, or an error
while asking), so that a message is sent again only when the provider says it never got it.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.utils.module_loading import import_string

log = logging.getLogger(__name__)

# Seconds a call to the provider may take: a hung call must end well before the outbox's sweep
# decides that an attempt which has not answered never reached the provider
# (SMS_SENDING_STALE_SECONDS).
PROVIDER_TIMEOUT = 10


@dataclass(frozen=True)
class SmsResult:
    sid: str
    status: str


class SmsRefused(Exception):
    """The provider answered that it did not take the message, so nothing was sent. `retry`: the
    refusal is temporary (rate limited); otherwise the message can never be sent as it is."""

    def __init__(self, reason: str, *, retry: bool) -> None:
        super().__init__(reason)
        self.retry = retry


@dataclass(frozen=True)
class OutboxMessage:
    to: str
    body: str
    status_callback: str | None
    reference: str = ""
    sid: str = field(default_factory=lambda: "SM" + uuid.uuid4().hex)


class BaseSmsBackend:
    def send(
        self, *, to: str, body: str, status_callback: str | None = None, reference: str = ""
    ) -> SmsResult:
        raise NotImplementedError

    def lookup(self, *, to: str, body: str, reference: str, since: datetime) -> SmsResult | None:
        """What became of the attempt `reference` (started at `since`): None if the provider
        never got it. Raises NotImplementedError when this backend cannot tell."""
        raise NotImplementedError


class ConsoleSmsBackend(BaseSmsBackend):
    """Development: the message goes to the process's log (the worker's, under `make run`)."""

    def send(
        self, *, to: str, body: str, status_callback: str | None = None, reference: str = ""
    ) -> SmsResult:
        sid = "SM" + uuid.uuid4().hex
        log.warning("SMS to %s: %s", to, body)
        return SmsResult(sid=sid, status="sent")


# Tests read what would have been sent from here, like django.core.mail.outbox.
outbox: list[OutboxMessage] = []


class LocmemSmsBackend(BaseSmsBackend):
    def send(
        self, *, to: str, body: str, status_callback: str | None = None, reference: str = ""
    ) -> SmsResult:
        message = OutboxMessage(to=to, body=body, status_callback=status_callback, reference=reference)
        outbox.append(message)
        return SmsResult(sid=message.sid, status="queued")

    def lookup(self, *, to: str, body: str, reference: str, since: datetime) -> SmsResult | None:
        for message in outbox:
            if reference and message.reference == reference:
                return SmsResult(sid=message.sid, status="queued")
        return None


class TwilioSmsBackend(BaseSmsBackend):
    """Production: Twilio Messaging. Tests pass `http_client` to capture the exact request."""

    def __init__(self, http_client=None) -> None:
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client  # imported here: only production needs the SDK loaded

        if http_client is None:
            http_client = TwilioHttpClient(timeout=PROVIDER_TIMEOUT)
        self.client = Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=http_client)

    def send(
        self, *, to: str, body: str, status_callback: str | None = None, reference: str = ""
    ) -> SmsResult:
        from twilio.base.exceptions import TwilioRestException

        kwargs: dict[str, str] = {"to": to, "body": body}
        if settings.TWILIO_MESSAGING_SERVICE_SID:
            kwargs["messaging_service_sid"] = settings.TWILIO_MESSAGING_SERVICE_SID
        else:
            kwargs["from_"] = settings.TWILIO_FROM_NUMBER
        if status_callback:
            # The callback URL carries the attempt's reference, so Twilio's first status callback
            # names the attempt even when the worker died before storing the SID.
            kwargs["status_callback"] = status_callback
        try:
            message = self.client.messages.create(**kwargs)
        except TwilioRestException as error:
            # A 4xx answer means Twilio did not create the message; a 5xx leaves it unknown.
            if error.status < 500:
                raise SmsRefused(f"Twilio {error.status}: {error.msg}", retry=error.status == 429) from error
            raise
        return SmsResult(sid=message.sid, status=message.status or "queued")

    def lookup(self, *, to: str, body: str, reference: str, since: datetime) -> SmsResult | None:
        """Twilio keeps no idempotency key: a message to the same number with the same body
        created since the attempt started is that attempt (bodies carry one-time links and
        codes, so two logical messages do not share one)."""
        window_start = since - timedelta(minutes=1)  # clock skew between us and Twilio
        for message in self.client.messages.list(to=to, limit=50):
            created = message.date_created
            if created is not None and created >= window_start and message.body == body:
                return SmsResult(sid=message.sid, status=message.status or "queued")
        return None


def get_sms_backend(**kwargs) -> BaseSmsBackend:
    return import_string(settings.SMS_BACKEND)(**kwargs)
