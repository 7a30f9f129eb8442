"""The phone bridge's writes. Starting a call stores it (one active per subject) and places it
after commit; Twilio's callbacks move it forward only (waitingroom/voice/lifecycle.py). Every
change tells the subject's app through settings.VOICE_SUBJECTS, inside the transaction that made
it, so what that app publishes leaves after commit with the change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string

from waitingroom.models import Clinic
from waitingroom.voice.lifecycle import FINAL, CallStatus, Outcome, moves_forward
from waitingroom.voice.models import PhoneCall, PhoneCallEvent, Recording


class CallRefused(Exception):
    """The call can't be started as asked (the message says why). Changes nothing."""


class NotThisCall(Exception):
    """A callback names a CallSid that is not one of the call's legs (it is another call's, or
    the call's legs are both known and it is neither). Changes nothing: the webhook answers 400."""


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
    client_call_sid: str = "",
) -> PhoneCall:
    """Store a call and place it after commit (the caller's transaction, if any, decides). A second
    call for the same subject while one is active is refused: the partial unique index decides,
    so two presses at once can't both pass. A return call (the client called in, client_call_sid
    is their leg) is not placed: the inbound webhook's TwiML dials the staff member already."""
    returning = direction == PhoneCall.Direction.RETURN
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
                client_call_sid=client_call_sid,
                status=CallStatus.CALLING_STAFF if returning else CallStatus.QUEUED,
                created_at=timezone.now(),
            )
    except IntegrityError:
        raise CallRefused("A call is already ringing or connected for this consultation.") from None
    tell_subject(call, Change.PROGRESS)
    if returning:
        return call
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


# A call still QUEUED this long was never placed (its task was lost with a worker, or never ran):
# it fails, so the screens offer Retry, instead of blocking its subject's next call for ever.
# Placing it again instead could ring the staff member twice if the first attempt is still on
# its way to Twilio.
UNPLACED_AFTER = timedelta(minutes=2)
# A call Twilio never reported as finished (its last callback lost) ends after this.
UNFINISHED_AFTER = timedelta(hours=4)


def calls_sweep(*, now: datetime) -> int:
    """Beat: fail calls that were never placed and end calls whose end Twilio never reported.
    The listing is read without locks, so each call is judged again under its own lock: a
    callback that moved it meanwhile wins. A call with its staff leg's sid was placed (Twilio
    answered calls.create): its callbacks are late, not lost, until UNFINISHED_AFTER."""
    unplaced = Q(status=CallStatus.QUEUED, staff_call_sid="", created_at__lte=now - UNPLACED_AFTER)
    unfinished = Q(created_at__lte=now - UNFINISHED_AFTER) & ~Q(status__in=FINAL)
    stale = list(PhoneCall.objects.filter(unplaced | unfinished).values_list("pk", flat=True))
    failed = 0
    for call_id in stale:
        with transaction.atomic():
            call = _locked(call_id)
            if PhoneCall.objects.filter(unplaced | unfinished, pk=call.pk).exists():
                _fail(call, Outcome.ERROR, now=now)
                failed += 1
    return failed


# --- Twilio's callbacks ------------------------------------------------------------------------
# Each one is kept once (PhoneCallEvent: a repeat changes nothing) and may only move the call
# forward (lifecycle.moves_forward: a late "ringing" after "completed" changes nothing). They run
# under the call's row lock, so two callbacks of one call at once are applied one after the other.

STAFF_RINGING = frozenset({"initiated", "ringing"})
STAFF_ANSWERED = frozenset({"in-progress", "answered"})
LEG_OVER = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})
DIAL_FAILED = {
    "busy": Outcome.CLIENT_BUSY,
    "no-answer": Outcome.CLIENT_NO_ANSWER,
    "failed": Outcome.CLIENT_FAILED,
    "canceled": Outcome.CANCELED,
}
CHANGE_FOR = {
    CallStatus.CALLING_STAFF: Change.PROGRESS,
    CallStatus.SCREENING: Change.PROGRESS,
    CallStatus.CONNECTING_CLIENT: Change.PROGRESS,
    CallStatus.IN_CALL: Change.CONNECTED,
    CallStatus.ENDED: Change.ENDED,
    CallStatus.FAILED: Change.ENDED,
}


def _locked(call_id: int) -> PhoneCall:
    return PhoneCall.objects.select_for_update(of=("self",)).select_related("clinic").get(pk=call_id)


