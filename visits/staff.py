"""Staff views: the dashboard, its re-sync fragment, and the actions on visits (CSRF POSTs)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.module_loading import import_string
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from visits import call_guests, cards, chat, offline, phone, publishing, selectors, services
from visits.forms import BroadcastForm, ChatForm, CloseNowForm, first_error
from visits.guest_lifecycle import GuestTransitionRefused
from visits.lifecycle import TransitionRefused
from visits.models import CallGuest, CallParticipant, Visit
from waitingroom import opening, tenancy
from waitingroom.audit import services as audit
from waitingroom.audit.models import AccessEvent
from waitingroom.models import FRONTLINE_ROLES, Role
from waitingroom.tenancy import StaffRequest
from waitingroom.turn import ice_servers

SESSION_CLINIC_KEY = "clinic_slug"

ACTIONS = {
    "call": services.visit_call,
    "leave_call": services.visit_leave_call,
    "end": services.visit_end,
    "send_back": services.visit_send_back,
    "cancel": services.visit_cancel,
    "call_back": services.visit_call_back,
    "recall": offline.visit_recall,
    "switch_to_phone": lambda *, visit_id, user: phone.visit_switch_to_phone(visit_id=visit_id, by=user),
}


def wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def frontline_clinic(request: StaffRequest, slug: str):
    """The clinic, if the user works its waiting room (provider, CSR, clinic admin); else 404."""
    return tenancy.clinic_for_staff(user=request.user, slug=slug, roles=FRONTLINE_ROLES)


@require_GET
@login_required
def dashboard_landing(request: StaffRequest) -> HttpResponse:
    """Staff land here after login and go on to the clinic they last used (or their first)."""
    clinic = tenancy.default_clinic(user=request.user, preferred_slug=request.session.get(SESSION_CLINIC_KEY))
    if clinic is None:
        return render(request, "visits/no_clinic.html", status=403)
    return redirect("clinic_dashboard", slug=clinic.slug)


@require_GET
@login_required
def dashboard(request: StaffRequest, slug: str) -> HttpResponse:
    membership = tenancy.request_membership(request, slug=slug)
    clinic = membership.clinic
    if request.session.get(SESSION_CLINIC_KEY) != clinic.slug:  # a write only when it changes
        request.session[SESSION_CLINIC_KEY] = clinic.slug
    frontline = membership.role in FRONTLINE_ROLES
    return render(
        request,
        "visits/dashboard.html",
        {
            "clinic": clinic,
            "clinics": [m.clinic for m in tenancy.request_memberships(request)],
            "frontline": frontline,
            "sections": cards.dashboard_sections(clinic=clinic) if frontline else [],
            "open_room_url": _room_to_open(request, clinic) if frontline else "",
            "opening": opening.dashboard_words(clinic=clinic) if frontline else None,
            "can_close": membership.role == Role.CLINIC_ADMIN,
            # Apps above this one add their parts (e.g. a provider's appointment requests).
            "panels": [
                html for path in settings.DASHBOARD_PANELS if (html := import_string(path)(request, clinic))
            ],
        },
    )


def _room_to_open(request: StaffRequest, clinic) -> str:
    """`?room=<visit id>`: the page opens that call at once (the host came from "Enter room" on
    the meetings overview), if this user is in it."""
    room = request.GET.get("room", "")
    if (
        room.isascii()
        and room.isdigit()
        and CallParticipant.objects.filter(
            visit__clinic=clinic, visit_id=int(room), user=request.user
        ).exists()
    ):
        return reverse("visit_room", args=[clinic.slug, int(room)])
    return ""


@require_GET
@login_required
def board(request: StaffRequest, slug: str) -> HttpResponse:
    """The four sections alone: a dashboard re-fetches this after its socket reconnects."""
    clinic = frontline_clinic(request, slug)
    return render(request, "visits/_board.html", {"sections": cards.dashboard_sections(clinic=clinic)})


@require_POST
@login_required
def visit_action(request: StaffRequest, slug: str, visit_id: int, action: str) -> HttpResponse:
    clinic = frontline_clinic(request, slug)
    visit = selectors.staff_visit(clinic=clinic, visit_id=visit_id)
    service = ACTIONS.get(action)
    if service is None:
        raise Http404("No such action")
    try:
        with cards.keeping_rendered() as pushed:
            service(visit_id=visit.id, user=request.user)
    except (
        TransitionRefused,
        services.AlreadyInCall,
        services.NotInCall,
        services.CallFull,
        offline.RecallRefused,
        phone.PhoneRefused,
    ) as refused:
        if wants_json(request):
            return JsonResponse({"ok": False, "error": str(refused)}, status=409)
        messages.error(request, str(refused))
        return redirect("clinic_dashboard", slug=clinic.slug)
    _record(request, visit, audit.Action.CHANGED, detail=action)
    if wants_json(request):
        # The card every dashboard was just sent; read again only if the action pushed none.
        phase, html = pushed.get(visit.id) or cards.card_state(visit=visit)
        result = {"ok": True, "visit_id": visit.id, "phase": phase.value, "html": html}
        if action in ("call", "call_back"):
            # The dashboard opens the staff side of the call from here.
            result["room_url"] = reverse("visit_room", args=[clinic.slug, visit.id])
        return JsonResponse(result)
    return redirect("clinic_dashboard", slug=clinic.slug)


@require_GET
@login_required
def visit_room(request: StaffRequest, slug: str, visit_id: int) -> HttpResponse:
    """The staff side of the call: device check, videos and controls (only for staff in the call)."""
    clinic = frontline_clinic(request, slug)
    visit = selectors.staff_visit(clinic=clinic, visit_id=visit_id)
    if not visit.call_participants.filter(user=request.user).exists():
        raise Http404("Not in this call")
    _record(request, visit, audit.Action.VIEWED, detail="call room")
    return render(
        request,
        "visits/_staff_call.html",
        {
            "visit": visit,
            "clinic": clinic,
            "ice_servers": ice_servers(user_key=f"staff-{request.user.id}"),
            "guest_panel": selectors.guest_panel(visit=visit),
        },
    )


@require_http_methods(["GET", "POST"])
@login_required
def visit_chat(request: StaffRequest, slug: str, visit_id: int) -> HttpResponse:
    """GET: the chat panel (and the messages count as read); `?read=1`: only mark them read (the
    open panel got a message pushed). POST: send a message."""
    clinic = frontline_clinic(request, slug)
    visit = selectors.staff_visit(clinic=clinic, visit_id=visit_id)
    if request.method == "POST":
        form = ChatForm(request.POST)
        try:
            if not form.is_valid():
                raise chat.ChatRefused(first_error(form))
            chat.chat_post(visit_id=visit.id, user=request.user, body=form.cleaned_data["body"])
        except chat.ChatRefused as refused:
            return JsonResponse({"ok": False, "error": str(refused)}, status=400)
        _record(request, visit, audit.Action.CHANGED, audit.Kind.CHAT)
        return JsonResponse({"ok": True})
    chat.chat_mark_read(visit_id=visit.id)
    if request.GET.get("read") == "1":
        # No patient data in the answer: the message came by push to a panel whose opening was
        # recorded, so no access entry per push.
        return HttpResponse(status=204)
    _record(request, visit, audit.Action.VIEWED, audit.Kind.CHAT)
    return render(
        request,
        "visits/_chat_panel.html",
        {"visit": visit, "chat_messages": selectors.chat_messages(visit=visit), "clinic": clinic},
    )


def _record(
    request: StaffRequest,
    visit: Visit,
    action: AccessEvent.Action,
    kind: AccessEvent.Kind = audit.Kind.VISIT,
    detail: str = "",
) -> None:
    audit.record(
        request=request,
        clinic_id=visit.clinic_id,
        action=action,
        kind=kind,
        object_id=visit.id,
        patient_label=visit.patient_name,
        detail=detail,
    )


@require_POST
@login_required
def broadcast(request: StaffRequest, slug: str) -> HttpResponse:
    clinic = frontline_clinic(request, slug)
    form = BroadcastForm(request.POST)
    try:
        if not form.is_valid():
            raise chat.ChatRefused(first_error(form))
        chat.clinic_broadcast_set(clinic=clinic, message=form.cleaned_data["message"])
    except chat.ChatRefused as refused:
        if wants_json(request):
            return JsonResponse({"ok": False, "error": str(refused)}, status=400)
        messages.error(request, str(refused))
        return redirect("clinic_dashboard", slug=clinic.slug)
    if wants_json(request):
        return JsonResponse({"ok": True, "message": clinic.broadcast_message})
    return redirect("clinic_dashboard", slug=clinic.slug)


# --- Call guests (visits/call_guests.py) ----------------------------------------------------------


def _guest_answer(visit: Visit, error: str = "", status: int = 200) -> JsonResponse:
    html = publishing.render_guest_panel(Visit.objects.select_related("clinic").get(pk=visit.pk))
    return JsonResponse(
        {"ok": not error, "error": error, "html": html} if error else {"ok": True, "html": html},
        status=status,
    )


@require_POST
@login_required
def call_guest_invite(request: StaffRequest, slug: str, visit_id: int) -> HttpResponse:
    """A staff member in the call invites a guest: name, relation and a mobile number or email."""
    clinic = frontline_clinic(request, slug)
    visit = selectors.staff_visit(clinic=clinic, visit_id=visit_id)
    try:
        call_guests.guest_invite(
            visit_id=visit.id,
            user=request.user,
            name=request.POST.get("name", ""),
            relation=request.POST.get("relation", ""),
            contact=request.POST.get("contact", ""),
        )
    except call_guests.NotInThisCall as refused:
        return _guest_answer(visit, str(refused), status=403)
    except call_guests.GuestRefused as refused:
        return _guest_answer(visit, str(refused), status=400)
    _record(request, visit, audit.Action.CHANGED, detail="call guest invited")
    return _guest_answer(visit)


@require_POST
@login_required
def call_guest_action(
    request: StaffRequest, slug: str, visit_id: int, guest_id: int, action: str
) -> HttpResponse:
    """Admit, decline, remove or withdraw the visit's guest (staff in the call only)."""
    clinic = frontline_clinic(request, slug)
    visit = selectors.staff_visit(clinic=clinic, visit_id=visit_id)
    service = call_guests.STAFF_ACTIONS.get(action)
    if service is None or not CallGuest.objects.filter(pk=guest_id, visit=visit).exists():
        raise Http404("No such guest")
    try:
        service(visit_id=visit.id, guest_id=guest_id, user=request.user)
    except call_guests.NotInThisCall as refused:
        return _guest_answer(visit, str(refused), status=403)
    except (call_guests.GuestRefused, GuestTransitionRefused) as refused:
        return _guest_answer(visit, str(refused), status=409)
    _record(request, visit, audit.Action.CHANGED, detail=f"call guest {action}")
    return _guest_answer(visit)


