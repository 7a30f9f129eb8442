"""Twilio's SMS delivery-status callback, signed like every Twilio webhook
(waitingroom/twilio_signing.py: an unsigned or mis-signed request is refused with 403)."""

from __future__ import annotations

import re

from django import forms
from django.http import HttpRequest, HttpResponse

from waitingroom.outbox import delivery
from waitingroom.twilio_signing import twilio_webhook

# The attempt id the status callback URL carries (delivery.py: uuid4().hex), or none (older rows).
ATTEMPT = re.compile(r"[0-9a-f]{32}|")


class SmsStatusForm(forms.Form):
    """What the callback may carry. A valid signature proves only that Twilio (or whoever holds
    the token) sent it, not that the values fit our columns: a NUL byte reached PostgreSQL and
    ended as a 500."""

    MessageSid = forms.RegexField(regex=r"^[A-Za-z0-9]{2,64}\Z")
    MessageStatus = forms.RegexField(regex=r"^[a-z_]{1,20}\Z")
    ErrorCode = forms.RegexField(regex=r"^[0-9]{0,10}\Z", required=False)


@twilio_webhook
def twilio_sms_status(request: HttpRequest) -> HttpResponse:
    """Twilio's delivery-status callback for the SMS we send (signed; see twilio_webhook above)."""
    form = SmsStatusForm(request.POST)
    if not form.is_valid():
        return HttpResponse(
            "MessageSid and MessageStatus are required, as Twilio sends them",
            status=400,
            content_type="text/plain",
        )
    data = form.cleaned_data
    attempt = request.GET.get("attempt", "")  # in the callback URL we gave Twilio (signed)
    if not ATTEMPT.fullmatch(attempt):
        return HttpResponse("attempt is not one of ours", status=400, content_type="text/plain")
    delivery.sms_status_update(
        sid=data["MessageSid"], status=data["MessageStatus"], error=data["ErrorCode"], attempt=attempt
    )
    return HttpResponse(status=204)
