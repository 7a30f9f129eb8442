"""What a page that takes a card needs: Stripe.js's origins in its CSP (only those pages get
them), the Stripe.js address and publishable key, and the card step's context.

A page author (the consultation booking page, the request form, the meeting's guest page):

    @stripe_page
    def book(request, slug): ...
        context["card_step"] = card_step(clinic=clinic, price=service.price, token=request.POST.get("card_token", ""))

and in the template, inside the booking <form>: {% fragment "waitingroom/payments/_card_step.html" step=card_step %}
(static/waitingroom/lib/card.js says what the page's script does with it)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from decimal import Decimal
from typing import Any, ParamSpec, TypeVar

from django.conf import settings
from django.http import HttpResponseBase
from django.urls import reverse

from waitingroom.models import Clinic
from waitingroom.payments import selectors

P = ParamSpec("P")
R = TypeVar("R", bound=HttpResponseBase)


def stripe_page(view: Callable[P, R]) -> Callable[P, R]:
    """Adds settings.STRIPE_CSP to the response's Content-Security-Policy (django-csp's
    `csp_update`, read when the request is answered rather than when the view is decorated: the
    tests start localstripe on a port of their own)."""

    @functools.wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        response = view(*args, **kwargs)
        if settings.PAYMENTS_ENABLED:
            update: dict[str, list[str]] = {
                key: list(value) for key, value in (getattr(response, "_csp_update", None) or {}).items()
            }
            for directive, sources in settings.STRIPE_CSP.items():
                update[directive] = [*update.get(directive, []), *sources]
            response._csp_update = update  # type: ignore[attr-defined]  # django-csp reads it
        return response

    return wrapper


def stripe_context() -> dict[str, Any]:
    return {
        "stripe_js_url": settings.STRIPE_JS_URL,
        "stripe_publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
        "payments_enabled": settings.PAYMENTS_ENABLED,
    }


def card_step(
    *,
    clinic: Clinic,
    price: Decimal | int | None,
    token: str = "",
    required: bool = True,
    after: str = "your consultation",
) -> dict[str, Any]:
    """The context of fragments/waitingroom/payments/_card_step.html.

    `price`: the service's price (Decimal, 45.00) or minor units (int, 4500); None or 0 for a
    free service (the step is rendered hidden, so a page that switches services in place can show
    it with card.js's setPrice). `token`: a card token the page posted back (a booking form shown
    again with an error keeps its saved card). `required`: False when the chosen service is free.
    `after`: what the card is charged after, in the client's words ("your appointment")."""
    amount = selectors.minor_units(price) if isinstance(price, Decimal) else (price or 0)
    saved = selectors.card_by_token(clinic_id=clinic.pk, token=token)
    return {
        **stripe_context(),
        "needed": bool(required and amount > 0),
        "after": after,
        "price_text": selectors.money(amount, clinic.currency) if amount > 0 else "",
        "setup_url": reverse("payments_card_setup", args=[clinic.slug]),
        "finish_url": reverse("payments_card_finish", args=[clinic.slug]),
        "card_token": saved.token if saved else "",
        "card_label": saved.label if saved else "",
    }
