"""Verifying a mobile number with an SMS code, for whatever needs a verified number: offline
queueing (a visit) and the consultation booking page (a browser's booking key). One code, one set
of limits, one table (PhoneVerification), keyed by a `subject` string the caller makes up
("visit:<id>", "booking:<key>").

- The code is 6 random digits, stored only as an HMAC (keyed by SECRET_KEY, bound to its row), valid
  for 10 minutes and once; 5 wrong tries lock it. Only a subject's latest code counts.
- At most 3 codes per 15 minutes per subject and per number (any subject), and the clinic's daily
  SMS ceiling (waitingroom/sms_limit.py). Per-client-address limits are the caller's
  (waitingroom/ratelimit.py needs the HTTP request).

Call code_send and code_check outside a transaction, as waitingroom.ratelimit.attempt is: a refusal's
records (the wrong try counted, the admins' SMS-limit alert) commit before the error is raised,
which a caller's enclosing transaction would roll back.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import zlib
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from visits.models import PhoneVerification, Visit
from waitingroom.models import Clinic
from waitingroom.outbox.queueing import sms_queue
from waitingroom.sms_limit import CANNOT_TEXT, sms_allowed
from waitingroom.validators import phone_number

CODE_LIFETIME = timedelta(minutes=10)
MAX_ATTEMPTS = 5
SENDS_PER_WINDOW = 3
SEND_WINDOW = timedelta(minutes=15)


class VerificationError(Exception):
    """The code was not sent or not accepted; the message says why, in plain words."""


def normalise_phone(raw: str, *, region: str) -> str:
    """E.164 for a mobile number typed by a patient or client, with the clinic's default country:
    the one rule and words of waitingroom/validators.py, which the intake form's phone question
    applies too (its answer is offered here for the code)."""
    try:
        return phone_number(raw, region=region)
    except ValidationError as error:
        raise VerificationError(error.messages[0]) from None


def masked(number: str, *, digits: int = 4) -> str:
    """A number as pages show it: its last digits only ("•••• 0143"), "" for none. Every page
    that mentions a verified number shows it so; only the bridge ever dials the whole of it."""
    return f"•••• {number[-digits:]}" if number else ""


def _code_hash(verification_id: int, code: str) -> str:
    # Keyed by the server's secret and bound to this verification row (so to its subject and number).
    message = f"{verification_id}:{code}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def _serialise_on(*keys: str) -> None:
    """Transaction-scoped advisory locks, in a fixed order: two sends for one subject or one number
    at once are counted one after the other, so neither slips past the limit. (A visit's sends
    were already serialised on its row; a booking key has no row to lock.)"""
    with connection.cursor() as cursor:
        for key in sorted(set(keys)):
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", [0x70C0DE, zlib.crc32(key.encode()) - 2**31]
            )


def code_send(
    *, subject: str, clinic: Clinic, raw_phone: str, visit: Visit | None = None
) -> PhoneVerification:
    """Text a new code to the number (normalised with the clinic's country). Raises
    VerificationError for a bad number, past a limit, or past the clinic's daily SMS ceiling."""
    phone = normalise_phone(raw_phone, region=clinic.default_phone_region)
    now = timezone.now()
    with transaction.atomic():
        _serialise_on(f"subject:{subject}", f"phone:{phone}")
        recent = PhoneVerification.objects.filter(created_at__gte=now - SEND_WINDOW)
        if (
            recent.filter(subject=subject).count() >= SENDS_PER_WINDOW
            or recent.filter(phone=phone).count() >= SENDS_PER_WINDOW
        ):
            raise VerificationError("Too many codes were requested. Please try again in 15 minutes.")
        # Past the clinic's daily SMS ceiling the admins' alert must commit: raised after the block.
        verification = _send(subject, clinic, phone, visit, now) if sms_allowed(clinic) else None
    if verification is None:
        raise VerificationError(CANNOT_TEXT)
    return verification


def _send(subject: str, clinic: Clinic, phone: str, visit: Visit | None, now: datetime) -> PhoneVerification:
    code = f"{secrets.randbelow(10**6):06d}"
    verification = PhoneVerification.objects.create(
        subject=subject,
        visit=visit,
        phone=phone,
        code_hash="",
        created_at=now,
        expires_at=now + CODE_LIFETIME,
    )
    verification.code_hash = _code_hash(verification.id, code)
    verification.save(update_fields=["code_hash"])
    sms_queue(
        clinic=clinic,
        reference=f"verify:{verification.id}",
        to=phone,
        body=f"{clinic.name}: your verification code is {code}. It expires in 10 minutes.",
    )
    return verification


def code_check(*, subject: str, code: str) -> PhoneVerification:
    """Check a code against the subject's latest one; the used verification (its `phone` is now
    verified) or VerificationError. A wrong code counts towards the lock."""
    now = timezone.now()
    with transaction.atomic():
        verification = PhoneVerification.objects.select_for_update().filter(subject=subject).first()
        if verification is None or verification.used_at or verification.expires_at <= now:
            raise VerificationError("This code has expired or was already used. Request a new one.")
        if verification.attempts >= MAX_ATTEMPTS:
            raise VerificationError("Too many wrong codes. Request a new one.")
        if hmac.compare_digest(_code_hash(verification.id, (code or "").strip()), verification.code_hash):
            verification.used_at = now
            verification.save(update_fields=["used_at"])
            return verification
        # A wrong code: the attempt must be committed, so the error is raised after the block
        # (raising inside it would roll the count back and allow unlimited guesses).
        verification.attempts += 1
        verification.save(update_fields=["attempts"])
    left = MAX_ATTEMPTS - verification.attempts
    raise VerificationError(f"That code is not right. {left} {'try' if left == 1 else 'tries'} left.")


def verified_phone(*, subject: str, within: timedelta, now: datetime | None = None) -> str | None:
    """The number the subject verified in the last `within`, if any (its latest used code)."""
    now = now or timezone.now()
    latest = (
        PhoneVerification.objects.filter(subject=subject, used_at__gt=now - within)
        .order_by("-used_at", "-id")
        .values_list("phone", flat=True)
        .first()
    )
    return latest


def pending_phone(*, subject: str, now: datetime | None = None) -> str | None:
    """The number the subject's latest code went to, while that code can still be entered."""
    now = now or timezone.now()
    latest = PhoneVerification.objects.filter(subject=subject).first()
    if latest is None or latest.used_at or latest.expires_at <= now or latest.attempts >= MAX_ATTEMPTS:
        return None
    return latest.phone
