"""Offline queueing: verifying a mobile number, going offline and coming back, and Recall by SMS."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from visits import lifecycle, phone_codes, publishing, selectors, services
from visits.lifecycle import Actor, Event, Status
from visits.models import PhoneVerification, Visit, hash_token, new_token
from visits.phone_codes import VerificationError  # offline queueing's callers catch it from here
from visits.services import apply_event, locked_visit
from waitingroom.outbox.queueing import sms_queue
from waitingroom.sms_limit import sms_allowed


class RecallRefused(Exception):
    """Recall cannot text the patient (the clinic's daily SMS limit). Changes nothing."""


def visit_subject(visit_id: int) -> str:
    """The visit's key in visits/phone_codes.py."""
    return f"visit:{visit_id}"


def phone_verification_start(*, visit_id: int, raw_phone: str) -> PhoneVerification:
    """Text a code to the patient's mobile number (visits/phone_codes.py: its code, limits, storage).
    For offline queueing, and for "Call me instead" (visits/phone_request.py), which calls the
    number verified here."""
    visit = Visit.objects.select_related("clinic").get(pk=visit_id)
    if visit.is_closed or not (visit.clinic.offline_queueing or _phone_call_offered(visit)):
        raise VerificationError("Text-message updates aren't available for this visit.")
    verification = phone_codes.code_send(
        subject=visit_subject(visit.id), clinic=visit.clinic, raw_phone=raw_phone, visit=visit
    )
    with transaction.atomic():
        visit = locked_visit(visit_id)  # the screen shows where the code went
        publishing.visit_changed(visit, before=Status(visit.status))
    return verification


def _phone_call_offered(visit: Visit) -> bool:
    return visit.status == Status.MEDIA_BLOCKED and bool(
        selectors.clinic_voice_number(clinic_id=visit.clinic_id)
    )


def phone_verification_check(*, visit_id: int, code: str) -> None:
    # Checked outside the visit's transaction: a wrong try must commit (phone_codes' rule).
    verification = phone_codes.code_check(subject=visit_subject(visit_id), code=code)
    with transaction.atomic():
        visit = locked_visit(visit_id)
        visit.verified_phone = verification.phone
        visit.save(update_fields=["verified_phone"])
        publishing.visit_changed(visit, before=Status(visit.status))


def can_go_offline(visit: Visit) -> bool:
    return bool(visit.verified_phone) and visit.clinic.offline_queueing and visit.status == Status.WAITING


def visit_visibility(*, visit_id: int, hidden: bool) -> None:
    """The wait screen was hidden (the patient switched away) or shown again."""
    with transaction.atomic():
        visit = locked_visit(visit_id)
        if hidden and can_go_offline(visit):
            apply_event(visit, Event.GO_OFFLINE, Actor.SYSTEM, now=timezone.now())
        elif not hidden and visit.status in (Status.OFFLINE, Status.RECALLED):
            apply_event(visit, Event.RETURN, Actor.PATIENT, now=timezone.now())


def visit_recall(*, visit_id: int, user: User) -> None:
    """Text the patient a link back to their wait screen. May be repeated. Past the clinic's daily
    SMS ceiling nothing changes and RecallRefused says why (raised after the block, so the
    admins' alert commits)."""
    with transaction.atomic():
        visit = locked_visit(visit_id)
        lifecycle.transition(visit.status, Event.RECALL, Actor.STAFF)
        allowed = sms_allowed(visit.clinic)
        if allowed:
            _recall(visit, user)
    if not allowed:
        raise RecallRefused("The clinic's daily SMS limit is reached: the patient can't be texted today.")


def _recall(visit: Visit, user: User) -> None:
    now = timezone.now()
    clinic = visit.clinic
    link_token = new_token()
    visit.recall_count += 1
    visit.recall_token_hash = hash_token(link_token)
    visit.recall_link_used_at = None
    visit.recall_due_at = now + timedelta(minutes=clinic.recall_timeout_minutes)
    visit.recall_no_response = False
    link = settings.PUBLIC_BASE_URL + reverse("patient_recall_link", args=[link_token])
    visit.last_recall_sms = sms_queue(
        clinic=clinic,
        reference=f"recall:{visit.id}:{visit.recall_count}",
        to=visit.verified_phone,
        # The same words as the wait screen the link opens ("The clinic is ready for you"). Not
        # "it's your turn": staff may recall a patient who is not first in line.
        body=(
            f"{clinic.name}: the clinic is ready for you. "
            f"Open your visit within {clinic.recall_timeout_minutes} minutes: {link}"
        ),
    )
    visit.save(
        update_fields=[
            "recall_count",
            "recall_token_hash",
            "recall_link_used_at",
            "recall_due_at",
            "recall_no_response",
            "last_recall_sms",
        ]
    )
    apply_event(visit, Event.RECALL, Actor.STAFF, now=now, user=user)


class RecallLinkUsed(Exception):
    """The Recall link was opened before: the visit is on the browser that opened it first."""


def visit_claim_recall_link(*, link_token: str) -> tuple[Visit, str] | None:
    """The patient opened the Recall SMS link (often on their phone): that browser gets a fresh
    link token for the visit, and the Recall link is used up. A second open, on any device,
    raises RecallLinkUsed (the first browser keeps the visit). None when the link is unknown or
    the visit has ended."""
    with transaction.atomic():
        visit = (
            Visit.objects.select_for_update(of=("self",))
            .filter(recall_token_hash=hash_token(link_token))
            .first()
        )
        if visit is None or visit.is_closed:
            return None
        if visit.recall_link_used_at is not None:
            raise RecallLinkUsed
        visit.recall_link_used_at = timezone.now()
        visit.save(update_fields=["recall_link_used_at"])
        token = services.visit_reissue_token(visit=visit)
    return visit, token
