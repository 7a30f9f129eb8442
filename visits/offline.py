"""Offline queueing: verifying a mobile number, going offline and coming back, and Recall by SMS."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

import phonenumbers
from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from visits import lifecycle, publishing, services
from visits.lifecycle import Actor, Event, Status
from visits.models import PhoneVerification, Visit, hash_token, new_token
from visits.services import apply_event, locked_visit
from waitingroom.outbox.queueing import sms_queue
from waitingroom.sms_limit import CANNOT_TEXT, sms_allowed

CODE_LIFETIME = timedelta(minutes=10)
MAX_ATTEMPTS = 5
SENDS_PER_WINDOW = 3
SEND_WINDOW = timedelta(minutes=15)


class VerificationError(Exception):
    pass


class RecallRefused(Exception):
    """Recall cannot text the patient (the clinic's daily SMS limit). Changes nothing."""


def normalise_phone(raw: str, *, region: str) -> str:
    """E.164 for a mobile number typed by a patient, with the clinic's default country."""
    try:
        number = phonenumbers.parse((raw or "").strip(), region)
    except phonenumbers.NumberParseException as exc:
        raise VerificationError("Enter a valid mobile number.") from exc
    if not phonenumbers.is_valid_number(number):
        raise VerificationError("Enter a valid mobile number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _code_hash(verification_id: int, code: str) -> str:
    # Keyed by the server's secret and bound to this verification row (so to this visit and number).
    message = f"{verification_id}:{code}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def phone_verification_start(*, visit_id: int, raw_phone: str) -> PhoneVerification:
    now = timezone.now()
    with transaction.atomic():
        visit = locked_visit(visit_id)
        clinic = visit.clinic
        if not clinic.offline_queueing or visit.is_closed:
            raise VerificationError("Text-message updates aren't available for this visit.")
        phone = normalise_phone(raw_phone, region=clinic.default_phone_region)
        recent = PhoneVerification.objects.filter(created_at__gte=now - SEND_WINDOW)
        if (
            recent.filter(visit=visit).count() >= SENDS_PER_WINDOW
            or recent.filter(phone=phone).count() >= SENDS_PER_WINDOW
        ):
            raise VerificationError("Too many codes were requested. Please try again in 15 minutes.")
        # Past the clinic's daily SMS ceiling the admins' alert must commit, so the refusal is
        # raised after the block.
        verification = _send_code(visit, phone, now) if sms_allowed(clinic) else None
    if verification is None:
        raise VerificationError(CANNOT_TEXT)
    return verification


def _send_code(visit: Visit, phone: str, now) -> PhoneVerification:
    clinic = visit.clinic
    code = f"{secrets.randbelow(10**6):06d}"
    verification = PhoneVerification.objects.create(
        visit=visit, phone=phone, code_hash="", created_at=now, expires_at=now + CODE_LIFETIME
    )
    verification.code_hash = _code_hash(verification.id, code)
    verification.save(update_fields=["code_hash"])
    sms_queue(
        clinic=clinic,
        reference=f"verify:{verification.id}",
        to=phone,
        body=f"{clinic.name}: your verification code is {code}. It expires in 10 minutes.",
    )
    publishing.visit_changed(visit, before=Status(visit.status))
    return verification


def phone_verification_check(*, visit_id: int, code: str) -> None:
    now = timezone.now()
    with transaction.atomic():
        visit = locked_visit(visit_id)
        verification = PhoneVerification.objects.select_for_update().filter(visit=visit).first()
        if verification is None or verification.used_at or verification.expires_at <= now:
            raise VerificationError("This code has expired or was already used. Request a new one.")
        if verification.attempts >= MAX_ATTEMPTS:
            raise VerificationError("Too many wrong codes. Request a new one.")
        if hmac.compare_digest(_code_hash(verification.id, (code or "").strip()), verification.code_hash):
            verification.used_at = now
            verification.save(update_fields=["used_at"])
            visit.verified_phone = verification.phone
            visit.save(update_fields=["verified_phone"])
            publishing.visit_changed(visit, before=Status(visit.status))
            return
        # A wrong code: the attempt must be committed, so the error is raised after the block
        # (raising inside it would roll the count back and allow unlimited guesses).
        verification.attempts += 1
        verification.save(update_fields=["attempts"])
    left = MAX_ATTEMPTS - verification.attempts
    raise VerificationError(f"That code is not right. {left} {'try' if left == 1 else 'tries'} left.")


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
        body=f"{clinic.name} is ready for you. Please return to your visit now: {link}",
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
