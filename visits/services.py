"""Every write to a visit. Each service locks the visit row, asks the lifecycle table for the next
status, records a VisitEvent, and publishes after commit. Views, consumers and tasks call these;
nothing else assigns a status."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from visits import call_guests, call_time, lifecycle, publishing, selectors
from visits.lifecycle import IN_PROGRESS_STATUSES, Actor, Event, Phase, Status
from visits.models import CallParticipant, Visit, VisitEvent, hash_token, new_token
from waitingroom import hours, opening
from waitingroom.models import Clinic

# Fields a transition may change; saved together with update_fields.
TRANSITION_FIELDS = [
    "status",
    "status_changed_at",
    "ready_at",
    "first_called_at",
    "position_when_ready",
    "ended_at",
    "connection_lost",
    "grace_due_at",
    "hold_due_at",
    "idle_due_at",
    "expires_at",
    "call_failed_at",
    "recall_due_at",
    "recall_no_response",
]


class NotInCall(Exception):
    """A staff member tried to leave a call they are not in."""


class AlreadyInCall(Exception):
    """A staff member asked to join a call they are already in (a stale card, a second tab)."""


class CallFull(Exception):
    """A call holds the patient and at most two staff members (a browser mesh of three)."""


MAX_STAFF_IN_CALL = 2


def locked_visit(visit_id: int) -> Visit:
    """The visit row, locked until the transaction ends (the clinic row is not locked)."""
    return Visit.objects.select_for_update(of=("self",)).select_related("clinic").get(pk=visit_id)


def apply_event(
    visit: Visit, event: Event, actor: Actor, *, now: datetime, user: User | None = None
) -> Status:
    """Move a locked visit through one lifecycle transition, with its bookkeeping and event row.
    Returns the status it left. Raises TransitionRefused, changing nothing."""
    source = Status(visit.status)
    target = lifecycle.transition(source, event, actor)
    clinic = visit.clinic
    visit.status = target
    if target != source:
        visit.status_changed_at = now

    if target is Status.WAITING and visit.ready_at is None:
        visit.ready_at = now
        visit.position_when_ready = selectors.queue_position(visit=visit)
    if target is Status.IN_CALL and visit.first_called_at is None:
        visit.first_called_at = now
    # In a call the idle clock runs; elsewhere it doesn't.
    if target is Status.IN_CALL and source is not Status.IN_CALL:
        visit.idle_due_at = now + timedelta(seconds=clinic.idle_seconds)
        visit.call_failed_at = None  # a new call: an earlier failure no longer applies
    elif target is not Status.IN_CALL:
        visit.idle_due_at = None
    if target is not Status.RECALLED:
        visit.recall_due_at = None
        visit.recall_no_response = False
    if target is Status.DISCONNECTED:
        visit.expires_at = now + timedelta(minutes=clinic.recents_expiry_minutes)
    else:
        visit.expires_at = None
    if target in (Status.WAITING, Status.COMPLETED, Status.CANCELLED, Status.EXPIRED, Status.LEFT):
        visit.call_participants.all().delete()
        # The call is over for good: a call guest's part ends too (visits/call_guests.py).
        call_guests.visit_call_over(visit, now=now)
    if visit.is_closed:
        visit.ended_at = now
        visit.grace_due_at = visit.hold_due_at = None
        visit.connection_lost = False

    visit.save(update_fields=TRANSITION_FIELDS)
    VisitEvent.objects.create(
        visit=visit, event=event, from_status=source, to_status=target, actor=actor, user=user, at=now
    )
    if visit.is_closed:
        # Its events are complete now (closed is final): reports read the stored figure.
        call_time.store_time_in_call(visit)
    publishing.visit_changed(visit, before=source, alert=_becomes_ready(source, target))
    return source


def _becomes_ready(source: Status, target: Status) -> bool:
    return target is Status.WAITING and lifecycle.phase_of(source) is Phase.GETTING_READY


# --- Patient arrival and the device check -------------------------------------------------------


class ArrivalRefused(Exception):
    """No new visit: the clinic is closed (`state` says until when) or its queue is full."""

    def __init__(self, message: str, *, full: bool, state: hours.OpenState | None = None) -> None:
        super().__init__(message)
        self.full = full
        self.state = state


def admit(*, clinic_id: int, now: datetime) -> Clinic:
    """Inside the arrival's transaction: lock the clinic's row (FOR NO KEY UPDATE: the visits'
    foreign keys still insert) and refuse unless it is open and has room. Under the lock, a Close
    now or two arrivals racing for the last place are serialised; the count sees every committed
    arrival before it."""
    clinic = (
        Clinic.objects.select_for_update(no_key=True, of=("self",))
        .select_related("closed_now_by")
        .get(pk=clinic_id)
    )
    state = opening.open_state(clinic=clinic, now=now)
    if not state.is_open:
        raise ArrivalRefused("The clinic is closed.", full=False, state=state)
    if selectors.queue_full(clinic=clinic):
        raise ArrivalRefused("The waiting room is full.", full=True)
    return clinic


def visit_start(
    *, clinic: Clinic, patient_name: str, answers: dict[str, str], booked: bool = False
) -> tuple[Visit, str]:
    """A patient submitted the intake form. Returns the visit and its raw token (shown only once,
    in the patient's link). Raises ArrivalRefused when the clinic is closed or its queue full,
    unless the visit is `booked` (a meeting's guest at their appointment: its provider expects
    them, whatever the walk-in hours and cap)."""
    token = new_token()
    now = timezone.now()
    with transaction.atomic():
        if not booked:
            admit(clinic_id=clinic.pk, now=now)
        visit = Visit.objects.create(
            clinic=clinic,
            token_hash=hash_token(token),
            patient_name=patient_name,
            answers=answers,
            booked=booked,
            status=Status.CONNECTING,
            arrived_at=now,
            status_changed_at=now,
        )
        # The audit trail starts at arrival.
        VisitEvent.objects.create(
            visit=visit,
            event="arrive",
            from_status="",
            to_status=Status.CONNECTING,
            actor=Actor.PATIENT,
            at=now,
        )
        publishing.visit_changed(visit, before=None)
    return visit, token


def visit_reissue_token(*, visit: Visit) -> str:
    """A fresh link token for an open visit (a new browser takes it over); the old link stops
    working. The caller holds the row lock."""
    token = new_token()
    visit.token_hash = hash_token(token)
    visit.save(update_fields=["token_hash"])
    # The old link's sockets (the other browser) close: they must no longer act on the visit,
    # hear its chat or answer its call.
    publishing.link_reissued(visit_id=visit.id)
    return token


def visit_media_result(*, visit_id: int, ok: bool) -> None:
    """The wait screen's camera/microphone check finished. A repeated result changes nothing."""
    now = timezone.now()
    with transaction.atomic():
        visit = locked_visit(visit_id)
        if visit.is_closed:
            return
        visit.media_check = Visit.MediaCheck.PASSED if ok else Visit.MediaCheck.FAILED
        visit.save(update_fields=["media_check"])
        event = Event.MEDIA_OK if ok else Event.MEDIA_BLOCKED
        if event in lifecycle.allowed_events(visit.status, Actor.PATIENT):
            apply_event(visit, event, Actor.PATIENT, now=now)
        else:
            publishing.visit_changed(visit, before=Status(visit.status))


def visit_media_check_started(*, visit_id: int) -> None:
    """The patient's device check began (the meetings overview shows it)."""
    with transaction.atomic():
        visit = locked_visit(visit_id)
        if visit.is_closed or visit.media_check == Visit.MediaCheck.IN_PROGRESS:
            return
        visit.media_check = Visit.MediaCheck.IN_PROGRESS
        visit.save(update_fields=["media_check"])
        publishing.visit_changed(visit, before=Status(visit.status))


def visit_call_failed(*, visit_id: int, reason: str, user: User | None = None) -> None:
    """A browser could not set up the video connection: recorded as a call-failed event (no status
    change) and shown on the card. Reported once per call; repeats change nothing."""
    now = timezone.now()
    with transaction.atomic():
        visit = locked_visit(visit_id)
        if visit.status not in IN_PROGRESS_STATUSES or visit.call_failed_at is not None:
            return
        visit.call_failed_at = now
        visit.save(update_fields=["call_failed_at"])
        VisitEvent.objects.create(
            visit=visit,
            event="call_failed",
            from_status=visit.status,
            to_status=visit.status,
            actor=Actor.STAFF if user else Actor.PATIENT,
            user=user,
            at=now,
        )
        publishing.visit_changed(visit, before=Status(visit.status))


# --- Staff actions ------------------------------------------------------------------------------


def visit_call(*, visit_id: int, user: User) -> None:
    """Start the call, or join a call in progress (several staff may be in one call)."""
    now = timezone.now()
    with transaction.atomic():
        visit = locked_visit(visit_id)
        lifecycle.transition(visit.status, Event.CALL, Actor.STAFF)  # refuse before touching anything
        in_call = set(visit.call_participants.values_list("user_id", flat=True))
        if user.pk in in_call:
            # Joining again would record a second CALL event and push the card for nothing.
            raise AlreadyInCall("You are already in this call.")
        if len(in_call) >= MAX_STAFF_IN_CALL:
            raise CallFull("This call already has three people in it.")
        _join_call(visit, user, now)
        apply_event(visit, Event.CALL, Actor.STAFF, now=now, user=user)


def _join_call(visit: Visit, user: User, now: datetime) -> None:
    """One INSERT ... ON CONFLICT DO UPDATE (get_or_create took four statements, a savepoint among
    them, inside the row lock). A staff member still listed from before the patient dropped (Call
    back) joins again from now: a returning patient is let into the call only by staff who joined
    it after the drop (visits/presence.py)."""
    CallParticipant.objects.bulk_create(
        [CallParticipant(visit=visit, user=user, joined_at=now)],
        update_conflicts=True,
        unique_fields=["visit", "user"],
        update_fields=["joined_at"],
    )


def visit_leave_call(*, visit_id: int, user: User) -> None:
    """A staff member leaves the call; the visit becomes available when no staff remain."""
    now = timezone.now()
    with transaction.atomic():
        visit = locked_visit(visit_id)
        lifecycle.transition(visit.status, Event.LEAVE_CALL, Actor.STAFF)
        deleted, _ = CallParticipant.objects.filter(visit=visit, user=user).delete()
        if not deleted:
            raise NotInCall("You are not in this call.")
        if visit.call_participants.exists():
            # Others are still in the call: no status change, but the card's names change.
            VisitEvent.objects.create(
                visit=visit,
                event=Event.LEAVE_CALL,
                from_status=visit.status,
                to_status=visit.status,
                actor=Actor.STAFF,
                user=user,
                at=now,
            )
            publishing.visit_changed(visit, before=Status(visit.status))
        else:
            apply_event(visit, Event.LEAVE_CALL, Actor.STAFF, now=now, user=user)


def visit_call_back(*, visit_id: int, user: User) -> None:
    """Recents: wait in the call for the dropped patient; when they reopen their link they land
    straight in the call."""
    now = timezone.now()
    with transaction.atomic():
        visit = locked_visit(visit_id)
        lifecycle.transition(visit.status, Event.CALL_BACK, Actor.STAFF)
        _join_call(visit, user, now)
        apply_event(visit, Event.CALL_BACK, Actor.STAFF, now=now, user=user)


def _staff_event(event: Event):
    def service(*, visit_id: int, user: User) -> None:
        with transaction.atomic():
            apply_event(locked_visit(visit_id), event, Actor.STAFF, now=timezone.now(), user=user)

    service.__name__ = f"visit_{event.value}"
    return service


visit_end = _staff_event(Event.END)
visit_end.__doc__ = "End the visit: completed, and gone from the waiting room at once."
visit_send_back = _staff_event(Event.SEND_BACK)
visit_send_back.__doc__ = "Back to Ready / waiting, in the original arrival order."
visit_cancel = _staff_event(Event.CANCEL)
visit_cancel.__doc__ = "Cancel the visit; the patient's screen says so."


def visit_patient_leave(*, visit_id: int) -> None:
    with transaction.atomic():
        apply_event(locked_visit(visit_id), Event.PATIENT_LEAVE, Actor.PATIENT, now=timezone.now())


def visit_withdraw(*, visit_id: int) -> None:
    """The appointment behind a waiting visit was cancelled or moved (scheduling's meetings): the
    visit is cancelled and leaves the waiting room; the patient's screen says so."""
    with transaction.atomic():
        apply_event(locked_visit(visit_id), Event.WITHDRAW, Actor.SYSTEM, now=timezone.now())


__all__ = [
    "AlreadyInCall",
    "CallFull",
    "NotInCall",
    "apply_event",
    "locked_visit",
    "visit_call",
    "visit_call_back",
    "visit_call_failed",
    "visit_cancel",
    "visit_end",
    "visit_leave_call",
    "visit_media_check_started",
    "visit_media_result",
    "visit_patient_leave",
    "visit_send_back",
    "visit_start",
    "visit_withdraw",
]
