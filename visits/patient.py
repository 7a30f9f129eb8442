"""Patient pages: the clinic link with its intake form, and the wait screen behind the visit's
token. A token works only in the browser session it was issued to (or later bound to)."""

from __future__ import annotations

import contextlib

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils.module_loading import import_string
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from visits import chat, offline, phone_request, selectors, services
from visits.forms import ChatForm, IntakeForm, first_error
from visits.lifecycle import TransitionRefused
from visits.models import Visit
from waitingroom import errors, hours, opening, ratelimit
from waitingroom.models import Clinic
from waitingroom.turn import ice_servers


def bind_visit(request: HttpRequest, visit: Visit) -> None:
    """Let this browser session open `visit` (it keeps the last ten)."""
    ids = [i for i in request.session.get(selectors.PATIENT_SESSION_KEY, []) if i != visit.id]
    request.session[selectors.PATIENT_SESSION_KEY] = [*ids[-9:], visit.id]


def visit_for(request: HttpRequest, token: str) -> Visit:
    return selectors.patient_visit(
        token=token, bound_visit_ids=request.session.get(selectors.PATIENT_SESSION_KEY, [])
    )


@require_http_methods(["GET", "POST"])
def intake(request: HttpRequest, slug: str) -> HttpResponse:
    clinic = get_object_or_404(Clinic.objects.select_related("closed_now_by"), slug=slug)
    form = IntakeForm(request.POST or None, clinic=clinic)
    if request.method == "POST" and form.is_valid():
        try:
            visit, token = services.visit_start(
                clinic=clinic, patient_name=form.cleaned_data["patient_name"], answers=form.answers()
            )
        except services.ArrivalRefused as refused:
            # Nothing was created: the page says why and what to do instead.
            if refused.full:
                return full_page(request, clinic, refused=True)
            return closed_page(request, clinic, refused.state, refused=True)
        bind_visit(request, visit)
        return redirect("patient_wait", token=token)
    # The form, or its errors: unless the clinic is closed or full, which is said before anyone
    # types (the service checks again, under the clinic's row lock).
    state = opening.open_state(clinic=clinic)
    if not state.is_open:
        return closed_page(request, clinic, state)
    if selectors.queue_full(clinic=clinic):
        return full_page(request, clinic)
    return render(
        request, "visits/intake.html", {"clinic": clinic, "form": form}, status=400 if form.errors else 200
    )


def closed_page(
    request: HttpRequest, clinic: Clinic, state: hours.OpenState | None, *, refused: bool = False
) -> HttpResponse:
    """Outside the opening hours, or closed now by a clinic admin: when it opens, and its message.
    A refused check-in answers 409 (nothing was created), the page itself 200."""
    said = opening.words(clinic=clinic, state=state or opening.open_state(clinic=clinic))
    return render(
        request,
        "visits/closed.html",
        {"clinic": clinic, "said": said, "refused": refused},
        status=409 if refused else 200,
    )


def full_page(request: HttpRequest, clinic: Clinic, *, refused: bool = False) -> HttpResponse:
    """The queue is at its cap: the ways to book instead (apps above this one offer them through
    settings.ROOM_FULL_OFFERS, without this app importing them)."""
    offers = [offer for path in settings.ROOM_FULL_OFFERS if (offer := import_string(path)(clinic))]
    return render(
        request,
        "visits/full.html",
        {"clinic": clinic, "offers": offers, "refused": refused},
        status=409 if refused else 200,
    )


@require_GET
def wait(request: HttpRequest, token: str) -> HttpResponse:
    try:
        visit = visit_for(request, token)
    except Http404:
        # Opened in another browser, replaced or long ended: say whose link it was and how to start again.
        return errors.link_not_valid(request, clinic=selectors.clinic_of_token(token=token))
    return render(
        request,
        "visits/wait.html",
        {
            "visit": visit,
            "token": token,
            "state": selectors.patient_state(visit=visit),
            "chat_messages": selectors.chat_messages(visit=visit),
            "clinic": visit.clinic,
            "opening_text": opening.waiting_text(clinic=visit.clinic),
            "ice_servers": ice_servers(user_key=f"visit-{visit.id}"),
        },
    )