@require_GET
@login_required
def call_guest_panel(request: StaffRequest, slug: str, visit_id: int) -> HttpResponse:
    """The guest part of the call panel as it is now: the panel re-fetches it after its call
    socket (re)connects (pushes are hints). Staff in the call only."""
    clinic = frontline_clinic(request, slug)
    visit = selectors.staff_visit(clinic=clinic, visit_id=visit_id)
    if not visit.call_participants.filter(user=request.user).exists():
        raise Http404("Not in this call")
    return HttpResponse(publishing.render_guest_panel(visit))


# --- Close now / Reopen (clinic admins; waitingroom/opening.py) ----------------------------------


@require_GET
@login_required
def opening_state(request: StaffRequest, slug: str) -> JsonResponse:
    """The dashboard's banner, re-fetched after its socket (re)connects (an `opening` push may have
    been missed while it was down)."""
    clinic = frontline_clinic(request, slug)
    said = opening.dashboard_words(clinic=clinic)
    return JsonResponse({"open": said.is_open, "text": said.banner, "closed_now": said.closed_now})


def clinic_admin_clinic(request: StaffRequest, slug: str):
    """The clinic, if the user is its clinic admin: 404 outside the clinic, 403 for its other roles."""
    membership = tenancy.request_membership(request, slug=slug)
    if membership.role != Role.CLINIC_ADMIN:
        raise PermissionDenied("Only the clinic's admins close and reopen its waiting room.")
    return membership.clinic


@require_POST
@login_required
def close_now(request: StaffRequest, slug: str) -> HttpResponse:
    clinic = clinic_admin_clinic(request, slug)
    form = CloseNowForm(request.POST)
    try:
        if not form.is_valid():
            raise opening.OpeningRefused(first_error(form))
        opening.clinic_close_now(clinic_id=clinic.pk, user=request.user, message=form.cleaned_data["message"])
    except opening.OpeningRefused as refused:
        messages.error(request, str(refused))
    return redirect("clinic_dashboard", slug=clinic.slug)


@require_POST
@login_required
def reopen(request: StaffRequest, slug: str) -> HttpResponse:
    clinic = clinic_admin_clinic(request, slug)
    try:
        opening.clinic_reopen(clinic_id=clinic.pk, user=request.user)
    except opening.OpeningRefused as refused:
        messages.error(request, str(refused))
    return redirect("clinic_dashboard", slug=clinic.slug)
