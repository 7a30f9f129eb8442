"""The staff's meetings overview (`/meetings/`) and its actions: schedule, add to agenda, change
(reschedule, cancel, assign), enter the room, the summary for the guest, and a paid meeting's
payment page (its card, its charges, and Charge once it is completed). Each view checks the user
works in the meeting's clinic (404 otherwise) and calls a service or selector."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from scheduling.meetings import booking, charges, emails, payments, selectors, services
from scheduling.meetings.forms import (
    AssignForm,
    ChargeForm,
    ChargeIdForm,
    MeetingForm,
    RescheduleForm,
    SummaryForm,
)
from scheduling.models import Meeting
from waitingroom import tenancy
from waitingroom.audit import services as audit
from waitingroom.models import FRONTLINE_ROLES
from waitingroom.payments.selectors import minor_units, money
from waitingroom.tenancy import StaffRequest


def _query(request: HttpRequest, clinic) -> dict:
    tab = request.GET.get("tab")
    sort = request.GET.get("sort")
    return {
        "clinic": clinic.slug,
        "tab": tab if tab in selectors.TABS else "my",
        "sort": sort if sort in selectors.SORTS else "date",
        "dir": "asc" if request.GET.get("dir") == "asc" else "desc",
    }


def _rows_context(request: StaffRequest) -> dict:
    clinic = selectors.overview_clinic(user=request.user, slug=request.GET.get("clinic"))
    query = _query(request, clinic)
    rows = selectors.meetings_overview(
        user=request.user,
        clinic=clinic,
        tab=query["tab"],
        sort=query["sort"],
        descending=query["dir"] == "desc",
    )
    # Each header links to its sort; the current one flips direction.
    columns = []
    for column, title in selectors.COLUMNS:
        current = query["sort"] == column
        flipped = "asc" if current and query["dir"] == "desc" else "desc"
        arrow = ("▲" if query["dir"] == "asc" else "▼") if current else ""
        columns.append((column, title, urlencode({**query, "sort": column, "dir": flipped}), arrow))
    return {
        "clinic": clinic,
        "rows": rows,
        "query": query,
        "columns": columns,
        "query_string": urlencode(query),
    }


@require_GET
@login_required
def overview(request: StaffRequest) -> HttpResponse:
    context = _rows_context(request)
    context["clinics"] = tenancy.staff_clinics(user=request.user, roles=FRONTLINE_ROLES).order_by("name")
    context["tabs"] = {tab: urlencode({**context["query"], "tab": tab}) for tab in selectors.TABS}
    return render(request, "scheduling/meetings/overview.html", context)


@require_GET
@login_required
def rows(request: StaffRequest) -> HttpResponse:
    """The table body alone: open overviews re-fetch it when a push says something changed."""
    return render(request, "scheduling/meetings/_rows.html", _rows_context(request))


def _record(request: StaffRequest, meeting: Meeting, action, detail: str = "") -> None:
    audit.record(
        request=request,
        clinic_id=meeting.clinic_id,
        action=action,
        kind=audit.Kind.MEETING,
        object_id=meeting.pk,
        patient_label=meeting.guest_name,
        detail=detail,
    )


def _back(meeting: Meeting) -> HttpResponse:
    return redirect(f"{reverse('meetings')}?{urlencode({'clinic': meeting.clinic.slug})}")


@require_http_methods(["GET", "POST"])
@login_required
def meeting_new(request: StaffRequest) -> HttpResponse:
    clinic = selectors.overview_clinic(user=request.user, slug=request.GET.get("clinic"))
    form = MeetingForm(request.POST or None, clinic=clinic, initial={"provider": request.user.pk})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            meeting = booking.meeting_schedule(
                clinic=clinic,
                by=request.user,
                provider_id=data["provider"],
                service=data["service"],
                guest_name=data["guest_name"],
                guest_email=data["guest_email"],
                guest_phone=data["guest_phone"],
                description=data["description"],
                times=data["times"],
                override=data["override"],
            )
        except booking.BookingConflict as conflict:
            form.add_error("override", conflict.describe(clinic))
        except services.MeetingRefused as refused:
            form.add_error(None, str(refused))
        else:
            sent = "proposed times" if meeting.starts_at is None else "an invitation"
            messages.success(request, f"Meeting with {meeting.guest_name} saved; {sent} emailed to them.")
            return _back(meeting)
    status = 400 if form.errors else 200
    return render(request, "scheduling/meetings/new.html", {"clinic": clinic, "form": form}, status=status)


@require_GET
@login_required
def agenda(request: StaffRequest, meeting_id: int) -> HttpResponse:
    """Add to agenda: the meeting's .ics."""
    meeting = selectors.staff_meeting(user=request.user, meeting_id=meeting_id)
    if meeting.starts_at is None or meeting.cancelled_at is not None:
        messages.error(
            request,
            "This meeting was cancelled." if meeting.cancelled_at else "The guest has not picked a time yet.",
        )
        return _back(meeting)
    _record(request, meeting, audit.Action.VIEWED, "agenda file")
    response = HttpResponse(emails.agenda_file(meeting), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="meeting-{meeting.pk}.ics"'
    return response


@require_http_methods(["GET", "POST"])
@login_required
def change(request: StaffRequest, meeting_id: int) -> HttpResponse:
    """Reschedule, cancel or assign to a colleague: three forms on one page, one `action` each.
    Each form carries the meeting's `sequence` as the page showed it, so a change a colleague made
    meanwhile is not silently overwritten."""
    meeting = selectors.staff_meeting(user=request.user, meeting_id=meeting_id)
    action = request.POST.get("action") if request.method == "POST" else None
    forms = {
        "reschedule": RescheduleForm(request.POST if action == "reschedule" else None, meeting=meeting),
        "assign": AssignForm(request.POST if action == "assign" else None, meeting=meeting),
    }
    seen = request.POST.get("sequence", "")
    common: dict[str, Any] = {
        "meeting_id": meeting.pk,
        "by": request.user,
        "expected_sequence": int(seen) if seen.isascii() and seen.isdigit() else None,
    }
    changes = {
        "reschedule": lambda data: booking.meeting_reschedule(
            **common, starts_at=data["starts_at"], override=data["override"]
        ),
        "assign": lambda data: booking.meeting_assign(
            **common, provider_id=data["provider"], override=data["override"]
        ),
        "cancel": lambda data: booking.meeting_cancel(**common),
    }
    if action in changes:
        form = forms.get(action)
        if form is None or form.is_valid():
            try:
                changes[action](form.cleaned_data if form else {})
            except booking.BookingConflict as conflict:
                assert form is not None  # only reschedule and assign book a time, and both have a form
                form.add_error("override", conflict.describe(meeting.clinic))
            except services.MeetingRefused as refused:
                messages.error(request, str(refused))
            else:
                _record(request, meeting, audit.Action.CHANGED, action)
                done = {"reschedule": "rescheduled", "assign": "reassigned", "cancel": "cancelled"}[action]
                messages.success(request, f"Meeting with {meeting.guest_name} {done}; they were emailed.")
                return _back(meeting)
    elif request.method == "POST":
        messages.error(request, "Choose reschedule, cancel or assign.")
    errors = any(form.errors for form in forms.values()) or request.method == "POST"
    if request.method == "GET":
        _record(request, meeting, audit.Action.VIEWED)
    return render(
        request,
        "scheduling/meetings/change.html",
        {"meeting": meeting, "forms": forms},
        status=400 if errors else 200,
    )


@require_POST
@login_required
def enter_room(request: StaffRequest, meeting_id: int) -> HttpResponse:
    """Enter room: through the waiting room into the meeting's call (the dashboard opens it)."""
    meeting = selectors.staff_meeting(user=request.user, meeting_id=meeting_id)
    dashboard = reverse("clinic_dashboard", args=[meeting.clinic.slug])
    try:
        visit = services.meeting_host_enter(meeting_id=meeting.pk, user=request.user)
    except services.MeetingRefused as refused:
        messages.error(request, str(refused))
        return _back(meeting)
    _record(request, meeting, audit.Action.CHANGED, "enter room")
    if visit is None:
        messages.info(
            request,
            f"{meeting.guest_name} is not ready yet; they'll appear in Ready for Visits when they are.",
        )
        return redirect(dashboard)
    return redirect(f"{dashboard}?{urlencode({'room': visit.pk})}")


@require_POST
@login_required
def summary(request: StaffRequest, meeting_id: int) -> HttpResponse:
    meeting = selectors.staff_meeting(user=request.user, meeting_id=meeting_id)
    form = SummaryForm(request.POST)
    if form.is_valid():
        services.meeting_summary_set(
            meeting_id=meeting.pk, by=request.user, summary=form.cleaned_data["summary"]
        )
        _record(request, meeting, audit.Action.CHANGED, "summary")
        messages.success(request, f"Summary saved; {meeting.guest_name} can read it on their meeting page.")
    else:
        messages.error(request, "Write a summary of at most 5000 characters.")
    return _back(meeting)


# --- A paid meeting's payment --------------------------------------------------------------------


def _paid_meeting(request: StaffRequest, meeting_id: int) -> Meeting:
    meeting = selectors.staff_meeting(user=request.user, meeting_id=meeting_id)
    if payments.price_of(meeting) is None:
        raise Http404("This meeting's service is free")
    return meeting


def _payment_context(request: StaffRequest, meeting: Meeting, form: ChargeForm | None = None) -> dict:
    may_charge = payments.may_charge(user=request.user, meeting=meeting)
    view = selectors.meeting_payment(meeting=meeting, may_charge=may_charge)
    if form is None and view.chargeable:
        form = ChargeForm(initial={"amount": meeting.service.price})
    return {"meeting": meeting, "payment": view, "form": form}


@require_http_methods(["GET", "POST"])
@login_required
def payment(request: StaffRequest, meeting_id: int) -> HttpResponse:
    """The meeting's price, the card the guest saved (brand and last four digits), its charges and
    refunds, and for its host or a clinic admin once it is completed: Charge (the price by
    default, a lower amount allowed) or Retry. Its state follows live (payment.js)."""
    meeting = _paid_meeting(request, meeting_id)
    if request.method == "GET":
        _record(request, meeting, audit.Action.VIEWED, "payment")
        return render(request, "scheduling/meetings/payment.html", _payment_context(request, meeting))
    if not payments.may_charge(user=request.user, meeting=meeting):
        messages.error(request, "Only the meeting's host or a clinic admin may charge it.")
        return render(
            request, "scheduling/meetings/payment.html", _payment_context(request, meeting), status=403
        )
    action = request.POST.get("action")
    form = ChargeForm(request.POST if action == "charge" else None)
    try:
        if action == "charge":
            if not form.is_valid():
                context = _payment_context(request, meeting, form)
                return render(request, "scheduling/meetings/payment.html", context, status=400)
            charge = charges.meeting_charge(
                meeting_id=meeting.pk, by=request.user, amount=minor_units(form.cleaned_data["amount"])
            )
            messages.success(
                request, f"Charging {money(charge.amount, charge.currency)}: the result shows here."
            )
        elif action == "retry":
            charges.meeting_charge_retry(meeting_id=meeting.pk, by=request.user)
            messages.success(request, "Sent again: the result shows here.")
        elif action == "cancel":
            which = ChargeIdForm(request.POST)
            if not which.is_valid():
                raise services.MeetingRefused("Which charge? Reload the page and try again.")
            cancelled = charges.meeting_charge_cancel(
                meeting_id=meeting.pk, payment_id=which.cleaned_data["payment"], by=request.user
            )
            messages.success(
                request,
                f"Charge of {money(cancelled.amount, cancelled.currency)} cancelled: you may charge again.",
            )
        else:
            raise services.MeetingRefused("Choose Charge, Retry or Cancel charge.")
    except services.MeetingRefused as refused:
        if action != "charge":
            messages.error(request, str(refused))
            return redirect("meeting_payment", meeting_id=meeting.pk)
        form.add_error(None, str(refused))  # shown beside the amount the user typed
        context = _payment_context(request, meeting, form)
        return render(request, "scheduling/meetings/payment.html", context, status=400)
    _record(request, meeting, audit.Action.CHANGED, action)
    return redirect("meeting_payment", meeting_id=meeting.pk)


@require_GET
@login_required
def payment_part(request: StaffRequest, meeting_id: int) -> HttpResponse:
    """The payment page's live part alone: the page re-fetches it when the meetings push says
    something changed (a charge's answer from Stripe arrives after the press)."""
    meeting = _paid_meeting(request, meeting_id)
    return render(request, "scheduling/meetings/_payment.html", _payment_context(request, meeting))
