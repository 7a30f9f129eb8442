"""The client's side of a consultation: the room behind their link (`/consult/room/<token>/`), its
message post and the re-fetch of each part a push names. No account: the link's token is the
credential (consultations/access.py client_consultation), re-checked on every request; a bad,
re-issued or other consultation's token gets the product's "link not valid" page (404)."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from markupsafe import Markup

from consultations import access, calls, lifecycle, payments, recordings, selectors, services, uploads
from consultations.emails import book_url, voice_number
from consultations.forms import MessageForm
from consultations.models import Consultation
from consultations.publishing import Part
from consultations.staff import attachments_part, wants_json
from scheduling.times import local_time
from visits.forms import first_error
from waitingroom import errors, ratelimit
from waitingroom.fragments import render_fragment


def _not_valid(request: HttpRequest) -> HttpResponse:
    # No clinic named: consultation ids are sequential, and a re-issued link's signature cannot be
    # told from a forged one, so naming the id's clinic would map ids to clinics (docs/security.md).
    return errors.link_not_valid(request)


def _part_url(token: str, part: str) -> str:
    return reverse("consultation_client_part", args=[token, part])


def _status(consultation: Consultation, token: str, request: HttpRequest) -> Markup:
    state = selectors.status_of(consultation, timezone.now())
    return render_fragment(
        "consultations/_client_status.html",
        {
            "c": consultation,
            "state": state,
            "when": local_time(consultation.starts_at, consultation.clinic),
            "expert": (consultation.expert.get_full_name() or consultation.expert.username)
            if consultation.expert
            else "",
            "booking_url": book_url(consultation.clinic) if state["is_cancelled"] else "",
            "voice_number": voice_number(consultation.clinic),
            "part_url": _part_url(token, Part.STATUS),
        },
    )


def _messages(consultation: Consultation, token: str, request: HttpRequest) -> Markup:
    state = selectors.status_of(consultation, timezone.now())
    return render_fragment(
        "consultations/_messages.html",
        {
            "side": "client",
            "client_name": consultation.client_name,
            "tz": consultation.clinic.time_zone,
            "messages": selectors.messages(consultation),
            "may_post": state["client_may_post"],
            "closed_reason": services.closed_reason(consultation),
            "client_closed": not state["client_may_post"],
            "post_url": reverse("consultation_client_message", args=[token]),
            "part_url": _part_url(token, Part.MESSAGES),
        },
        request=request,
    )


def _attachments(consultation: Consultation, token: str, request: HttpRequest) -> Markup:
    may_post = lifecycle.client_may_post(consultation.status, consultation.is_open)
    return attachments_part(
        consultation,
        part_url=_part_url(token, Part.ATTACHMENTS),
        file_url=uploads.client_file_url(token),
        viewer_is_client=True,
        form=uploads.attach_form_context(
            upload_url=reverse("consult_room_files", args=[token]),
            may_post=may_post,
            refusal="" if may_post else services.closed_reason(consultation),
        ),
        request=request,
    )


def _note(consultation: Consultation, token: str, request: HttpRequest) -> Markup:
    """The newest version of the expert's note, once written (earlier versions stay with staff)."""
    note = selectors.note(consultation)
    return render_fragment(
        "consultations/_note.html",
        {
            "note": note,
            "versions": [],
            "may_write": False,
            "note_version": 0,
            "save_url": "",
            "part_url": _part_url(token, Part.NOTE),
            "side": "client",
            "tz": consultation.clinic.time_zone,
        },
        request=request,
    )


def _call(consultation: Consultation, token: str, request: HttpRequest) -> Markup:
    return calls.client_part(consultation, part_url=_part_url(token, Part.CALL))


def _payment(consultation: Consultation, token: str, request: HttpRequest) -> Markup:
    return payments.client_part(
        consultation, part_url=_part_url(token, Part.PAYMENT), confirm_url=payments.confirm_url
    )


PARTS: dict[str, Callable[[Consultation, str, HttpRequest], Markup]] = {
    Part.STATUS: _status,
    Part.CALL: _call,
    Part.PAYMENT: _payment,
    Part.MESSAGES: _messages,
    Part.ATTACHMENTS: _attachments,
    Part.NOTE: _note,
    Part.RECORDINGS: recordings.client_part,  # 404 unless the clinic lets clients listen
}


@require_GET
def room(request: HttpRequest, token: str) -> HttpResponse:
    consultation = access.client_consultation(token)
    if consultation is None:
        return _not_valid(request)
    services.messages_mark_read(consultation_id=consultation.pk, by_staff=False)
    return render(
        request,
        "consultations/room_client.html",
        {
            "c": consultation,
            "clinic": consultation.clinic,
            "token": token,
            "parts": _parts(consultation, token, request),
            "answers": _answers(consultation),
            "history": render_fragment(
                "consultations/_history.html",
                {
                    "rows": selectors.history(consultation, with_notes=True, for_client=True),
                    "show_notes": True,
                    "show_links": False,
                    "tz": consultation.clinic.time_zone,
                },
            ),
        },
    )


def _parts(consultation: Consultation, token: str, request: HttpRequest) -> dict[str, Markup]:
    parts = {
        name: build(consultation, token, request) for name, build in PARTS.items() if name != Part.RECORDINGS
    }
    if access.client_may_listen(consultation):
        parts[Part.RECORDINGS] = recordings.client_part(consultation, token, request)
    return parts


def _answers(consultation: Consultation) -> Markup:
    return render_fragment("consultations/_answers.html", {"answers": selectors.answers(consultation)})


@require_GET
def part(request: HttpRequest, token: str, part: str) -> HttpResponse:
    consultation = access.client_consultation(token)
    if consultation is None:
        return _not_valid(request)
    build = PARTS.get(part)
    if build is None:
        raise Http404("No such part")
    if part == Part.MESSAGES:
        services.messages_mark_read(consultation_id=consultation.pk, by_staff=False)
    return HttpResponse(build(consultation, token, request))


def _reply(request: HttpRequest, token: str, *, ok: bool, message: str, status: int = 200) -> HttpResponse:
    """JSON for the room's script; a form posted without it goes back to the room, which shows
    the outcome (never a page of raw JSON)."""
    if wants_json(request):
        return JsonResponse({"ok": ok, ("message" if ok else "error"): message}, status=status)
    (messages.success if ok else messages.error)(request, message)
    return redirect("consultation_client_room", token=token)


@require_POST
def message(request: HttpRequest, token: str) -> HttpResponse:
    """The client's message: refused (with the reason) while the room is Locked or cancelled."""
    consultation = access.client_consultation(token)
    if consultation is None:
        if wants_json(request):
            return JsonResponse({"ok": False, "error": "This link is no longer valid."}, status=404)
        return _not_valid(request)
    try:
        ratelimit.attempt("consultation-client-post", request)
    except ratelimit.RateLimited as limited:
        return _reply(request, token, ok=False, message=str(limited), status=429)
    form = MessageForm(request.POST)
    try:
        if not form.is_valid():
            raise services.ConsultationRefused(first_error(form))
        services.message_post(consultation_id=consultation.pk, body=form.cleaned_data["body"])
    except services.RoomClosed as closed:
        return _reply(request, token, ok=False, message=str(closed), status=403)
    except services.ConsultationRefused as refused:
        return _reply(request, token, ok=False, message=str(refused), status=400)
    return _reply(request, token, ok=True, message="Message sent.")