@require_GET
def state(request: HttpRequest, token: str) -> JsonResponse:
    """The wait screen's current state: fetched after every (re)connection of its socket."""
    visit = visit_for(request, token)
    patient_state = selectors.patient_state(visit=visit)
    return JsonResponse(
        {
            "status": visit.status,
            "html": render_to_string("visits/_patient_status.html", {"state": patient_state}),
            "position": patient_state.position,
            "broadcast": visit.clinic.broadcast_message,
            "opening": opening.waiting_text(clinic=visit.clinic),
        }
    )


@require_POST
def leave(request: HttpRequest, token: str) -> HttpResponse:
    visit = visit_for(request, token)
    # Already closed: nothing to do, the wait screen shows how it ended.
    with contextlib.suppress(TransitionRefused):
        services.visit_patient_leave(visit_id=visit.id)
    return redirect("patient_wait", token=token)


def _json_action(
    request: HttpRequest, token: str, action, refused: type[Exception], *, limit: str = ""
) -> JsonResponse:
    """Run `action(visit)` for the patient's own visit: {"ok": true}, or a 400 saying why not
    (429 past the client's `limit`, an action of settings.RATE_LIMITS)."""
    visit = visit_for(request, token)
    try:
        if limit:
            ratelimit.attempt(limit, request)
    except ratelimit.RateLimited as limited:
        return JsonResponse({"ok": False, "error": str(limited)}, status=429)
    try:
        action(visit)
    except refused as error:
        return JsonResponse({"ok": False, "error": str(error)}, status=400)
    return JsonResponse({"ok": True})


@require_POST
def chat_send(request: HttpRequest, token: str) -> JsonResponse:
    form = ChatForm(request.POST)

    def post(visit: Visit) -> None:
        if not form.is_valid():
            raise chat.ChatRefused(first_error(form))
        chat.chat_post(visit_id=visit.id, body=form.cleaned_data["body"])

    return _json_action(request, token, post, chat.ChatRefused)


@require_POST
def phone_start(request: HttpRequest, token: str) -> JsonResponse:
    """Offline queueing: text a 6-digit code to the patient's mobile number."""
    phone = request.POST.get("phone", "")
    return _json_action(
        request,
        token,
        lambda visit: offline.phone_verification_start(visit_id=visit.id, raw_phone=phone),
        offline.VerificationError,
        limit="phone-verification",
    )


@require_POST
def phone_verify(request: HttpRequest, token: str) -> JsonResponse:
    code = request.POST.get("code", "")
    return _json_action(
        request,
        token,
        lambda visit: offline.phone_verification_check(visit_id=visit.id, code=code),
        offline.VerificationError,
    )


@require_POST
def ask_for_phone(request: HttpRequest, token: str) -> JsonResponse:
    """ "Call me instead": the clinic calls the patient's verified mobile when it's their turn."""
    return _json_action(
        request,
        token,
        lambda visit: phone_request.visit_ask_for_phone(visit_id=visit.id),
        phone_request.PhoneRequestRefused,
    )


@require_POST
def use_video(request: HttpRequest, token: str) -> JsonResponse:
    """The patient takes back their request for a phone call."""
    return _json_action(
        request,
        token,
        lambda visit: phone_request.visit_use_video(visit_id=visit.id),
        phone_request.PhoneRequestRefused,
    )


@require_GET
def recall_link(request: HttpRequest, link_token: str) -> HttpResponse:
    """The Recall SMS link, once: binds this browser (often the phone that got the SMS) to the
    visit. Opened again, a page that says where the visit continues and shows nothing of it."""
    try:
        claimed = offline.visit_claim_recall_link(link_token=link_token)
    except offline.RecallLinkUsed:
        return render(request, "visits/recall_link_used.html", status=410)
    if claimed is None:
        # The visit has ended (its clinic is named: the link's secret found it) or the link is unknown.
        return errors.link_not_valid(request, clinic=selectors.clinic_of_recall_token(link_token=link_token))
    visit, token = claimed
    bind_visit(request, visit)
    return redirect("patient_wait", token=token)
