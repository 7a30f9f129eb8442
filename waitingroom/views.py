from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET

from waitingroom import messaging
from waitingroom.twilio_webhooks import twilio_webhook


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return redirect("dashboard" if request.user.is_authenticated else "login")


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness for the load balancer and compose: the process answers and the database too."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")


@twilio_webhook
def twilio_sms_status(request: HttpRequest) -> HttpResponse:
    """Twilio's delivery-status callback (signed; see waitingroom/twilio_webhooks.py)."""
    sid, status = request.POST.get("MessageSid", ""), request.POST.get("MessageStatus", "")
    if not sid or not status:
        return HttpResponse(
            "MessageSid and MessageStatus are required", status=400, content_type="text/plain"
        )
    messaging.sms_status_update(sid=sid, status=status, error=request.POST.get("ErrorCode", ""))
    return HttpResponse(status=204)
