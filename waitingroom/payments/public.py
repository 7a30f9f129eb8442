"""The client's side of card payments, without a login: the card step's two endpoints (a booking
page saves a card through them, static/waitingroom/lib/card.js) and the page on which a client
confirms a charge their bank wants them to authenticate (/pay/<token>/, linked from an email).

Every answer to a bad request is a clear message with a 4xx, never a 500: the card endpoints
answer JSON {ok: false, error}."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_POST

from waitingroom import ratelimit
from waitingroom.models import Clinic
from waitingroom.payments import services


class SetupForm(forms.Form):
    email = forms.EmailField(max_length=254, error_messages={"required": "Enter your email address."})
    name = forms.CharField(max_length=120, required=False)


class FinishForm(forms.Form):
    token = forms.RegexField(regex=r"^[A-Za-z0-9_-]{10,40}\Z")


def _refused(error: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"ok": False, "error": error}, status=status)


def _first_error(form: forms.Form) -> str:
    for errors in form.errors.values():
        return str(errors[0])
    return "Check the form."


@require_POST
def card_setup(request: HttpRequest, slug: str) -> JsonResponse:
    """Start saving a card: a SetupIntent for Stripe.js to confirm in the page. Each one makes a
    Stripe Customer, so a client (address) may start only a few an hour."""
    clinic = get_object_or_404(Clinic, slug=slug)
    form = SetupForm(request.POST)
    if not form.is_valid():
        return _refused(_first_error(form))
    try:
        ratelimit.attempt("card-setup", request)
    except ratelimit.RateLimited as limited:
        return _refused(str(limited), 429)
    try:
        card, client_secret = services.card_setup_start(
            clinic=clinic, email=form.cleaned_data["email"], name=form.cleaned_data["name"]
        )
    except services.PaymentRefused as refused:
        return _refused(str(refused), 409)
    return JsonResponse({"ok": True, "token": card.token, "client_secret": client_secret})


@require_POST
def card_finish(request: HttpRequest, slug: str) -> JsonResponse:
    """Stripe.js confirmed the card in the page: the server reads the SetupIntent back."""
    clinic = get_object_or_404(Clinic, slug=slug)
    form = FinishForm(request.POST)
    if not form.is_valid():
        return _refused("This card was not found. Enter it again.")
    try:
        card = services.card_setup_finish(clinic=clinic, token=form.cleaned_data["token"])
    except services.PaymentRefused as refused:
        return _refused(str(refused), 409)
    return JsonResponse({"ok": True, "label": card.label, "token": card.token})
