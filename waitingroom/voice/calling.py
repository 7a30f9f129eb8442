"""Placing a call: the first leg rings the staff member's own phone from the clinic's number; the
answer TwiML (waitingroom/voice/twiml.py) screens for voicemail, then dials the client.

The backend is settings.VOICE_BACKEND: Twilio's Python SDK in production (tests give it a fake
HTTP client and assert the exact request), or the console backend for `make run`, which logs what
Twilio would be asked (a developer plays the callbacks with `manage.py voice_play`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils.module_loading import import_string

from waitingroom.voice.lifecycle import CallStatus, Outcome
from waitingroom.voice.models import PhoneCall

log = logging.getLogger(__name__)

# Seconds the staff member's phone rings before Twilio gives up (then: "did not answer").
STAFF_RING_SECONDS = 25
STATUS_EVENTS = ["initiated", "ringing", "answered", "completed"]


def absolute(name: str, call: PhoneCall) -> str:
    return settings.PUBLIC_BASE_URL + reverse(name, args=[call.pk])


@dataclass(frozen=True)
class CallRequest:
    """What calls.create is given, whatever the backend."""

    to: str
    from_: str
    url: str
    status_callback: str
    status_callback_event: list[str]
    timeout: int


class TwilioVoiceBackend:
    """Production: Twilio Programmable Voice through the SDK."""

    def __init__(self, http_client: Any = None) -> None:
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        self.client = Client(
            settings.TWILIO_ACCOUNT_SID,
            settings.TWILIO_AUTH_TOKEN,
            http_client=http_client or TwilioHttpClient(timeout=10),
        )

    def create_call(self, request: CallRequest) -> str:
        call = self.client.calls.create(
            to=request.to,
            from_=request.from_,
            url=request.url,
            method="POST",
            status_callback=request.status_callback,
            status_callback_event=request.status_callback_event,
            status_callback_method="POST",
            timeout=request.timeout,
        )
        return str(call.sid)


class ConsoleVoiceBackend:
    """Development: the request goes to the log; `manage.py voice_play <call id>` plays Twilio's side."""

    def create_call(self, request: CallRequest) -> str:
        sid = f"CA{'0' * 24}{request.to[-8:].rjust(8, '0')}"
        log.warning(
            "Voice call to %s from %s: answer %s, status %s",
            request.to,
            request.from_,
            request.url,
            request.status_callback,
        )
        return sid


def backend() -> TwilioVoiceBackend | ConsoleVoiceBackend:
    return import_string(settings.VOICE_BACKEND)()


def place(*, call_id: int) -> None:
    """Ring the staff member (once: a call that already has its first leg, or has ended, is left
    alone, so the task may run twice). A refusal by Twilio ends the call as failed."""
    call = PhoneCall.objects.get(pk=call_id)
    if call.staff_call_sid or call.status != CallStatus.QUEUED:
        return
    request = CallRequest(
        to=call.staff_number,
        from_=call.from_number,
        url=absolute("voice_answer", call),
        status_callback=absolute("voice_staff_status", call),
        status_callback_event=STATUS_EVENTS,
        timeout=STAFF_RING_SECONDS,
    )
    from waitingroom.voice import services

    try:
        sid = backend().create_call(request)
    except Exception:
        log.exception("Twilio refused to place call %s", call.pk)
        services.call_failed(call_id=call.pk, outcome=Outcome.ERROR)
        return
    with transaction.atomic():
        PhoneCall.objects.filter(pk=call.pk, staff_call_sid="").update(staff_call_sid=sid)
