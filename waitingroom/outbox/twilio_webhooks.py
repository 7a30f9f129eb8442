"""Twilio's webhooks: the SMS delivery-status callback, and the signature check every Twilio
webhook passes (X-Twilio-Signature; an unsigned or mis-signed request is refused with 403 before
it can change anything)."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator

from waitingroom.outbox import delivery

# The attempt id the status callback URL carries (delivery.py: uuid4().hex), or none (older rows).
ATTEMPT = re.compile(r"[0-9a-f]{32}|")


def signed_url(request: HttpRequest) -> str:
    """The URL Twilio signed: our public address (not what a proxy forwarded) plus the path."""
    return settings.PUBLIC_BASE_URL + request.get_full_path()


def is_valid_twilio_request(request: HttpRequest) -> bool:
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature or not settings.TWILIO_AUTH_TOKEN:
        return False
    validator = RequestValidator(settings.TWILIO_AUTH_TOKEN)
    return validator.validate(signed_url(request), request.POST.dict(), signature)


def twilio_webhook(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Decorate a view that Twilio calls: POST only, no CSRF token (Twilio signs instead)."""

    @csrf_exempt
    @require_POST
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not is_valid_twilio_request(request):
            return HttpResponseForbidden("Invalid Twilio signature")
        return view(request, *args, **kwargs)

    return wrapper


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