def _check_leg(call: PhoneCall, sid: str) -> None:
    """The signature proves Twilio sent the callback, not that it is about this call: a callback
    to call A's URL naming call B's leg (a mis-wired URL, a replay under another call's path, a bug
    of ours) must neither move A nor let A claim B's leg. A sid not yet known is claimed only if
    no other call has it."""
    if sid in (call.staff_call_sid, call.client_call_sid):
        return
    both_known = bool(call.staff_call_sid and call.client_call_sid)
    if both_known or (
        PhoneCall.objects.filter(Q(staff_call_sid=sid) | Q(client_call_sid=sid)).exclude(pk=call.pk).exists()
    ):
        raise NotThisCall("CallSid is not one of this call's legs")


def _once(call: PhoneCall, *, kind: str, call_sid: str, value: str) -> bool:
    """Keep the callback; False when it came before (then it changes nothing)."""
    _, created = PhoneCallEvent.objects.get_or_create(
        call=call, kind=kind, call_sid=call_sid, value=value, defaults={"at": timezone.now()}
    )
    return created


def _move(call: PhoneCall, status: str, **fields: Any) -> bool:
    """Move the call forward to `status` (with `fields`) and tell its subject; False (nothing
    changed) when that would be a step back or the call is over."""
    if not moves_forward(call.status, status):
        return False
    call.status = status
    for name, value in fields.items():
        setattr(call, name, value)
    call.save(update_fields=["status", *fields])
    tell_subject(call, CHANGE_FOR[CallStatus(status)])
    return True


def _connect(call: PhoneCall, at: datetime) -> None:
    """Both sides talk (the first time only: a later report keeps connected_at)."""
    if call.connected_at is None:
        _move(call, CallStatus.IN_CALL, connected_at=at)


def _end(call: PhoneCall, *, now: datetime, duration: int | None = None) -> None:
    """The connected call is over: its duration is Twilio's when given, else measured here."""
    if duration is None and call.connected_at is not None:
        duration = max(0, int((now - call.connected_at).total_seconds()))
    _move(call, CallStatus.ENDED, outcome=Outcome.COMPLETED, ended_at=now, duration_seconds=duration)


def _fail(call: PhoneCall, outcome: str, *, now: datetime) -> None:
    _move(call, CallStatus.FAILED, outcome=outcome, ended_at=now)


def _claim_sid(call: PhoneCall, field: str, sid: str) -> None:
    """Remember a leg's CallSid the first time Twilio names it (the callback may come before
    calling.place stored what calls.create answered)."""
    if sid and not getattr(call, field):
        setattr(call, field, sid)
        call.save(update_fields=[field])


def staff_status(*, call_id: int, call_sid: str, status: str, duration: int | None = None) -> PhoneCall:
    """The staff leg's status callback (outbound calls: the leg calls.create placed)."""
    now = timezone.now()
    with transaction.atomic():
        call = _locked(call_id)
        _check_leg(call, call_sid)
        if not _once(call, kind="staff-status", call_sid=call_sid, value=status):
            return call
        _claim_sid(call, "staff_call_sid", call_sid)
        if status in STAFF_RINGING:
            _move(call, CallStatus.CALLING_STAFF)
        elif status in STAFF_ANSWERED:
            _move(call, CallStatus.SCREENING)
        elif status in LEG_OVER:
            if call.connected_at is not None:
                _end(call, now=now)
            elif call.status == CallStatus.CONNECTING_CLIENT:
                _fail(call, Outcome.CANCELED, now=now)  # hung up while the client's phone rang
            else:
                _fail(call, Outcome.STAFF_NO_ANSWER, now=now)
    return call


def answer_fetched(*, call_id: int, call_sid: str) -> PhoneCall:
    """The staff member picked up (Twilio fetched the screening TwiML): screening starts."""
    with transaction.atomic():
        call = _locked(call_id)
        _check_leg(call, call_sid)
        if _once(call, kind="answer", call_sid=call_sid, value=""):
            _claim_sid(call, "staff_call_sid", call_sid)
            _move(call, CallStatus.SCREENING)
    return call


def gather(*, call_id: int, call_sid: str, digits: str) -> PhoneCall:
    """The screening's result. 1: connect (outbound: dial the client; return: the client is on
    the line, so they talk now). Nothing (a voicemail box) or another key: the staff member did
    not answer. The caller answers TwiML from the call's state: a repeat changes nothing."""
    now = timezone.now()
    with transaction.atomic():
        call = _locked(call_id)
        _check_leg(call, call_sid)
        if not _once(call, kind="gather", call_sid=call_sid, value=digits or "none"):
            return call
        if digits != "1":
            if call.connected_at is None:
                _fail(call, Outcome.STAFF_NO_ANSWER, now=now)
        elif call.direction == PhoneCall.Direction.RETURN:
            _connect(call, now)
        else:
            _move(call, CallStatus.CONNECTING_CLIENT)
    return call


