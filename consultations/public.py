"""The client's pages: booking a phone consultation (/c/<slug>/consult/) with its SMS code
endpoints, and the consultations section of the requester's page (settings.REQUESTER_PAGE_SECTIONS).

The mobile number is verified before a booking is accepted, with offline queueing's code, limits
and storage (visits/phone_codes.py). The code's subject is a random booking key kept in this
browser's session, so a code verifies the number for this browser only; the booking must give the
number verified here within the last VERIFIED_FOR.

A paid service's card is saved on the page through Stripe (the payments core's card step) before
the booking is posted with the card's token; the page then loads Stripe.js, which its CSP allows
(stripe_page).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.crypto import get_random_string
from django.views.decorators.http import require_http_methods, require_POST

from consultations import payments, selectors
from consultations.booking import consultation_book
from consultations.forms import BookingForm
from consultations.lifecycle import UPCOMING_STATUSES, Status
from consultations.models import Consultation
from consultations.services import ConsultationRefused
from scheduling.availability import person
from scheduling.models import Requester, Service
from visits import phone_codes
from waitingroom import ratelimit
from waitingroom.fragments import render_fragment
from waitingroom.models import Clinic
from waitingroom.payments.web import card_step, stripe_page

BOOKING_KEY_SESSION = "consultation_booking_key"
# How long a verified number stays good for a booking from this browser.
VERIFIED_FOR = timedelta(minutes=30)


def _clinic(slug: str) -> Clinic:
    """A clinic that offers phone consultations (else 404: its code endpoints send no SMS)."""
    clinic = get_object_or_404(Clinic, slug=slug)
    if not clinic.services.filter(active=True, kind=Service.Kind.PHONE).exists():
        raise Http404("This clinic offers no phone consultations")
    return clinic


def _subject(request: HttpRequest, *, create: bool = True) -> str:
    """This browser's booking key as a phone_codes subject (made on the first code sent: a visit
    that only looks at the page gets no session)."""
    key = request.session.get(BOOKING_KEY_SESSION)
    if not (isinstance(key, str) and key.isalnum()):
        if not create:
            return ""
        key = get_random_string(32)
        request.session[BOOKING_KEY_SESSION] = key
    return f"booking:{key}"


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def room_path(consultation: Consultation) -> str:
    return reverse("consultation_client_room", args=[consultation.client_token])


def upload_path(consultation: Consultation) -> str:
    """Where the booking page uploads the files chosen with the booking: the room's own client
    upload (consultations/uploads.py), so there is one upload path with one set of checks."""
    return reverse("consult_room_files", args=[consultation.client_token])


@require_http_methods(["GET", "POST"])
@stripe_page
def book(request: HttpRequest, slug: str) -> HttpResponse:
    clinic = get_object_or_404(Clinic, slug=slug)
    if request.method == "GET":
        initial = {key: request.GET[key] for key in ("service", "expert") if key in request.GET}
        form = BookingForm(initial=initial, clinic=clinic)
        return _page(request, clinic, form)
    form = BookingForm(request.POST, clinic=clinic)
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        subject = _subject(request, create=False)
        verified = phone_codes.verified_phone(subject=subject, within=VERIFIED_FOR) if subject else None
        if verified is None or verified != data["phone"]:
            form.add_error("phone", "Verify this mobile number with the code we text you, then book.")
        else:
            try:
                # Each booking emails the client: limited per client address.
                ratelimit.attempt("consultation-booking", request)
                consultation = consultation_book(
                    clinic=clinic,
                    service=data["service"],
                    expert_id=data["expert"],
                    starts_at=data["when"],
                    name=data["name"],
                    email=data["email"],
                    phone=data["phone"],
                    answers=form.answers(),
                    card_token=data["card_token"],
                )
            except ratelimit.RateLimited as limited:
                form.add_error(None, str(limited))
                status = 429
            except ConsultationRefused as refused:
                form.add_error(None, str(refused))
                status = 409
            else:
                if _wants_json(request):
                    return JsonResponse(
                        {
                            "ok": True,
                            "room_url": room_path(consultation),
                            "upload_url": upload_path(consultation),
                        }
                    )
                return redirect(room_path(consultation))
    if _wants_json(request):
        errors = {name: [e["message"] for e in items] for name, items in form.errors.get_json_data().items()}
        first = next(iter(errors.values()))[0] if errors else "Check the form."
        return JsonResponse({"ok": False, "error": first, "errors": errors}, status=status)
    return _page(request, clinic, form, status=status)


def _page(request: HttpRequest, clinic: Clinic, form: BookingForm, status: int = 200) -> HttpResponse:
    subject = _subject(request, create=False)
    pending = phone_codes.pending_phone(subject=subject) if subject else None
    verified = phone_codes.verified_phone(subject=subject, within=VERIFIED_FOR) if subject else None
    # A paid service's card step (the payments core's fragment and card.js): its price, Stripe's
    # card field, and a card the page saved already when a refused booking comes back.
    service = form.chosen_service if form.paid else None
    step = None
    if service is not None:
        token = form.data.get("card_token", "") if form.is_bound else ""
        step = card_step(clinic=clinic, price=service.price, token=str(token)[:64])
    return render(
        request,
        "consultations/book.html",
        {
            "clinic": clinic,
            "form": form,
            "card_step": step,
            "price": payments.money(payments.price_of(service), clinic.currency) if service else "",
            # Paid services can't be booked while card payments are off (the step says so).
            "bookable": service is None or settings.PAYMENTS_ENABLED,
            "offered": form.fields["service"].queryset.exists(),  # type: ignore[attr-defined]
            "code_sent_to": phone_codes.masked(pending) if pending else "",
            "verified": bool(verified),
        },
        status=status,
    )


@require_POST
def code_send(request: HttpRequest, slug: str) -> JsonResponse:
    """Text a 6-digit code to the number typed on the booking page."""
    clinic = _clinic(slug)
    try:
        ratelimit.attempt("phone-verification", request)
        verification = phone_codes.code_send(
            subject=_subject(request), clinic=clinic, raw_phone=request.POST.get("phone", "")
        )
    except ratelimit.RateLimited as limited:
        return JsonResponse({"ok": False, "error": str(limited)}, status=429)
    except phone_codes.VerificationError as error:
        return JsonResponse({"ok": False, "error": str(error)}, status=400)
    return JsonResponse({"ok": True, "sent_to": phone_codes.masked(verification.phone)})


@require_POST
def code_verify(request: HttpRequest, slug: str) -> JsonResponse:
    _clinic(slug)
    try:
        subject = _subject(request, create=False) or "booking:-"  # no code sent from here: none matches
        verification = phone_codes.code_check(subject=subject, code=request.POST.get("code", ""))
    except phone_codes.VerificationError as error:
        return JsonResponse({"ok": False, "error": str(error)}, status=400)
    return JsonResponse({"ok": True, "verified": phone_codes.masked(verification.phone)})


# --- The requester's page (settings.REQUESTER_PAGE_SECTIONS) -------------------------------------


def requester_section(request: HttpRequest, requester: Requester) -> str:
    """The requester's phone consultations: service, time, the expert once claimed, status, and a
    link to each room. Nothing when they have none."""
    consultations = selectors.requester_consultations(requester=requester)
    if not consultations:
        return ""
    rows = [
        {
            "consultation": c,
            "expert": person(c.expert) if c.expert is not None else "",
            "upcoming": c.status in UPCOMING_STATUSES,
            "cancelled": c.status == Status.CANCELLED,
            "room_url": room_path(c),
        }
        for c in consultations
    ]
    return render_fragment("consultations/_requester_section.html", {"rows": rows})


def room_full_offer(clinic: Clinic) -> tuple[str, str] | None:
    """settings.ROOM_FULL_OFFERS: the waiting room is full, book a phone consultation instead
    (when the clinic offers one)."""
    if not clinic.services.filter(active=True, kind=Service.Kind.PHONE).exists():
        return None
    return "Book a phone consultation", reverse("consultation_book", args=[clinic.slug])
