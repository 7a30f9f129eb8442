"""Public scheduling pages: the request form, the open-slot calendar and the requester's page
behind their magic link (a meeting guest's pages: meetings/guest.py)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.module_loading import import_string
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from scheduling import availability
from scheduling.links import requester_from_link
from scheduling.meetings.status import rules_of
from scheduling.models import AppointmentRequest, Requester, Service
from scheduling.requests import emails, selectors, services
from scheduling.requests.forms import RequestForm
from scheduling.requests.lifecycle import AlreadyDecided
from scheduling.times import slot_value
from waitingroom import ratelimit
from waitingroom.models import Clinic, Membership, Role
from waitingroom.payments.web import card_step, stripe_page
from waitingroom.validators import EmailAddressField

REQUESTER_SESSION_KEY = "requester_id"
SUBMITTED_SESSION_KEY = "submitted_requests"


@require_http_methods(["GET", "POST"])
@stripe_page
def request_form(request: HttpRequest, slug: str) -> HttpResponse:
    clinic = get_object_or_404(Clinic, slug=slug)
    status = 0
    if request.method == "POST":
        form = RequestForm(request.POST, clinic=clinic)
        if form.is_valid():
            data = form.cleaned_data
            try:
                # Each request emails the requester and the clinic: limited per client address.
                ratelimit.attempt("request-form", request)
                appointment = services.request_submit(
                    clinic=clinic,
                    service=data["service"],
                    provider_id=data["provider"],
                    kind=data["kind"],
                    name=data["name"],
                    email=data["email"],
                    phone=data["phone"],
                    answers=form.answers(),
                    note=data["note"],
                    times=data["times"],
                    card_token=data["card_token"],
                )
            except (services.RequestRefused, ratelimit.RateLimited) as refused:
                form.add_error(None, str(refused))
                if isinstance(refused, ratelimit.RateLimited):
                    status = 429
            else:
                ids = request.session.get(SUBMITTED_SESSION_KEY, [])
                request.session[SUBMITTED_SESSION_KEY] = [*ids[-9:], appointment.pk]
                return redirect("request_sent", slug=clinic.slug)
    else:
        initial: dict[str, Any] = {
            key: request.GET[key] for key in ("service", "provider", "kind") if key in request.GET
        }
        if "slot" in request.GET:
            initial["slots"] = [request.GET["slot"]]
            initial["kind"] = "scheduled"
        form = RequestForm(initial=initial, clinic=clinic)
    status = status or (400 if form.errors else 200)
    # A paid service: its price, and the card step the page's script saves the card through before
    # it posts the form (a form shown again keeps the card already saved).
    service = form.chosen_service
    paid = service is not None and service.payment_required
    step = card_step(
        clinic=clinic,
        price=service.price if paid and service is not None else None,
        token=request.POST.get("card_token", ""),
        required=paid,
        after="your appointment",
    )
    return render(
        request,
        "scheduling/requests/request_form.html",
        {"clinic": clinic, "form": form, "card_step": step},
        status=status,
    )


@require_GET
def request_sent(request: HttpRequest, slug: str) -> HttpResponse:
    clinic = get_object_or_404(Clinic, slug=slug)
    submitted = selectors.submitted_requests(ids=request.session.get(SUBMITTED_SESSION_KEY, []))
    return render(
        request, "scheduling/requests/request_sent.html", {"clinic": clinic, "requests": submitted[:1]}
    )


@require_GET
def calendar(request: HttpRequest, slug: str, membership_id: int | None = None) -> HttpResponse:
    """Open slots, by day in the clinic's time zone, for the clinic or one provider."""
    clinic = get_object_or_404(Clinic, slug=slug)
    provider = None
    if membership_id is not None:
        provider = get_object_or_404(Membership, pk=membership_id, clinic=clinic, role=Role.PROVIDER).user
    # Video services only: phone consultations are booked on their own page.
    services_offered = list(clinic.services.filter(active=True, kind=Service.Kind.VIDEO))
    chosen = next((s for s in services_offered if str(s.pk) == request.GET.get("service")), None)
    service = chosen or (services_offered[0] if services_offered else None)
    days = defaultdict(list)
    if service is not None:
        for slot in availability.open_slots(
            clinic=clinic, service=service, provider_id=provider.pk if provider else None
        ):
            days[slot.starts_at.astimezone(clinic.tzinfo).date()].append((slot, slot_value(slot.starts_at)))
    providers = Membership.objects.filter(
        clinic=clinic, role=Role.PROVIDER, user__is_active=True
    ).select_related("user")
    return render(
        request,
        "scheduling/requests/calendar.html",
        {
            "clinic": clinic,
            "provider": provider,
            "providers": providers,
            "services": services_offered,
            "service": service,
            "days": sorted(days.items()),
            "mode": availability.profile_for(clinic).availability_mode,
        },
    )