def may_connect(call: PhoneCall) -> bool:
    """Whether the screening's 1 still leads to a connection (the call was not ended meanwhile)."""
    return call.status in (CallStatus.CONNECTING_CLIENT, CallStatus.IN_CALL)


def whisper(*, call_id: int, call_sid: str) -> PhoneCall:
    """The client picked up the dialled leg (Twilio fetched the whisper): they talk now."""
    now = timezone.now()
    with transaction.atomic():
        call = _locked(call_id)
        _check_leg(call, call_sid)
        if _once(call, kind="whisper", call_sid=call_sid, value=""):
            _claim_sid(call, "client_call_sid", call_sid)
            _connect(call, now)
    return call


def dial_result(
    *, call_id: int, call_sid: str, dial_call_sid: str, dial_status: str, duration: int | None
) -> PhoneCall:
    """The <Dial>'s result (DialCallStatus). Outbound the dialled side is the client: answered /
    completed mean they talked (completed ends the call with Twilio's DialCallDuration);
    busy, no-answer, failed, canceled are the client's outcome. For a return call the dialled
    side is the staff member: anything but a connected call is "did not answer" (or cancelled,
    when the client hung up first)."""
    now = timezone.now()
    with transaction.atomic():
        call = _locked(call_id)
        for sid in filter(None, (call_sid, dial_call_sid)):
            _check_leg(call, sid)
        if not _once(call, kind="dial-result", call_sid=dial_call_sid, value=dial_status):
            return call
        returning = call.direction == PhoneCall.Direction.RETURN
        if dial_status in ("answered", "completed") and (call.connected_at or not returning):
            _connect(call, now - timedelta(seconds=duration or 0))
            if dial_status == "completed":
                _end(call, now=now, duration=duration)
        elif dial_status == "canceled":
            _fail(call, Outcome.CANCELED, now=now)
        elif returning:
            _fail(call, Outcome.STAFF_NO_ANSWER, now=now)
        elif dial_status in DIAL_FAILED:
            _fail(call, DIAL_FAILED[dial_status], now=now)
    return call


def recording_status(
    *, call_id: int, call_sid: str, recording_sid: str, status: str, duration: int | None
) -> None:
    """The recordingStatusCallback: a completed recording is announced (fetched later by a sweep)."""
    with transaction.atomic():
        call = _locked(call_id)
        _check_leg(call, call_sid)
        if not _once(call, kind="recording", call_sid=recording_sid, value=status):
            return
    if status == "completed":
        recording_announced(call_id=call_id, recording_sid=recording_sid, duration_seconds=duration)


def recording_announced(*, call_id: int, recording_sid: str, duration_seconds: int | None) -> Recording:
    """Twilio has a recording of the call: keep it as pending, due now, for the recordings sweep
    (waitingroom/voice/recordings.py) to fetch. A repeat (same recording_sid) changes nothing."""
    now = timezone.now()
    with transaction.atomic():
        call = _locked(call_id)
        recording, created = Recording.objects.get_or_create(
            recording_sid=recording_sid,
            defaults={
                "call": call,
                "status": Recording.Status.PENDING,
                "duration_seconds": duration_seconds,
                "next_try_at": now,
                "created_at": now,
            },
        )
        if created:
            tell_subject(call, Change.PROGRESS)
    return recording


# --- Calls to a clinic's number ----------------------------------------------------------------


@dataclass(frozen=True)
class InboundRoute:
    """What a route (settings.VOICE_INBOUND) says of a call to one of its numbers: call_kwargs
    (call_start's keyword arguments) when the caller is expected, and what anyone else hears."""

    call_kwargs: dict[str, Any] | None
    message: str
    clinic_line: str = ""


def inbound(
    *, call_sid: str, to_number: str, from_number: str, now: datetime
) -> tuple[PhoneCall | None, InboundRoute | None]:
    """A call to a clinic's number: the first route that knows the number decides. An expected
    caller starts a return call (the staff member is dialled by the TwiML answered); a repeat of
    the webhook (same CallSid) finds the call it started."""
    existing = PhoneCall.objects.filter(
        direction=PhoneCall.Direction.RETURN, client_call_sid=call_sid
    ).first()
    if existing is not None:
        return existing, None
    route = None
    for path in settings.VOICE_INBOUND:
        route = import_string(path)(to_number=to_number, from_number=from_number, now=now)
        if route is not None:
            break
    if route is None or not route.call_kwargs:
        return None, route
    kwargs = {**route.call_kwargs, "direction": PhoneCall.Direction.RETURN, "client_call_sid": call_sid}
    try:
        with transaction.atomic():
            return call_start(**kwargs), route
    except CallRefused:
        return None, route  # a call for this subject is already ringing or connected
