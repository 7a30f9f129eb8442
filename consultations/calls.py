"""Start Phone Call in a consultation room, through the masked phone bridge (waitingroom/voice/).

- `call_start_for`: the expert holding the claim, with a verified phone of their own, calls the
  client from the clinic's voice number (one call at a time: the bridge refuses a second).
- `call_changed` (settings.VOICE_SUBJECTS): the bridge tells every change of a consultation's call;
  the first connected call starts the consultation, and both sides re-fetch the room's `call` part.
- `return_route` (settings.VOICE_INBOUND): a client calling the clinic's voice number back, from
  their verified number within the consultation's window, is connected to the claimed expert.
- The room's `call` part for both sides: the latest call's progress in words, never a number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from markupsafe import Markup

from consultations import access, publishing, services
from consultations.lifecycle import UPCOMING_STATUSES, Event, Status
from consultations.models import Consultation, ConsultationProfile
from consultations.publishing import Part
from waitingroom.fragments import render_fragment
from waitingroom.models import Role, StaffPhone
from waitingroom.voice import services as voice
from waitingroom.voice.lifecycle import CallStatus, Outcome
from waitingroom.voice.models import PhoneCall

SUBJECT = "consultation"
NO_PHONE = "Add and verify your own phone number to start calls."


def subject_of(consultation_id: int) -> str:
    return f"{SUBJECT}:{consultation_id}"


def first_name(full_name: str) -> str:
    words = (full_name or "").split()
    return words[0] if words else "the client"


def profile_of(clinic_id: int) -> ConsultationProfile | None:
    return ConsultationProfile.objects.filter(clinic_id=clinic_id).first()


def clinic_voice_number(clinic_id: int) -> str:
    """settings.VOICE_CLINIC_NUMBER: the clinic's voice number, "" when it has none (the waiting
    room's Switch to phone calls from it, and may not import this app)."""
    profile = profile_of(clinic_id)
    return profile.voice_number if profile is not None else ""


def _call_kwargs(
    consultation: Consultation, *, staff: User, staff_number: str, profile: ConsultationProfile
) -> dict:
    """call_start's arguments for this consultation (an expert's call or a client's return call)."""
    return {
        "clinic": consultation.clinic,
        "subject": subject_of(consultation.pk),
        "staff": staff,
        "staff_number": staff_number,
        "client_number": consultation.client_phone,
        "from_number": profile.voice_number,
        "client_first_name": first_name(consultation.client_name),
        "service_label": consultation.service.name,
        "record": profile.record_calls,
        "consent_text": profile.consent_text,
    }


@dataclass(frozen=True)
class Offer:
    """Whether the room offers Start Phone Call to a staff member, and if not, why (in words)."""

    allowed: bool
    reason: str = ""
    needs_phone: bool = False


def offer(
    consultation: Consultation,
    *,
    user_id: int,
    role: str | None,
    staff_number: str,
    profile: ConsultationProfile | None,
) -> Offer:
    """One rule for the room's button and the service (which asks it again under the row lock)."""
    if role != Role.PROVIDER or consultation.expert_id != user_id:
        return Offer(False, "Only the expert who claimed this consultation can call the client.")
    if consultation.is_ended:
        return Offer(False, "This consultation has ended: no more calls.")
    if consultation.status not in (Status.CLAIMED, Status.IN_PROGRESS):
        return Offer(False, "Claim this consultation to call the client.")
    if profile is None or not profile.voice_number:
        return Offer(False, "The clinic has no phone number for calls yet: ask a clinic admin to set it.")
    if not staff_number:
        return Offer(False, NO_PHONE, needs_phone=True)
    return Offer(True)


def call_start_for(*, consultation_id: int, by: User, expected_version: int | None) -> PhoneCall:
    """The expert holding the claim starts a call: the bridge rings their phone, then the client's.
    ConsultationRefused (plain words) otherwise, or while a call is ringing or connected."""
    with transaction.atomic():
        consultation = services.locked(consultation_id)
        role = access.room_role(user=by, clinic_id=consultation.clinic_id)
        staff_number = StaffPhone.verified_number(by.pk)
        profile = profile_of(consultation.clinic_id)
        verdict = offer(consultation, user_id=by.pk, role=role, staff_number=staff_number, profile=profile)
        if not verdict.allowed:
            raise services.ConsultationRefused(verdict.reason)
        services.check_version(consultation, expected_version)
        assert profile is not None  # offer() refused without one
        try:
            return voice.call_start(
                **_call_kwargs(consultation, staff=by, staff_number=staff_number, profile=profile)
            )
        except voice.CallRefused as refused:
            raise services.ConsultationRefused(str(refused)) from None


def call_changed(call: PhoneCall, *, what: str) -> None:
    """settings.VOICE_SUBJECTS' handler, inside the transaction that changed the call: the first
    connected call moves a claimed consultation to in progress; every change re-fetches the call
    part, and the recordings (a stored or failed recording tells the call's subject too), on both
    sides (published after commit)."""
    consultation_id = int(call.subject.partition(":")[2])
    consultation = Consultation.objects.get(pk=consultation_id)
    if what == voice.Change.CONNECTED and consultation.status == Status.CLAIMED:
        consultation = services.consultation_start(consultation_id=consultation_id)
    publishing.room_changed(consultation, Part.CALL, Part.RECORDINGS)


