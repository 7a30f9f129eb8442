"""The client's side of card payments, without a login: the card step's two endpoints (a booking
page saves a card through them, static/waitingroom/lib/card.js) and the page on which a client
confirms a charge their bank wants them to authenticate (/pay/<token>/, linked from an email).

Every answer to a bad request is a clear message with a 4xx, never a 500: the card endpoints
answer JSON {ok: false, error}."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from waitingroom import ratelimit
from waitingroom.models import Clinic
from waitingroom.payments import selectors, services
from waitingroom.payments.lifecycle import PaymentKind, PaymentStatus
from waitingroom.payments.models import Payment
from waitingroom.payments.web import stripe_context, stripe_page


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
    """Stripe.js confirmed the card in the page: the server reads the SetupIntent back. Each read
    spends the platform's Stripe rate limit (every clinic's charges), so a client (address) may
    ask only a few times an hour."""
    clinic = get_object_or_404(Clinic, slug=slug)
    form = FinishForm(request.POST)
    if not form.is_valid():
        return _refused("This card was not found. Enter it again.")
    try:
        ratelimit.attempt("card-finish", request)
    except ratelimit.RateLimited as limited:
        return _refused(str(limited), 429)
    try:
        card = services.card_setup_finish(clinic=clinic, token=form.cleaned_data["token"])
    except services.PaymentRefused as refused:
        return _refused(str(refused), 409)
    return JsonResponse({"ok": True, "label": card.label, "token": card.token})


# --- The client confirms a charge their bank wants authenticated (/pay/<token>/) ---------------


def _charge(client_token: str) -> Payment | None:
    return (
        Payment.objects.select_related("clinic", "card")
        .filter(client_token=client_token, kind=PaymentKind.CHARGE)
        .first()
    )


def _not_found(request: HttpRequest, client_token: str) -> HttpResponse:
    """No charge behind the token. A payment row it does find (a refund's token) names its clinic
    to contact, with no button: a payment is not started again from a link. A token that finds
    nothing gets the page that names no one (docs/security.md, "Dead ends")."""
    found = Payment.objects.select_related("clinic").filter(client_token=client_token).first()
    # The product's page (waitingroom/errors.py link_not_valid) rendered here: payments imports
    # nothing of the clinic core's views (tests/test_project.py).
    context = {"clinic": found.clinic if found else None, "start_url": ""}
    return render(request, "waitingroom/link_not_valid.html", context, status=404)


@stripe_page
@require_GET
def pay(request: HttpRequest, client_token: str) -> HttpResponse:
    """The charge, and while the bank waits for the client, the button that confirms it with
    Stripe.js (the client secret is read from Stripe for this page, never stored)."""
    payment = _charge(client_token)
    if payment is None:
        return _not_found(request, client_token)
    waiting = payment.status == PaymentStatus.NEEDS_AUTHENTICATION
    secret = services.client_secret(payment=payment) if waiting and settings.PAYMENTS_ENABLED else ""
    card = payment.card
    return render(
        request,
        "waitingroom/payments/pay.html",
        {
            **stripe_context(),
            "payment": payment,
            "clinic": payment.clinic,
            "amount": selectors.money(payment.amount, payment.currency),
            "state": selectors.client_status_text(payment),
            "card_label": card.label if card is not None else "",
            "waiting": waiting,
            "paid": payment.status == PaymentStatus.SUCCEEDED,
            "cancelled": payment.status == PaymentStatus.CANCELED,
            "client_secret": secret,
            "payment_method": card.stripe_payment_method_id if card is not None else "",
        },
    )


@require_POST
def pay_confirmed(request: HttpRequest, client_token: str) -> HttpResponse:
    """Stripe.js finished in the page (or the client pressed the button without JavaScript): the
    server reads the payment back from Stripe, then the page shows where it stands."""
    payment = _charge(client_token)
    if payment is None:
        return _not_found(request, client_token)
    try:
        payment = services.client_confirmed(payment=payment)
    except services.PaymentRefused as refused:
        messages.error(request, str(refused))
    else:
        if payment.status == PaymentStatus.SUCCEEDED:
            messages.success(request, "Thank you: your payment is confirmed. We emailed you a receipt.")
        elif payment.status == PaymentStatus.CANCELED:
            # The clinic cancelled it while the client was confirming: Stripe refused the
            # confirmation, and the page says so rather than asking them to try again.
            messages.error(request, "The clinic cancelled this charge, so nothing was taken from your card.")
        elif payment.status == PaymentStatus.NEEDS_AUTHENTICATION:
            messages.error(
                request, "Your bank has not confirmed the payment yet. Press Confirm payment to try again."
            )
    return redirect("payments_pay", client_token=payment.client_token)
