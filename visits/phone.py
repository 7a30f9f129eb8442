"""Switch to phone: a visit whose video call can't connect (or whose patient asks) goes on over
the masked phone bridge (waitingroom/voice/). The bridge rings the staff member's verified phone,
then the patient's verified mobile, from the clinic's voice number; neither hears the other's
number and the patient's never leaves the server.

- `visit_switch_to_phone`: the card's button (a POST), refused in plain words.
- `call_changed` (settings.VOICE_SUBJECTS["visit"]): every change of the call republishes the
  card; a connected call puts the visit in a call (lifecycle PHONE_CONNECTED) and marks it on the
  phone (Visit.on_phone_since), so presence leaves it alone while the browser is closed; the end
  of the call clears the mark (staff end the visit as usual).
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from visits import lifecycle, publishing, selectors
from visits.lifecycle import Actor, Event, Status
from visits.services import apply_event, locked_visit
from waitingroom.models import FRONTLINE_ROLES, Membership, StaffPhone
from waitingroom.voice import services as voice
from waitingroom.voice.lifecycle import ACTIVE
from waitingroom.voice.models import PhoneCall

SUBJECT = "visit"
# What the staff member hears when they pick up: "Press 1 to be connected to Pat for your video
# visit." (the clinic's name would say nothing they don't know).
SERVICE_LABEL = "your video visit"
RINGING = "A phone call is already ringing or connected for this visit."


class PhoneRefused(Exception):
    """The visit can't be switched to the phone (the message says why, in plain words)."""


def subject_of(visit_id: int) -> str:
    return f"{SUBJECT}:{visit_id}"


def first_name(full_name: str) -> str:
    words = (full_name or "").split()
    return words[0] if words else "the patient"


def visit_switch_to_phone(*, visit_id: int, by: User) -> PhoneCall:
    """Ring `by`'s verified phone, then the patient's verified mobile, for this visit. PhoneRefused
    (changing nothing) unless the visit is in a call (or its video call failed), the patient
    verified a mobile, `by` works the clinic's waiting room with a verified phone of their own,
    the clinic has a voice number, and no phone call of the visit rings or talks already."""
    with transaction.atomic():
        visit = locked_visit(visit_id)
        ringing = visit.phone_call_id is not None and (
            PhoneCall.objects.filter(pk=visit.phone_call_id, status__in=ACTIVE).exists()
        )
        refusal = lifecycle.phone_switch_refusal(
            visit.status,
            verified_phone=bool(visit.verified_phone),
            call_failed=visit.call_failed_at is not None,
            phone_ringing=ringing,
            phone_requested=visit.phone_requested_at is not None,
        )
        if refusal:
            raise PhoneRefused(refusal)
        if not Membership.objects.filter(
            user=by, clinic_id=visit.clinic_id, role__in=FRONTLINE_ROLES
        ).exists():
            raise PhoneRefused("Only the clinic's waiting-room staff can switch a visit to the phone.")
        staff_number = StaffPhone.verified_number(by.pk)
        if not staff_number:
            raise PhoneRefused(
                f"Add and verify your own phone number first ({reverse('account_phone')}): "
                "the call rings it before the patient's."
            )
        from_number = selectors.clinic_voice_number(clinic_id=visit.clinic_id)
        if not from_number:
            raise PhoneRefused("The clinic has no phone number for calls yet: ask a clinic admin to set it.")
        try:
            return voice.call_start(
                clinic=visit.clinic,
                subject=subject_of(visit.pk),
                staff=by,
                staff_number=staff_number,
                client_number=visit.verified_phone,
                from_number=from_number,
                client_first_name=first_name(visit.patient_name),
                service_label=SERVICE_LABEL,
                record=False,
                consent_text="",
            )
        except voice.CallRefused:
            raise PhoneRefused(RINGING) from None


def call_changed(call: PhoneCall, *, what: str) -> None:
    """settings.VOICE_SUBJECTS["visit"], inside the transaction that changed the call (the card is
    pushed after commit). Only the visit's latest call counts."""
    visit = locked_visit(int(call.subject.partition(":")[2]))
    if visit.phone_call_id is not None and visit.phone_call_id > call.pk:
        return  # an older call's late news
    visit.phone_call = call
    if what == voice.Change.CONNECTED and not visit.is_closed:
        visit.on_phone_since = call.connected_at or timezone.now()
        visit.phone_requested_at = None  # "Call me instead" is answered
    elif what == voice.Change.ENDED:
        visit.on_phone_since = None
    visit.save(update_fields=["phone_call", "on_phone_since", "phone_requested_at"])
    if visit.is_closed:
        return
    if what == voice.Change.CONNECTED and Event.PHONE_CONNECTED in lifecycle.allowed_events(
        visit.status, Actor.SYSTEM
    ):
        apply_event(visit, Event.PHONE_CONNECTED, Actor.SYSTEM, now=timezone.now())
    else:
        publishing.visit_changed(visit, before=Status(visit.status))


__all__ = ["PhoneRefused", "call_changed", "visit_switch_to_phone"]
