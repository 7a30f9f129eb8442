"""The staff side of a consultation: the room (`/consultations/<id>/`), its actions (POSTs: claim,
release, cancel, complete, lock, unlock, a message, the note), the re-fetch of each part a push
names, and the dashboard's Upcoming Appointments panel (settings.DASHBOARD_PANELS).

Access is consultations/access.py's: another clinic's staff and schedulers get 404. The access
trail records opening the room and every change; the re-fetches a push causes are not recorded
again (the page's opening was)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from markupsafe import Markup

from consultations import access, calls, lifecycle, payments, recordings, selectors, services, uploads
from consultations.access import StaffViewer
from consultations.forms import CancelForm, ChargeForm, MessageForm, NoteForm, RetryForm, version_of
from consultations.lifecycle import Event
from consultations.models import Attachment, Consultation
from consultations.publishing import Part
from scheduling.times import local_time
from visits.forms import first_error
from waitingroom import tenancy
from waitingroom.audit import services as audit
from waitingroom.audit.models import AccessEvent
from waitingroom.fragments import render_fragment
from waitingroom.tenancy import StaffRequest


def wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def record(
    request: StaffRequest, consultation: Consultation, action: AccessEvent.Action, detail: str = ""
) -> None:
    audit.record(
        request=request,
        clinic_id=consultation.clinic_id,
        action=action,
        kind=audit.Kind.CONSULTATION,
        object_id=consultation.pk,
        patient_label=consultation.client_name,
        detail=detail,
    )


# --- Parts ---------------------------------------------------------------------------------------


def _part_url(consultation: Consultation, part: str) -> str:
    return reverse("consultation_part", args=[consultation.pk, part])


def _status(viewer: StaffViewer, request: HttpRequest) -> Markup:
    consultation, now = viewer.consultation, timezone.now()
    actions = access.staff_actions(
        role=viewer.role, user_id=viewer.user.pk, consultation=consultation, now=now
    )
    return render_fragment(
        "consultations/_control_bar.html",
        {
            "c": consultation,
            "state": selectors.status_of(consultation, now),
            "when": local_time(consultation.starts_at, consultation.clinic),
            "expert": _name(consultation.expert) if consultation.expert else "",
            "holds_claim": viewer.holds_claim,
            "can": {event.value: event in actions for event in access.STAFF_EVENTS},
            "part_url": _part_url(consultation, Part.STATUS),
            "action_url": lambda action: reverse("consultation_action", args=[consultation.pk, action]),
        },
        request=request,
    )


def _messages(viewer: StaffViewer, request: HttpRequest) -> Markup:
    consultation = viewer.consultation
    return render_fragment(
        "consultations/_messages.html",
        {
            "side": "staff",
            "client_name": consultation.client_name,
            "tz": consultation.clinic.time_zone,
            "messages": selectors.messages(consultation),
            "may_post": selectors.status_of(consultation, timezone.now())["staff_may_post"],
            "closed_reason": "This consultation was cancelled: no more messages.",
            "client_closed": not selectors.status_of(consultation, timezone.now())["client_may_post"],
            "post_url": reverse("consultation_message", args=[consultation.pk]),
            "part_url": _part_url(consultation, Part.MESSAGES),
        },
        request=request,
    )


def _attachments(viewer: StaffViewer, request: HttpRequest) -> Markup:
    consultation = viewer.consultation
    may_post = lifecycle.staff_may_post(consultation.status)
    return attachments_part(
        consultation,
        part_url=_part_url(consultation, Part.ATTACHMENTS),
        file_url=uploads.staff_file_url,
        viewer_is_client=False,
        form=uploads.attach_form_context(
            upload_url=reverse("consultation_files", args=[consultation.pk]),
            may_post=may_post,
            refusal="" if may_post else lifecycle.MESSAGES[lifecycle.Status.CANCELLED],
        ),
        request=request,
    )


def attachments_part(
    consultation: Consultation,
    *,
    part_url: str,
    file_url: Callable[[Attachment], str],
    viewer_is_client: bool,
    form: dict[str, Any],
    request: HttpRequest,
) -> Markup:
    """The files of the room, each with the viewer's download URL, and the attach form (the
    uploads and downloads themselves are consultations/uploads.py)."""
    return render_fragment(
        "consultations/_attachments.html",
        {
            "part_url": part_url,
            "rows": uploads.attachment_rows(selectors.attachments(consultation), file_url),
            "viewer_is_client": viewer_is_client,
            "tz": consultation.clinic.time_zone,
            **form,
        },
        request=request,
    )


def _note(viewer: StaffViewer, request: HttpRequest) -> Markup:
    consultation = viewer.consultation
    if not viewer.reads_notes:
        raise Http404("No such part")
    versions = selectors.notes(consultation)
    writes = access.may_write_note(role=viewer.role, user_id=viewer.user.pk, consultation=consultation)
    return render_fragment(
        "consultations/_note.html",
        {
            "note": versions[0] if versions else None,
            "versions": versions,
            "may_write": writes,
            "note_version": versions[0].version if versions else 0,
            "save_url": reverse("consultation_note", args=[consultation.pk]),
            "part_url": _part_url(consultation, Part.NOTE),
            "side": "staff",
            "tz": consultation.clinic.time_zone,
        },
        request=request,
    )


def _call(viewer: StaffViewer, request: HttpRequest) -> Markup:
    consultation = viewer.consultation
    return calls.staff_part(
        viewer,
        part_url=_part_url(consultation, Part.CALL),
        start_url=reverse("consultation_call_start", args=[consultation.pk]),
        complete_url=reverse("consultation_action", args=[consultation.pk, Event.COMPLETE.value]),
        phone_url=reverse("account_phone"),
        request=request,
    )


def _payment(viewer: StaffViewer, request: HttpRequest) -> Markup:
    consultation = viewer.consultation
    return payments.staff_part(
        viewer,
        part_url=_part_url(consultation, Part.PAYMENT),
        charge_url=reverse("consultation_charge", args=[consultation.pk]),
        retry_url=reverse("consultation_charge_retry", args=[consultation.pk]),
        cancel_url=reverse("consultation_charge_cancel", args=[consultation.pk]),
        request=request,
    )


PARTS: dict[str, Callable[[StaffViewer, HttpRequest], Markup]] = {
    Part.STATUS: _status,
    Part.CALL: _call,
    Part.PAYMENT: _payment,
    Part.MESSAGES: _messages,
    Part.ATTACHMENTS: _attachments,
    Part.NOTE: _note,
    Part.RECORDINGS: recordings.staff_part,  # 404 for CSRs, like the note
}
# Parts a role may not see: left out of the page for it (their re-fetch answers 404).
_ROLE_PARTS = (Part.NOTE, Part.RECORDINGS)


def _name(user) -> str:
    return user.get_full_name() or user.username


def _viewer(request: StaffRequest, consultation_id: int) -> StaffViewer:
    return access.staff_viewer(user=request.user, consultation_id=consultation_id)


@require_GET
@login_required
def room(request: StaffRequest, consultation_id: int) -> HttpResponse:
    viewer = _viewer(request, consultation_id)
    consultation = viewer.consultation
    services.messages_mark_read(consultation_id=consultation.pk, by_staff=True)
    record(request, consultation, audit.Action.VIEWED, "room")
    parts = {name: build(viewer, request) for name, build in PARTS.items() if name not in _ROLE_PARTS}
    if viewer.reads_notes:
        parts[Part.NOTE] = _note(viewer, request)
    if viewer.hears_recordings:
        parts[Part.RECORDINGS] = recordings.staff_part(viewer, request)
    return render(
        request,
        "consultations/room_staff.html",
        {
            "c": consultation,
            "clinic": consultation.clinic,
            "clinics": [m.clinic for m in tenancy.request_memberships(request)],
            "parts": parts,
            "answers": render_fragment(
                "consultations/_answers.html", {"answers": selectors.answers(consultation)}
            ),
            "details": render_fragment(
                "consultations/_client_details.html",
                {"c": consultation},
            ),
            "history": render_fragment(
                "consultations/_history.html",
                {
                    "rows": selectors.history(consultation, with_notes=viewer.reads_notes),
                    "show_notes": viewer.reads_notes,
                    "show_links": True,
                    "tz": consultation.clinic.time_zone,
                },
            ),
        },
    )


@require_GET
@login_required
def part(request: StaffRequest, consultation_id: int, part: str) -> HttpResponse:
    """One part of the room, re-fetched when a push names it. The note is absent for CSRs (404)."""
    viewer = _viewer(request, consultation_id)
    render_part = PARTS.get(part)
    if render_part is None:
        raise Http404("No such part")
    if part == Part.MESSAGES:
        services.messages_mark_read(consultation_id=consultation_id, by_staff=True)
    return HttpResponse(render_part(viewer, request))


# --- Actions -------------------------------------------------------------------------------------


def _reply(
    request: HttpRequest, consultation: Consultation, *, ok: bool, message: str, status: int = 200
) -> HttpResponse:
    if wants_json(request):
        return JsonResponse(
            {"ok": ok, ("message" if ok else "error"): message, "version": consultation.version},
            status=status,
        )
    (messages.success if ok else messages.error)(request, message)
    return redirect("consultation_room", consultation_id=consultation.pk)


def _done(consultation: Consultation, event: Event) -> str:
    who = consultation.client_name
    return {
        Event.CLAIM: f"You claimed the consultation with {who}.",
        Event.RELEASE: f"The consultation with {who} is available to every expert again.",
        Event.CANCEL: f"The consultation with {who} is cancelled; they were emailed the reason.",
        Event.COMPLETE: f"The consultation with {who} is completed.",
        Event.LOCK: f"Locked: {who} can no longer send messages.",
        Event.UNLOCK: f"Open: {who} can send messages again.",
    }[event]


@require_POST
@login_required
def action(request: StaffRequest, consultation_id: int, action: str) -> HttpResponse:
    """Claim, release, cancel (with a reason), complete, lock or unlock, as the page showed it."""
    viewer = _viewer(request, consultation_id)
    consultation = viewer.consultation
    try:
        event = Event(action)
    except ValueError:
        raise Http404("No such action") from None
    if event not in access.STAFF_EVENTS:
        raise Http404("No such action")
    expected = version_of(request.POST)
    pk, by = consultation.pk, request.user
    try:
        if expected is None:
            raise services.StalePage()
        if event == Event.CANCEL:
            form = CancelForm(request.POST)
            if not form.is_valid():
                raise services.ConsultationRefused(first_error(form))
            changed = services.consultation_cancel(
                consultation_id=pk, by=by, expected_version=expected, reason=form.cleaned_data["reason"]
            )
        elif event in (Event.LOCK, Event.UNLOCK):
            changed = services.consultation_set_open(
                consultation_id=pk, by=by, expected_version=expected, is_open=event == Event.UNLOCK
            )
        else:
            change = {
                Event.CLAIM: services.consultation_claim,
                Event.RELEASE: services.consultation_release,
                Event.COMPLETE: services.consultation_complete,
            }[event]
            changed = change(consultation_id=pk, by=by, expected_version=expected)
    except services.StalePage as stale:
        return _reply(request, consultation, ok=False, message=str(stale), status=409)
    except services.ConsultationRefused as refused:
        return _reply(request, consultation, ok=False, message=str(refused), status=409)
    record(request, consultation, audit.Action.CHANGED, event.value)
    return _reply(request, changed, ok=True, message=_done(changed, event))


@require_POST
@login_required
def message(request: StaffRequest, consultation_id: int) -> HttpResponse:
    viewer = _viewer(request, consultation_id)
    form = MessageForm(request.POST)
    try:
        if not form.is_valid():
            raise services.ConsultationRefused(first_error(form))
        services.message_post(
            consultation_id=viewer.consultation.pk, by=request.user, body=form.cleaned_data["body"]
        )
    except services.ConsultationRefused as refused:
        return _reply(request, viewer.consultation, ok=False, message=str(refused), status=400)
    record(request, viewer.consultation, audit.Action.CHANGED, "message")
    return _reply(request, viewer.consultation, ok=True, message="Message sent.")


@require_POST
@login_required
def note(request: StaffRequest, consultation_id: int) -> HttpResponse:
    """Save the note: a new version (the client reads the newest)."""
    viewer = _viewer(request, consultation_id)
    if not viewer.reads_notes:
        raise Http404("No such part")
    form = NoteForm(request.POST)
    try:
        if not form.is_valid():
            raise services.ConsultationRefused(first_error(form))
        if form.cleaned_data["note_version"] is None:
            # A page always sends the version it showed: without it a save could replace a
            # version its writer never saw (the service skips the check only for callers
            # without a page).
            raise services.StalePage()
        services.note_save(
            consultation_id=viewer.consultation.pk,
            by=request.user,
            body=form.cleaned_data["body"],
            expected_note_version=form.cleaned_data["note_version"],
        )
    except services.ConsultationRefused as refused:
        return _reply(request, viewer.consultation, ok=False, message=str(refused), status=409)
    record(request, viewer.consultation, audit.Action.CHANGED, "note")
    return _reply(request, viewer.consultation, ok=True, message="Note saved; the client can read it now.")


@require_POST
@login_required
def call_start(request: StaffRequest, consultation_id: int) -> HttpResponse:
    """Start Phone Call (or Retry): the bridge rings the expert's phone, then the client's."""
    viewer = _viewer(request, consultation_id)
    consultation = viewer.consultation
    expected = version_of(request.POST)
    try:
        if expected is None:
            raise services.StalePage()
        calls.call_start_for(consultation_id=consultation.pk, by=request.user, expected_version=expected)
    except services.ConsultationRefused as refused:
        return _reply(request, consultation, ok=False, message=str(refused), status=409)
    record(request, consultation, audit.Action.CHANGED, "call")
    return _reply(request, consultation, ok=True, message="Calling your phone: answer it, then press 1.")


@require_POST
@login_required
def charge(request: StaffRequest, consultation_id: int) -> HttpResponse:
    """Charge (or Charge again): the saved card, for the amount the expert confirmed."""
    viewer = _viewer(request, consultation_id)
    consultation = viewer.consultation
    form = ChargeForm(request.POST)
    try:
        if not form.is_valid():
            raise services.ConsultationRefused(first_error(form))
        amount = payments.minor_units(form.cleaned_data["amount"])
        payment = payments.charge(consultation_id=consultation.pk, by=request.user, amount=amount)
    except services.ConsultationRefused as refused:
        return _reply(request, consultation, ok=False, message=str(refused), status=409)
    record(request, consultation, audit.Action.CHANGED, "charge")
    return _reply(
        request,
        consultation,
        ok=True,
        message=f"Charging {payments.money(payment.amount, payment.currency)}.",
    )


@require_POST
@login_required
def charge_retry(request: StaffRequest, consultation_id: int) -> HttpResponse:
    """Retry a charge Stripe could not be reached for."""
    viewer = _viewer(request, consultation_id)
    consultation = viewer.consultation
    form = RetryForm(request.POST)
    try:
        if not form.is_valid():
            raise services.ConsultationRefused(first_error(form))
        payments.charge_retry(
            consultation_id=consultation.pk, payment_id=form.cleaned_data["payment"], by=request.user
        )
    except services.ConsultationRefused as refused:
        return _reply(request, consultation, ok=False, message=str(refused), status=409)
    record(request, consultation, audit.Action.CHANGED, "charge retry")
    return _reply(request, consultation, ok=True, message="Sending the charge again.")


@require_POST
@login_required
def charge_cancel(request: StaffRequest, consultation_id: int) -> HttpResponse:
    """Cancel a charge waiting for the client's confirmation (they were emailed the link)."""
    viewer = _viewer(request, consultation_id)
    consultation = viewer.consultation
    form = RetryForm(request.POST)
    try:
        if not form.is_valid():
            raise services.ConsultationRefused(first_error(form))
        payment = payments.charge_cancel(
            consultation_id=consultation.pk, payment_id=form.cleaned_data["payment"], by=request.user
        )
    except services.ConsultationRefused as refused:
        return _reply(request, consultation, ok=False, message=str(refused), status=409)
    record(request, consultation, audit.Action.CHANGED, "charge cancel")
    return _reply(
        request,
        consultation,
        ok=True,
        message=f"Charge of {payments.money(payment.amount, payment.currency)} cancelled: you may charge again.",
    )


# --- The dashboard's Upcoming Appointments -------------------------------------------------------


def render_upcoming_panel(request: StaffRequest, clinic) -> str:
    """The dashboard's Upcoming Appointments (settings.DASHBOARD_PANELS): empty for staff whose
    role sees no consultations (schedulers)."""
    membership = next((m for m in tenancy.request_memberships(request) if m.clinic_id == clinic.pk), None)
    if membership is None or membership.role not in access.ROOM_ROLES:
        return ""
    data = selectors.upcoming(clinic=clinic, user=request.user, role=membership.role)
    tz = clinic.time_zone
    return render_fragment(
        "consultations/_upcoming.html",
        {"clinic": clinic, "upcoming": data, "tz": tz, "expert_name": _name},
        request=request,
    )


@require_GET
@login_required
def upcoming_panel(request: StaffRequest, slug: str) -> HttpResponse:
    """The panel alone: dashboards re-fetch it on the `panel` push naming "consultations"."""
    clinic = tenancy.clinic_for_staff(user=request.user, slug=slug, roles=access.ROOM_ROLES)
    return HttpResponse(render_upcoming_panel(request, clinic))
