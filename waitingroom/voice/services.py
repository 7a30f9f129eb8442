"""The phone bridge's writes. Starting a call stores it (one active per subject) and places it
after commit; Twilio's callbacks move it forward only (waitingroom/voice/lifecycle.py). Every
change tells the subject's app through settings.VOICE_SUBJECTS, inside the transaction that made
it, so what that app publishes leaves after commit with the change."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from waitingroom.models import Clinic
from waitingroom.voice.lifecycle import FINAL, CallStatus
from waitingroom.voice.models import PhoneCall


@dataclass(frozen=True)
class InboundRoute:
    """What a subject app answers for a call to a clinic number (settings.VOICE_INBOUND):
    `call_kwargs` are call_start's keyword arguments when the caller is to be connected (the
    return call then goes to the staff member the same masked way, screening included), else
    None and the caller hears `message` (and `clinic_line`, the clinic's own line, if any)."""

    call_kwargs: dict | None
    message: str
    clinic_line: str


class CallRefused(Exception):
    """The call can't be started as asked (the message says why). Changes nothing."""


class Change:
    """What a subject's handler hears (settings.VOICE_SUBJECTS)."""

    PROGRESS = "progress"  # ringing, screening, connecting the client
    CONNECTED = "connected"  # both sides talk (the first time: the consultation starts)
    ENDED = "ended"  # ended or failed: call.outcome says how


def tell_subject(call: PhoneCall, what: str) -> None:
    """Hand a change to the app the call belongs to ("consultation:12" -> the handler named for
    "consultation"). A subject with no handler is a programming error."""
    kind = call.subject.partition(":")[0]
    import_string(settings.VOICE_SUBJECTS[kind])(call, what=what)


def call_start(
    *,
    clinic: Clinic,
    subject: str,
    staff: User,
    staff_number: str,
    client_number: str,
    from_number: str,
    client_first_name: str,
    service_label: str,
    record: bool,
    consent_text: str,
    direction: str = PhoneCall.Direction.OUTBOUND,
) -> PhoneCall:
    """Store a call and place it after commit (the caller's transaction, if any, decides). A second
    call for the same subject while one is active is refused: the partial unique index decides,
    so two presses at once can't both pass."""
    if not (staff_number and client_number and from_number):
        raise CallRefused("A number is missing: the call can't be placed.")
    try:
        with transaction.atomic():
            call = PhoneCall.objects.create(
                clinic=clinic,
                subject=subject,
                direction=direction,
                staff=staff,
                staff_number=staff_number,
                client_number=client_number,
                from_number=from_number,
                client_first_name=client_first_name,
                service_label=service_label,
                record=record,
                consent_text=consent_text if record else "",
                created_at=timezone.now(),
            )
    except IntegrityError:
        raise CallRefused("A call is already ringing or connected for this consultation.") from None
    tell_subject(call, Change.PROGRESS)
    from waitingroom.voice import tasks  # the task module imports this one

    tasks.call_place.delay_on_commit(call.pk)  # type: ignore[attr-defined]  # a DjangoTask under Celery's Django fix-up; typed as Task
    return call


def call_failed(*, call_id: int, outcome: str) -> PhoneCall:
    """End a call that could not go on (Twilio refused it, nobody answered ...). A call already
    ended keeps its first outcome."""
    with transaction.atomic():
        call = PhoneCall.objects.select_for_update().get(pk=call_id)
        if call.status in FINAL:
            return call
        call.status, call.outcome, call.ended_at = CallStatus.FAILED, outcome, timezone.now()
        call.save(update_fields=["status", "outcome", "ended_at"])
        tell_subject(call, Change.ENDED)
    return call