def return_route(*, to_number: str, from_number: str, now: datetime) -> voice.InboundRoute | None:
    """settings.VOICE_INBOUND: a call to a clinic's consultation voice number. The client of a
    claimed (or in progress) consultation calling from their verified number within its window is
    connected to the expert, if the expert has a verified phone; anyone else hears the clinic's
    message. None when the number is no clinic's consultation number."""
    profile = ConsultationProfile.objects.select_related("clinic").filter(voice_number=to_number).first()
    if profile is None or not to_number:
        return None
    clinic = profile.clinic
    before = timedelta(minutes=profile.return_window_before_minutes)
    after = timedelta(minutes=profile.return_window_after_minutes)
    # now in [starts_at - before, starts_at + after]  <=>  starts_at in [now - after, now + before]
    candidates = (
        Consultation.objects.select_related("clinic", "service", "expert")
        .filter(
            clinic=clinic,
            client_phone=from_number,
            status__in=[Status.CLAIMED, Status.IN_PROGRESS],
            expert__isnull=False,
            expert__staff_phone__verified_at__isnull=False,
            starts_at__gte=now - after,
            starts_at__lte=now + before,
        )
        .order_by("starts_at", "pk")
    )
    match = min(candidates, key=lambda c: abs(c.starts_at - now), default=None) if from_number else None
    line = profile.clinic_phone_line
    if match is None:
        # The bridge reads the clinic's line out after the message (digit by digit): said once.
        message = f"This number is for {clinic.name}'s phone consultations." + (
            "" if line else " Please use the link in your booking email."
        )
        return voice.InboundRoute(call_kwargs=None, message=message, clinic_line=line)
    assert match.expert is not None
    kwargs = _call_kwargs(
        match, staff=match.expert, staff_number=StaffPhone.verified_number(match.expert_id), profile=profile
    )
    kwargs["direction"] = PhoneCall.Direction.RETURN
    return voice.InboundRoute(call_kwargs=kwargs, message="", clinic_line=line)


# --- The room's call part ------------------------------------------------------------------------


def latest_call(consultation: Consultation) -> PhoneCall | None:
    return (
        PhoneCall.objects.filter(subject=subject_of(consultation.pk)).order_by("-created_at", "-id").first()
    )


def _timing(call: PhoneCall) -> dict:
    duration = call.duration_seconds
    if duration is None and call.connected_at and call.ended_at:
        duration = int((call.ended_at - call.connected_at).total_seconds())
    return {
        "since": int(call.connected_at.timestamp()) if call.connected_at else None,
        "duration": duration,
        "connected": call.connected_at is not None,
    }


def _progress(call: PhoneCall | None, *, client_name: str, clinic_name: str, for_client: bool) -> dict:
    """The call's state as the page words it, with one flag per state (templates compare no
    status strings)."""
    words = _words(call, client_name=client_name, clinic_name=clinic_name, for_client=for_client)
    state = words.pop("state")
    flags = {f"is_{name}": state == name for name in ("none", "ringing", "in_call", "ended", "failed")}
    return {**words, **flags}


def _words(call: PhoneCall | None, *, client_name: str, clinic_name: str, for_client: bool) -> dict:
    if call is None:
        return {"state": "none", "words": ""}
    status = CallStatus(call.status)
    timing = _timing(call)
    if status == CallStatus.IN_CALL:
        return {"state": "in_call", "words": "In call", **timing}
    if status == CallStatus.ENDED:
        return {"state": "ended", "words": "Call ended" if for_client else "Ended", **timing}
    if status == CallStatus.FAILED:
        if for_client:
            return {"state": "ended", "words": "Call ended", **timing}
        return {"state": "failed", "words": Outcome(call.outcome or Outcome.ERROR).label, **timing}
    if for_client:
        if status == CallStatus.CONNECTING_CLIENT:
            return {"state": "ringing", "words": f"{clinic_name} is calling you…"}
        return {"state": "ringing", "words": f"{clinic_name} will call you in a moment…"}
    words = {
        CallStatus.QUEUED: "Calling your phone…",
        CallStatus.CALLING_STAFF: "Calling your phone…",
        CallStatus.SCREENING: f"Press 1 on your phone to connect {first_name(client_name)}…",
        CallStatus.CONNECTING_CLIENT: f"Connecting {client_name}…",
    }[status]
    return {"state": "ringing", "words": words}


def staff_part(
    viewer: access.StaffViewer, *, part_url: str, start_url: str, complete_url: str, phone_url: str, request
) -> Markup:
    consultation = viewer.consultation
    call = latest_call(consultation)
    verdict = offer(
        consultation,
        user_id=viewer.user.pk,
        role=viewer.role,
        staff_number=StaffPhone.verified_number(viewer.user.pk),
        profile=profile_of(consultation.clinic_id),
    )
    progress = _progress(
        call, client_name=consultation.client_name, clinic_name=consultation.clinic.name, for_client=False
    )
    active = call is not None and call.is_active
    may_complete = Event.COMPLETE in access.staff_actions(
        role=viewer.role, user_id=viewer.user.pk, consultation=consultation, now=timezone.now()
    )
    return render_fragment(
        "consultations/_call.html",
        {
            "side": "staff",
            "c": consultation,
            "part_url": part_url,
            "progress": progress,
            "offer": verdict,
            "may_start": verdict.allowed and not active,
            "start_label": "Retry" if progress["is_failed"] else "Start Phone Call",
            "start_url": start_url,
            "phone_url": phone_url,
            "offer_complete": progress["is_ended"] and may_complete,
            "complete_url": complete_url,
        },
        request=request,
    )


def client_part(consultation: Consultation, *, part_url: str) -> Markup:
    progress = _progress(
        latest_call(consultation),
        client_name=consultation.client_name,
        clinic_name=consultation.clinic.name,
        for_client=True,
    )
    return render_fragment(
        "consultations/_call.html",
        {
            "side": "client",
            "c": consultation,
            "part_url": part_url,
            "progress": progress,
            # A completed or cancelled consultation has no call coming.
            "call_expected": consultation.status in UPCOMING_STATUSES,
        },
    )
