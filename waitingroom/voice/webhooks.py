"""Twilio's voice webhooks: signed (waitingroom/twilio_signing.py: unsigned or mis-signed -> 403,
nothing changed), their parameters validated by a form (a NUL byte or junk -> 400, never a 500),
and fast: each applies one service (waitingroom/voice/services.py) and answers TwiML
(waitingroom/voice/twiml.py) or 204; nothing slow runs here (recordings are fetched by a sweep)."""

from __future__ import annotations

import functools
from collections.abc import Callable

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone

from waitingroom.twilio_signing import twilio_webhook
from waitingroom.voice import services, twiml
from waitingroom.voice.lifecycle import CallStatus, Outcome
from waitingroom.voice.models import PhoneCall

SID = r"^[A-Z]{2}[0-9a-fA-F]{32}\Z"
STATUS = r"^[a-z-]{1,20}\Z"
NUMBER = r"^\+?[0-9]{1,19}\Z"  # E.164; Twilio may also send "anonymous": then it matches no route


class CallForm(forms.Form):
    CallSid = forms.RegexField(regex=SID)


class StaffStatusForm(CallForm):
    CallStatus = forms.RegexField(regex=STATUS)
    CallDuration = forms.IntegerField(min_value=0, max_value=10**6, required=False)


class GatherForm(CallForm):
    Digits = forms.RegexField(regex=r"^[0-9#*]{0,20}\Z", required=False)


class DialResultForm(CallForm):
    DialCallStatus = forms.RegexField(regex=STATUS)
    DialCallSid = forms.RegexField(regex=SID, required=False)
    DialCallDuration = forms.IntegerField(min_value=0, max_value=10**6, required=False)


class RecordingForm(CallForm):
    RecordingSid = forms.RegexField(regex=SID)
    RecordingStatus = forms.RegexField(regex=STATUS)
    RecordingDuration = forms.IntegerField(min_value=0, max_value=10**6, required=False)


class InboundForm(CallForm):
    To = forms.RegexField(regex=NUMBER)
    From = forms.CharField(max_length=32)  # "anonymous" and the like: routed to nobody


def _bad(form: forms.Form) -> HttpResponse:
    return HttpResponse(
        "Invalid parameters: " + ", ".join(sorted(form.errors)), status=400, content_type="text/plain"
    )


def voice_webhook(form_class: type[forms.Form]) -> Callable[[Callable[..., HttpResponse]], Callable]:
    """A call's callback: signed (twilio_webhook), its parameters valid (400), the call known
    (404), and naming one of the call's own legs (services.NotThisCall: 400). The view gets the
    cleaned parameters; each check answers before anything is written."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @twilio_webhook
        @functools.wraps(view)
        def wrapper(request: HttpRequest, call_id: int) -> HttpResponse:
            form = form_class(request.POST)
            if not form.is_valid():
                return _bad(form)
            get_object_or_404(PhoneCall, pk=call_id)
            try:
                return view(call_id, form.cleaned_data)
            except services.NotThisCall as refused:
                return HttpResponse(str(refused), status=400, content_type="text/plain")

        return wrapper

    return decorate


def _twiml(xml: str) -> HttpResponse:
    return HttpResponse(xml, content_type="text/xml")


@voice_webhook(CallForm)
def voice_answer(call_id: int, data: dict) -> HttpResponse:
    """The staff member picked up: the voicemail screening."""
    call = services.answer_fetched(call_id=call_id, call_sid=data["CallSid"])
    if call.status in (CallStatus.ENDED, CallStatus.FAILED):
        return _twiml(twiml.hangup())
    return _twiml(twiml.answer(call))


@voice_webhook(GatherForm)
def voice_gather(call_id: int, data: dict) -> HttpResponse:
    call = services.gather(call_id=call_id, call_sid=data["CallSid"], digits=data["Digits"] or "")
    if data["Digits"] != "1" or not services.may_connect(call):
        return _twiml(twiml.hangup("Goodbye."))
    if call.direction == PhoneCall.Direction.RETURN:
        return _twiml(twiml.staff_joins_return_call(call))  # then the client on the line is connected
    return _twiml(twiml.connect_client(call))


@voice_webhook(CallForm)
def voice_whisper(call_id: int, data: dict) -> HttpResponse:
    call = services.whisper(call_id=call_id, call_sid=data["CallSid"])
    return _twiml(twiml.whisper(call))


@voice_webhook(DialResultForm)
def voice_dial_result(call_id: int, data: dict) -> HttpResponse:
    """The <Dial>'s action: what the caller's side hears once the dialled side is done."""
    call = services.dial_result(
        call_id=call_id,
        call_sid=data["CallSid"],
        dial_call_sid=data["DialCallSid"] or "",
        dial_status=data["DialCallStatus"],
        duration=data["DialCallDuration"],
    )
    if call.status != CallStatus.FAILED:
        return _twiml(twiml.hangup())
    if call.direction == PhoneCall.Direction.RETURN:
        return _twiml(twiml.hangup("Sorry, nobody could take your call. Please try again later."))
    return _twiml(twiml.hangup(f"{Outcome(call.outcome).label}. Goodbye."))


@voice_webhook(StaffStatusForm)
def voice_staff_status(call_id: int, data: dict) -> HttpResponse:
    services.staff_status(
        call_id=call_id, call_sid=data["CallSid"], status=data["CallStatus"], duration=data["CallDuration"]
    )
    return HttpResponse(status=204)


@voice_webhook(RecordingForm)
def voice_recording_status(call_id: int, data: dict) -> HttpResponse:
    services.recording_status(
        call_id=call_id,
        call_sid=data["CallSid"],
        recording_sid=data["RecordingSid"],
        status=data["RecordingStatus"],
        duration=data["RecordingDuration"],
    )
    return HttpResponse(status=204)


@twilio_webhook
def voice_inbound(request: HttpRequest) -> HttpResponse:
    """A call to a clinic's voice number (the number's Voice webhook in Twilio's console)."""
    form = InboundForm(request.POST)
    if not form.is_valid():
        return _bad(form)
    data = form.cleaned_data
    call, route = services.inbound(
        call_sid=data["CallSid"], to_number=data["To"], from_number=data["From"], now=timezone.now()
    )
    if call is not None and call.is_active:
        return _twiml(twiml.return_call(call))
    if route is None:
        return _twiml(twiml.not_routed("", ""))
    return _twiml(twiml.not_routed(route.message, route.clinic_line))
