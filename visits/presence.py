"""The patient's presence: sockets opening and closing, activity, and the due-time sweep.

A drop is not acted on when it happens: it sets a due time, and the beat sweep applies it if the
patient has not come back by then. Opening a socket clears every pending due time. Presence
changes that nobody needs to see (a reconnect within the grace, activity pings) publish nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from contextlib import nullcontext
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import (
    Case,
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Greatest
from django.utils import timezone

from visits import publishing
from visits.lifecycle import IN_PROGRESS_STATUSES, OPEN_STATUSES, Actor, Event, Status
from visits.models import Visit
from visits.services import apply_event, locked_visit
from waitingroom.models import Clinic

# Statuses in which a lost connection costs the patient their place after the hold window.
HOLDABLE = (Status.CONNECTING, Status.MEDIA_BLOCKED, Status.WAITING)
SWEEP_BATCH = 200
# Statuses in which the wait screen (re)connecting changes nothing anyone sees.
QUIET_OPEN = [s for s in OPEN_STATUSES if s not in (Status.OFFLINE, Status.RECALLED, Status.DISCONNECTED)]


def visit_socket_opened_quietly(*, visit_id: int) -> bool:
    """The common case, a page connecting or reconnecting within the grace: one UPDATE (the row
    lock is the statement's own) and nothing visible changes, so there is nothing to publish.
    False when the visit needs `visit_socket_opened` (it comes back from offline, recalled,
    Recents or a lost connection, or is closed): that one publishes, so it must run once the
    socket has joined its groups."""
    quiet = Visit.objects.filter(pk=visit_id, status__in=QUIET_OPEN, connection_lost=False)
    return bool(
        quiet.update(
            open_sockets=F("open_sockets") + 1, disconnected_at=None, grace_due_at=None, hold_due_at=None
        )
    )


def visit_sockets_opened_quietly(*, visit_ids: list[int]) -> set[int]:
    """`visit_socket_opened_quietly` for one socket per entry (a visit may appear more than
    once): the visits whose sockets were counted. One UPDATE for a lone socket; for a batch, the
    quiet rows locked in one SELECT (in id order, as any other batch locks them) and counted in
    one UPDATE per distinct number of sockets, in one transaction."""
    if len(visit_ids) == 1:
        return set(visit_ids) if visit_socket_opened_quietly(visit_id=visit_ids[0]) else set()
    opened = Counter(visit_ids)
    with transaction.atomic():
        quiet = set(
            Visit.objects.select_for_update()
            .filter(pk__in=list(opened), status__in=QUIET_OPEN, connection_lost=False)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        by_count: dict[int, list[int]] = {}
        for visit_id in quiet:
            by_count.setdefault(opened[visit_id], []).append(visit_id)
        for count, ids in by_count.items():
            Visit.objects.filter(pk__in=ids).update(
                open_sockets=F("open_sockets") + count,
                disconnected_at=None,
                grace_due_at=None,
                hold_due_at=None,
            )
    return quiet


def visit_socket_opened(*, visit_id: int) -> None:
    # A reconnect storm of thousands of sockets costs one round trip each (the quiet case)
    # instead of four.
    if visit_socket_opened_quietly(visit_id=visit_id):
        return
    now = timezone.now()
    with transaction.atomic():
        visit = locked_visit(visit_id)
        if visit.is_closed:
            return
        visit.open_sockets += 1
        was_lost = visit.connection_lost
        visit.disconnected_at = visit.grace_due_at = visit.hold_due_at = None
        visit.connection_lost = False
        visit.save(
            update_fields=[
                "open_sockets",
                "disconnected_at",
                "grace_due_at",
                "hold_due_at",
                "connection_lost",
            ]
        )
        if visit.status in (Status.OFFLINE, Status.RECALLED):
            apply_event(visit, Event.RETURN, Actor.PATIENT, now=now)  # back on the wait screen
        elif visit.status == Status.DISCONNECTED:
            # Back from Recents: straight into the call if staff are still in it.
            event = Event.REJOIN if visit.call_participants.exists() else Event.RESUME
            apply_event(visit, event, Actor.PATIENT, now=now)
        elif was_lost:
            publishing.visit_changed(visit, before=Status(visit.status))


def visit_socket_closed(*, visit_id: int) -> None:
    """The last socket to close starts the reconnect grace (one UPDATE)."""
    visit_sockets_closed(visit_ids=[visit_id])


def visit_sockets_closed(*, visit_ids: list[int]) -> None:
    """One socket closed per entry (a visit may appear more than once), in one UPDATE per
    distinct count (no lock, no other round trip; in practice one): the last socket of a visit
    to close starts its reconnect grace, the clinic's grace read by a subquery in the same
    statement. A reconnect storm's thousands of drops are written a batch at a time
    (visits.consumers)."""
    now = timezone.now()
    grace = Subquery(
        Clinic.objects.filter(pk=OuterRef("clinic_id")).values("reconnect_grace_seconds")[:1],
        output_field=IntegerField(),
    )
    grace_due = ExpressionWrapper(
        Value(now) + ExpressionWrapper(grace * Value(timedelta(seconds=1)), output_field=DurationField()),
        output_field=DateTimeField(),
    )
    by_count: dict[int, list[int]] = {}
    for visit_id, closed in Counter(visit_ids).items():
        by_count.setdefault(closed, []).append(visit_id)
    # All or nothing when it takes more than one statement: a caller may retry the whole batch.
    with transaction.atomic() if len(by_count) > 1 else nullcontext():
        for closed, ids in by_count.items():
            # As many closes one after the other: the last of them leaves no socket open.
            last = Q(open_sockets__lte=closed, status__in=list(OPEN_STATUSES))
            Visit.objects.filter(pk__in=ids).update(
                open_sockets=Greatest(F("open_sockets") - closed, 0),
                disconnected_at=Case(When(last, then=Value(now)), default=F("disconnected_at")),
                grace_due_at=Case(When(last, then=grace_due), default=F("grace_due_at")),
            )


def visit_activity(*, visit_id: int, idle_seconds: int) -> None:
    """The patient's page saw activity. In a call this pushes the idle deadline back with one
    compare-and-set UPDATE (no lock, no publish: activity never fans out); an away patient
    becomes in_call again."""
    now = timezone.now()
    in_call = Visit.objects.filter(pk=visit_id, status=Status.IN_CALL)
    if in_call.update(idle_due_at=now + timedelta(seconds=idle_seconds)):
        return
    if not Visit.objects.filter(pk=visit_id, status=Status.AWAY).exists():
        return
    with transaction.atomic():
        visit = locked_visit(visit_id)
        if visit.status == Status.AWAY:  # still away now that we hold the lock
            apply_event(visit, Event.ACTIVE, Actor.PATIENT, now=now)


# --- The sweep ----------------------------------------------------------------------------------


def _claim(queryset: QuerySet, apply: Callable[[Visit, datetime], None], now: datetime) -> int:
    """Apply `apply` to due rows, locked with SKIP LOCKED so that two sweeps never take the same
    row and a row being changed by a service right now waits for the next sweep."""
    with transaction.atomic():
        visits = list(
            queryset.select_for_update(of=("self",), skip_locked=True)
            .select_related("clinic")
            .order_by("id")[:SWEEP_BATCH]
        )
        for visit in visits:
            apply(visit, now)
    return len(visits)


def _grace_passed(visit: Visit, now: datetime) -> None:
    visit.grace_due_at = None
    visit.save(update_fields=["grace_due_at"])
    if visit.open_sockets > 0:
        return
    if visit.status in IN_PROGRESS_STATUSES:
        apply_event(visit, Event.CONNECTION_LOST, Actor.SYSTEM, now=now)
    elif visit.status == Status.WAITING and visit.verified_phone and visit.clinic.offline_queueing:
        # A verified patient who left keeps their place offline, to be recalled by SMS.
        apply_event(visit, Event.GO_OFFLINE, Actor.SYSTEM, now=now)
    elif visit.status in HOLDABLE:
        # Keeps their place for the hold window, counted from the drop.
        visit.connection_lost = True
        visit.hold_due_at = (visit.disconnected_at or now) + timedelta(
            seconds=visit.clinic.hold_window_seconds
        )
        visit.save(update_fields=["connection_lost", "hold_due_at"])
        publishing.visit_changed(visit, before=Status(visit.status))


def _hold_passed(visit: Visit, now: datetime) -> None:
    visit.hold_due_at = None
    visit.save(update_fields=["hold_due_at"])
    if visit.open_sockets == 0 and visit.status in HOLDABLE:
        apply_event(visit, Event.HOLD_EXPIRED, Actor.SYSTEM, now=now)


def _idle_passed(visit: Visit, now: datetime) -> None:
    visit.idle_due_at = None
    visit.save(update_fields=["idle_due_at"])
    if visit.status == Status.IN_CALL:
        apply_event(visit, Event.IDLE, Actor.SYSTEM, now=now)


def _recents_expired(visit: Visit, now: datetime) -> None:
    if visit.status == Status.DISCONNECTED:
        apply_event(visit, Event.RECENTS_EXPIRED, Actor.SYSTEM, now=now)
    else:
        visit.expires_at = None
        visit.save(update_fields=["expires_at"])


def _recall_unanswered(visit: Visit, now: datetime) -> None:
    visit.recall_due_at = None
    visit.recall_no_response = visit.status == Status.RECALLED
    visit.save(update_fields=["recall_due_at", "recall_no_response"])
    if visit.recall_no_response:
        publishing.visit_changed(visit, before=Status(visit.status))


def sweep_due(*, now: datetime | None = None) -> dict[str, int]:
    """Apply every due timer. Safe to run twice and concurrently."""
    now = now or timezone.now()
    open_visits = Visit.objects.filter(status__in=list(OPEN_STATUSES))
    return {
        "grace": _claim(open_visits.filter(grace_due_at__lte=now), _grace_passed, now),
        "hold": _claim(open_visits.filter(hold_due_at__lte=now), _hold_passed, now),
        "idle": _claim(open_visits.filter(idle_due_at__lte=now), _idle_passed, now),
        "expiry": _claim(open_visits.filter(expires_at__lte=now), _recents_expired, now),
        "recall": _claim(open_visits.filter(recall_due_at__lte=now), _recall_unanswered, now),
    }


__all__ = [
    "sweep_due",
    "visit_activity",
    "visit_socket_closed",
    "visit_socket_opened",
    "visit_socket_opened_quietly",
    "visit_sockets_closed",
    "visit_sockets_opened_quietly",
]
