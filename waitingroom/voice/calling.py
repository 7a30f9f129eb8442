"""Placing a call: the first leg rings the staff member's own phone from the clinic's number; the
answer TwiML (waitingroom/voice/twiml.py) screens for voicemail, then dials the client.

The backend is settings.VOICE_BACKEND, the bridge's only way to Twilio: it places calls and
fetches and deletes their recordings (the sweep in waitingroom/voice/recordings.py). Twilio's
Python SDK in production (tests give it a fake HTTP client and assert the exact requests), or the
console backend for `make run`, which logs what Twilio would be asked (a developer plays the
callbacks with `manage.py voice_play`) and hands the sweep a silent MP3 as the recording."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils.module_loading import import_string

from waitingroom.voice.lifecycle import CallStatus, Outcome
from waitingroom.voice.models import PhoneCall
from waitingroom.voice.silence import silent_mp3

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


API = "https://api.twilio.com/2010-04-01"


def media_url(recording_sid: str) -> str:
    """A recording's MP3 (not the WAV: about a tenth of the size, and every browser's <audio>
    plays and seeks it by byte range)."""
    return f"{API}/Accounts/{settings.TWILIO_ACCOUNT_SID}/Recordings/{recording_sid}.mp3"


def _binary_http_client() -> Any:
    from twilio.http.http_client import TwilioHttpClient
    from twilio.http.response import Response

    class BinaryTwilioHttpClient(TwilioHttpClient):
        """The SDK's client, keeping a response's bytes (its own turns them into text)."""

        def request(self, method, url, params=None, data=None, headers=None, auth=None, **kwargs):
            session = self.session
            assert session is not None  # TwilioHttpClient(pool_connections=True) makes one
            response = session.request(
                method.upper(),
                url,
                params=params,
                data=data,
                headers=headers,
                auth=auth,
                timeout=kwargs.get("timeout") or self.timeout,
                allow_redirects=kwargs.get("allow_redirects", False),
                proxies=self.proxy,
            )
            return Response(int(response.status_code), response.content, response.headers)

    return BinaryTwilioHttpClient(timeout=60)


def _client(http_client: Any) -> Any:
    from twilio.rest import Client

    return Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=http_client)


class TwilioVoiceBackend:
    """Production: Twilio Programmable Voice through the SDK. Its account and token for every
    request; `http_client` (tests: a fake that records the requests) for all of them, else the
    SDK's own for calls and a bytes-keeping one for recordings' audio."""

    def __init__(self, http_client: Any = None) -> None:
        self.http_client = http_client

    @cached_property
    def client(self) -> Any:
        from twilio.http.http_client import TwilioHttpClient

        return _client(self.http_client or TwilioHttpClient(timeout=10))

    @cached_property
    def media_client(self) -> Any:
        return _client(self.http_client or _binary_http_client())

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

    def fetch_recording(self, *, recording_sid: str, duration_seconds: int | None) -> bytes | None:
        """The recording's MP3, or None while Twilio has no file yet (it answers 404 for a while
        after its callback). Twilio redirects to the media's storage: followed."""
        response = self.media_client.request("GET", media_url(recording_sid), allow_redirects=True)
        if response.status_code != 200:
            if response.status_code != 404:
                log.warning("Recording %s: Twilio answered %s", recording_sid, response.status_code)
            return None
        content = response.content
        return content if isinstance(content, bytes) else content.encode()

    def delete_recording(self, *, recording_sid: str) -> bool:
        """Delete Twilio's copy (a 404: already gone). True: nothing is left at Twilio."""
        from twilio.base.exceptions import TwilioRestException

        try:
            self.media_client.api.v2010.accounts(settings.TWILIO_ACCOUNT_SID).recordings(
                recording_sid
            ).delete()
        except TwilioRestException as refused:
            if refused.status != 404:
                raise
        return True


class ConsoleVoiceBackend:
    """Development: the request goes to the log; `manage.py voice_play <call id>` plays Twilio's
    side. A played call's recording is silence of the length Twilio announced (so the room's
    player works), and there is nothing at Twilio to delete."""

    def create_call(self, request: CallRequest) -> str:
        # Only the number's last four digits: logs are kept and shipped further than the database,
        # and a developer needs no more (voice_play takes the call's id). The sid is random, not
        # made from the number, for the same reason (it is stored and logged as the staff leg).
        sid = "CA" + secrets.token_hex(16)
        log.warning(
            "Voice call to •••• %s from %s: answer %s, status %s",
            request.to[-4:],
            request.from_,
            request.url,
            request.status_callback,
        )
        return sid

    def fetch_recording(self, *, recording_sid: str, duration_seconds: int | None) -> bytes | None:
        log.warning("Voice recording %s: %s s of silence (console backend)", recording_sid, duration_seconds)
        return silent_mp3(duration_seconds or 1)

    def delete_recording(self, *, recording_sid: str) -> bool:
        return False


VoiceBackend = TwilioVoiceBackend | ConsoleVoiceBackend


def backend() -> VoiceBackend:
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
    from twilio.base.exceptions import TwilioRestException

    from waitingroom.voice import services

    try:
        sid = backend().create_call(request)
    except TwilioRestException as refused:
        # Its message quotes the number ("Invalid 'To' Phone Number: +1..."): logged by code only.
        log.error(
            "Twilio refused to place call %s: error %s (HTTP %s)", call.pk, refused.code, refused.status
        )
        services.call_failed(call_id=call.pk, outcome=Outcome.ERROR)
        return
    except Exception:
        log.exception("Twilio could not be asked to place call %s", call.pk)
        services.call_failed(call_id=call.pk, outcome=Outcome.ERROR)
        return
    with transaction.atomic():
        PhoneCall.objects.filter(pk=call.pk, staff_call_sid="").update(staff_call_sid=sid)