# --- The requester's page ------------------------------------------------------------------------


@require_GET
def requester_enter(request: HttpRequest, token: str) -> HttpResponse:
    """The magic link: signs this browser in as the requester, then drops the token from the URL."""
    requester = requester_from_link(token)
    if requester is None:
        messages.error(request, "That link has expired or is not valid. Enter your email for a new one.")
        return redirect("requester_home")
    request.session.cycle_key()
    request.session[REQUESTER_SESSION_KEY] = requester.pk
    return redirect("requester_home")


def signed_in_requester(request: HttpRequest) -> Requester | None:
    requester_id = request.session.get(REQUESTER_SESSION_KEY)
    return Requester.objects.filter(pk=requester_id).first() if requester_id else None


@require_http_methods(["GET", "POST"])
def requester_home(request: HttpRequest) -> HttpResponse:
    requester = signed_in_requester(request)
    if requester is None:
        if request.method == "POST":
            # The same answer whether or not the address is known: nothing to learn here.
            field = EmailAddressField(max_length=254)
            try:
                email = field.clean(request.POST.get("email", "").strip()).lower()
            except forms.ValidationError:
                messages.error(request, "Enter a valid email address.")
                return render(request, "scheduling/requests/requester_signin.html", status=400)
            try:
                # Known address or not, the attempt counts: the answer must not tell them apart.
                ratelimit.attempt("requester-sign-in", request)
            except ratelimit.RateLimited as limited:
                messages.error(request, str(limited))
                return render(request, "scheduling/requests/requester_signin.html", status=429)
            known = Requester.objects.filter(email=email).select_related("last_clinic").first()
            if known and known.last_clinic:
                emails.requester_new_link(known, known.last_clinic)
            messages.info(request, "If we know that address, a link to your requests is on its way.")
            return redirect("requester_home")
        return render(request, "scheduling/requests/requester_signin.html")
    if request.method == "POST":
        return HttpResponse("Nothing to post here.", status=405)
    requests, meetings = selectors.requester_overview(requester=requester)
    # Each meeting with the rules of its stored status (the sweep keeps it current).
    meeting_rules = [(meeting, rules_of(meeting.status)) for meeting in meetings]
    # Apps above this one list what else the requester booked (phone consultations).
    sections = [
        html for path in settings.REQUESTER_PAGE_SECTIONS if (html := import_string(path)(request, requester))
    ]
    return render(
        request,
        "scheduling/requests/requester_home.html",
        {
            "requester": requester,
            "requests": requests,
            "meetings": meeting_rules,
            "sections": sections,
            "payments": selectors.requester_payments(requester=requester),
        },
    )


@require_POST
def requester_withdraw(request: HttpRequest, request_id: int) -> HttpResponse:
    requester = signed_in_requester(request)
    if requester is None:
        raise Http404("No such request")
    try:
        services.request_withdraw(request_id=request_id, requester=requester)
    except AppointmentRequest.DoesNotExist:
        raise Http404("No such request") from None
    except AlreadyDecided as decided:
        messages.error(request, str(decided))
    else:
        messages.success(request, "Your request was withdrawn.")
    return redirect("requester_home")


def room_full_offer(clinic: Clinic) -> tuple[str, str] | None:
    """settings.ROOM_FULL_OFFERS: the waiting room is full, request a video appointment instead
    (when the clinic offers any)."""
    if not clinic.services.filter(active=True, kind=Service.Kind.VIDEO).exists():
        return None
    return "Request a video appointment", reverse("request_form", args=[clinic.slug])
