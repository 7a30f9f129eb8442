"""Stripe's webhook (POST /stripe/webhook/): the Stripe-Signature header is verified with the
endpoint's secret and Stripe's five-minute tolerance (stripe.Webhook.construct_event), so an
unsigned, mis-signed or replayed-late event gets 400 and changes nothing; with payments off (no Stripe
key, so the secret is the published development one) every event gets 404. A verified event is kept
once by its id and applied forward only (services.event_apply): a repeat or a late event changes
nothing and still gets 200, so Stripe stops sending it. Fast: one service, no call to Stripe."""

from __future__ import annotations

import json
import logging

import stripe
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from waitingroom.payments import services

logger = logging.getLogger(__name__)

# Stripe's events are a few kilobytes; the ASGI wrapper refuses a bigger body before Django reads
# it (settings.REQUEST_BODY_LIMITS), and this check does for a body that reached the view anyway.
MAX_BODY_BYTES = 512 * 1024


def _bad(reason: str, status: int = 400) -> HttpResponse:
    return HttpResponse(reason, status=status, content_type="text/plain")


@csrf_exempt  # Stripe signs its requests instead
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    if not settings.PAYMENTS_ENABLED:
        # No Stripe key and DEBUG off: the secret is the development one the settings publish, so
        # a signature proves nothing (and no Stripe account sends here).
        return _bad("Card payments are not configured here.", 404)
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if not declared.isdigit() or int(declared) > MAX_BODY_BYTES:
        return _bad("Payload too large.", 413)
    payload = request.body
    if len(payload) > MAX_BODY_BYTES:
        return _bad("Payload too large.", 413)
    try:
        stripe.Webhook.construct_event(
            payload, request.headers.get("Stripe-Signature", ""), settings.STRIPE_WEBHOOK_SECRET
        )
        event = json.loads(payload)
    except stripe.SignatureVerificationError:
        return _bad("Invalid signature.")
    except (
        ValueError,
        TypeError,
        KeyError,
        AttributeError,
    ):  # not an event (signed, so ours: but still no 500)
        return _bad("Invalid payload.")
    data = event.get("data") if isinstance(event, dict) else None
    obj = data.get("object") if isinstance(data, dict) else None
    event_id, event_type = (event.get("id"), event.get("type")) if isinstance(event, dict) else (None, None)
    if not (isinstance(event_id, str) and event_id and isinstance(event_type, str) and isinstance(obj, dict)):
        return _bad("Invalid payload.")
    changed = services.event_apply(event_id=event_id, event_type=event_type, obj=obj)
    logger.info("stripe event %s %s: %s", event_type, event_id, "applied" if changed else "nothing changed")
    return HttpResponse(status=200)
