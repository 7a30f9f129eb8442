""" "Call me instead": a patient whose camera is blocked asks the clinic to phone them when it's
their turn, over the masked phone bridge (visits/phone.py: staff press Switch to phone on the card).

- Offered only where the clinic places phone calls (it has a voice number:
  selectors.clinic_voice_number, the number Switch to phone dials from), and only to a patient
  who verified a mobile number (the offline-queueing SMS code, visits/offline.py and
  visits/phone_codes.py: the screen asks for it first).
- `visit_ask_for_phone`: from the blocked device check the patient joins the line (lifecycle
  ASK_FOR_PHONE: media_blocked -> waiting), keeping the place their arrival gave them; the card
  says "Asks for a phone call" beside Switch to phone.
- `visit_use_video`: the patient takes the request back ("Use video after all").

Both refuse in plain words, changing nothing: a closed visit, a status the request does not fit, a
clinic without a voice number, no verified number, a repeated press.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from visits import selectors
from visits.lifecycle import Actor, Event, Status
from visits.models import Visit
from visits.services import apply_event, locked_visit

ASK_STATUSES = (Status.MEDIA_BLOCKED, Status.WAITING)


class PhoneRequestRefused(Exception):
    """The request can't be made or taken back now (the message says why, in plain words)."""


def ask_refusal(visit: Visit) -> str:
    """Why this visit's patient can't ask for a phone call now ("" when they can)."""
    if visit.is_closed:
        return "This visit has ended."
    if visit.phone_requested_at is not None:
        return "You've already asked the clinic to call you. You keep your place in line."
    if visit.status not in ASK_STATUSES:
        return "You can ask for a phone call only while you wait for your turn."
    if not selectors.clinic_voice_number(clinic_id=visit.clinic_id):
        return "This clinic can't call you by phone. You can still join by video or audio only."
    if not visit.verified_phone:
        return "Verify your mobile number first: the clinic calls the number you verified."
    return ""


def visit_ask_for_phone(*, visit_id: int) -> None:
    """The patient asks the clinic to call their verified mobile when it's their turn. From the
    blocked device check this puts them in line (arrival order: their place is kept)."""
    with transaction.atomic():
        visit = locked_visit(visit_id)
        refusal = ask_refusal(visit)
        if refusal:
            raise PhoneRequestRefused(refusal)
        now = timezone.now()
        visit.phone_requested_at = now
        visit.save(update_fields=["phone_requested_at"])
        apply_event(visit, Event.ASK_FOR_PHONE, Actor.PATIENT, now=now)


def visit_use_video(*, visit_id: int) -> None:
    """The patient takes back their request for a phone call: they wait for a video visit."""
    with transaction.atomic():
        visit = locked_visit(visit_id)
        if visit.is_closed:
            raise PhoneRequestRefused("This visit has ended.")
        if visit.phone_requested_at is None or visit.status != Status.WAITING:
            raise PhoneRequestRefused("You haven't asked for a phone call, so there is nothing to take back.")
        visit.phone_requested_at = None
        visit.save(update_fields=["phone_requested_at"])
        apply_event(visit, Event.USE_VIDEO, Actor.PATIENT, now=timezone.now())


__all__ = ["PhoneRequestRefused", "ask_refusal", "visit_ask_for_phone", "visit_use_video"]
