"""Staff scheduling views: the dispatch page (schedulers), the assign dialog, deciding a request
(dispatch dialog and provider dashboard alike), and the provider's request panel and toggle."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from scheduling import availability
from scheduling.meetings.booking import BookingConflict
from scheduling.models import SchedulingProfile
from scheduling.requests import access, selectors, services
from scheduling.requests.forms import DecisionForm
from scheduling.requests.lifecycle import AlreadyDecided
from scheduling.times import slot_value
from waitingroom import tenancy
from waitingroom.audit import services as audit
from waitingroom.fragments import render_fragment
from waitingroom.models import Role
from waitingroom.tenancy import StaffRequest


def wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _dispatch_context(request: StaffRequest) -> dict:
    clinic_slug = request.GET.get("clinic") or None
    if clinic_slug is not None:
        tenancy.checked_slug(clinic_slug)
    rows = selectors.dispatch_requests(user=request.user, clinic_slug=clinic_slug)
    now = timezone.now()
    return {
        "rows": [
            {
                "r": r,
                "late": selectors.is_late(r, now),
                "addressed": selectors.addressed_to_label(r),
                "profile": selectors.profile_of(r),
                # The page script shows how long it has waited, from this and the server's now.
                "created_ms": int(r.created_at.timestamp() * 1000),
            }
            for r in rows
        ],
        "clinic_slug": clinic_slug or "",
        "server_now_ms": int(now.timestamp() * 1000),
        "late_after_seconds": selectors.PENDING_LATE_SECONDS,
    }


@require_GET
@login_required
def dispatch(request: StaffRequest) -> HttpResponse:
    """The Requests page: pending requests of the scheduler's clinics, oldest first."""
    clinics = list(selectors.dispatch_clinics(user=request.user))
    if not clinics:
        return render(request, "scheduling/requests/not_a_scheduler.html", status=404)
    context = _dispatch_context(request)
    return render(request, "scheduling/requests/dispatch.html", {**context, "dispatch_clinics": clinics})


@require_GET
@login_required
def dispatch_rows(request: StaffRequest) -> HttpResponse:
    """The table body alone: the page re-fetches it when a push says requests changed."""
    return render(request, "scheduling/requests/_dispatch_rows.html", _dispatch_context(request))


@require_GET
@login_required
def assign(request: StaffRequest, request_id: int) -> HttpResponse:
    appointment = selectors.decidable_request(user=request.user, request_id=request_id)
    access.record(request, appointment, audit.Action.VIEWED, "assign dialog")
    provider = request.GET.get("provider", "")
    context = selectors.assign_context(
        request=appointment, provider_id=int(provider) if provider.isascii() and provider.isdigit() else None
    )
    return render(
        request,
        "scheduling/requests/_assign.html",
        {
            "ctx": context,
            "appointment": appointment,
            "time_values": [(t, slot_value(t)) for t in context.times],
            "calendar": context.mode == SchedulingProfile.Mode.CALENDAR,
        },
    )


def _reply(request: HttpRequest, *, ok: bool, message: str, status: int = 200, **extra) -> HttpResponse:
    if wants_json(request):
        return JsonResponse({"ok": ok, "message" if ok else "error": message, **extra}, status=status)
    (messages.success if ok else messages.error)(request, message)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = "/dispatch/"
    return redirect(back)


@require_POST
@login_required
def decide(request: StaffRequest, request_id: int) -> HttpResponse:
    appointment = selectors.decidable_request(user=request.user, request_id=request_id)
    if selectors.is_dispatcher(user=request.user, clinic=appointment.clinic):
        providers = list(availability.clinic_providers(appointment.clinic))
    else:
        # A provider deciding on their dashboard books only themselves.
        providers = [request.user]
    form = DecisionForm(request.POST, request=appointment, providers=providers)
    if not form.is_valid():
        errors = "; ".join(str(e) for field_errors in form.errors.values() for e in field_errors)
        return _reply(request, ok=False, message=errors, status=400)
    data = form.cleaned_data
    try:
        if data["decision"] == "decline":
            services.request_decline(request_id=appointment.pk, by=request.user, response=data["response"])
            access.record(request, appointment, audit.Action.CHANGED, "decline")
            return _reply(request, ok=True, message=f"Request #{appointment.pk} declined.")
        meeting = services.request_accept(
            request_id=appointment.pk,
            by=request.user,
            provider_id=data["provider"],
            starts_at=data["starts_at"],
            response=data["response"],
            override=data["override"],
        )
    except AlreadyDecided as decided:
        return _reply(request, ok=False, message=f"Request #{appointment.pk}: {decided}", status=409)
    except BookingConflict as conflict:
        return _reply(
            request,
            ok=False,
            message=conflict.describe(appointment.clinic),
            status=409,
            conflict=True,
        )
    except services.RequestRefused as refused:
        return _reply(request, ok=False, message=str(refused), status=400)
    access.record(request, appointment, audit.Action.CHANGED, "accept")
    return _reply(
        request,
        ok=True,
        message=f"Request #{appointment.pk} accepted: meeting booked, invitation sent.",
        meeting_id=meeting.pk,
    )


# --- The provider's dashboard panel --------------------------------------------------------------


@require_GET
@login_required
def requests_panel(request: StaffRequest, slug: str) -> HttpResponse:
    clinic = tenancy.clinic_for_staff(user=request.user, slug=slug)
    return HttpResponse(render_panel(request, clinic))


def render_panel(request: StaffRequest, clinic) -> str:
    """The provider's part of the dashboard: their on-demand toggle and the pending requests
    addressed to them. Empty for staff who aren't providers here."""
    membership = next((m for m in tenancy.request_memberships(request) if m.clinic_id == clinic.pk), None)
    if membership is None or membership.role != Role.PROVIDER:
        return ""
    profile = availability.profile_for(clinic)
    on_demand = profile.availability_mode == SchedulingProfile.Mode.ON_DEMAND
    available = on_demand and clinic.provider_statuses.filter(provider=request.user, available=True).exists()
    pending = selectors.provider_requests(clinic=clinic, user=request.user, profile=profile)
    return render_fragment(
        "scheduling/requests/_provider_panel.html",
        {
            "clinic": clinic,
            "on_demand": on_demand,
            "available": available,
            "pending": [
                (r, [(t.starts_at, slot_value(t.starts_at)) for t in r.times.all()]) for r in pending
            ],
        },
        request=request,
    )


@require_POST
@login_required
def availability_toggle(request: StaffRequest, slug: str) -> HttpResponse:
    clinic = tenancy.clinic_for_staff(user=request.user, slug=slug, roles={Role.PROVIDER})
    available = request.POST.get("available") == "1"
    services.availability_set(clinic=clinic, provider=request.user, available=available)
    if wants_json(request):
        return JsonResponse({"ok": True, "available": available})
    return redirect("clinic_dashboard", slug=clinic.slug)
