"""The signature check every Twilio webhook passes (X-Twilio-Signature): an unsigned or
mis-signed request is refused with 403 before it can change anything. Shared by the SMS status
callback (waitingroom/outbox/) and the phone bridge's webhooks (waitingroom/voice/), which may not
import each other."""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator


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
