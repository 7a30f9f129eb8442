"""The patient's presence: sockets opening and closing, activity, and the due-time sweep.

A drop is not acted on when it happens: it sets a due time, and the beat sweep applies it if the
patient has not come back by then. Opening a socket clears every pending due time. Presence
changes that nobody needs to see (a reconnect within the grace, activity pings) publish nothing.

Every socket is counted twice by the same statement: on the visit (`open_sockets`, what the
timers read) and under the process that holds it (`ProcessSockets`), so that the sockets of a
process that died without closing them can be counted as closed (visits/leases.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from visits import leases, publishing
from visits.lifecycle import IN_PROGRESS_STATUSES, OPEN_STATUSES, Actor, Event, Status
from visits.models import PresenceLease, ProcessSockets, Visit
from visits.services import apply_event, locked_visit

# Statuses in which a lost connection costs the patient their place after the hold window.
HOLDABLE = (Status.CONNECTING, Status.MEDIA_BLOCKED, Status.WAITING)
SWEEP_BATCH = 200
# Statuses in which the wait screen (re)connecting changes nothing anyone sees.
QUIET_OPEN = [s for s in OPEN_STATUSES if s not in (Status.OFFLINE, Status.RECALLED, Status.DISCONNECTED)]


def visit_socket_opened_quietly(*, visit_id: int) -> bool:
    """The common case, a page connecting or reconnecting within the grace: one statement (the
    row lock is the statement's own) and nothing visible changes, so there is nothing to publish.
    False when the visit needs `visit_socket_opened` (it comes back from offline, recalled,
    Recents or a lost connection, or is closed): that one publishes, so it must run once the
    socket has joined its groups."""
    return bool(_count_quietly({visit_id: 1}))


# One statement counts the sockets on their quiet visits and under this process, so that a
# process killed between two statements cannot leave a socket counted on one side only.
_COUNT_QUIETLY = """
WITH counted AS (
    UPDATE visits_visit AS v
    SET open_sockets = v.open_sockets + c.n,
        disconnected_at = NULL, grace_due_at = NULL, hold_due_at = NULL
    FROM unnest(%(ids)s::bigint[], %(counts)s::integer[]) AS c(id, n)
    WHERE v.id = c.id AND v.status = ANY(%(quiet)s) AND NOT v.connection_lost
    RETURNING v.id, c.n
), mine AS (
    INSERT INTO visits_processsockets (process, visit_id, sockets)
    SELECT %(process)s, id, n FROM counted
    ON CONFLICT (process, visit_id)
    DO UPDATE SET sockets = visits_processsockets.sockets + EXCLUDED.sockets
)
SELECT id FROM counted
"""


def _count_quietly(opened: dict[int, int]) -> set[int]:
    """Count `opened[visit_id]` more sockets on each quiet visit: the visits counted."""
    with connection.cursor() as cursor:
        cursor.execute(
            _COUNT_QUIETLY,
            {
                "ids": list(opened),
                "counts": list(opened.values()),
                "quiet": [str(s) for s in QUIET_OPEN],
                "process": leases.process_id(),
            },
        )
        return {row[0] for row in cursor.fetchall()}


def visit_sockets_opened_quietly(*, visit_ids: list[int]) -> set[int]:
    """`visit_socket_opened_quietly` for one socket per entry (a visit may appear more than
    once): the visits whose sockets were counted. One UPDATE for a lone socket; for a batch, the
    quiet rows locked in one SELECT (in id order, as any other batch locks them) and counted in
    one statement, in one transaction."""
    if len(visit_ids) == 1:
        return set(visit_ids) if visit_socket_opened_quietly(visit_id=visit_ids[0]) else set()
    opened = Counter(visit_ids)
    with transaction.atomic():
        # Locked in id order first, as any other batch locks them (no deadlock between batches).
        list(
            Visit.objects.select_for_update()
            .filter(pk__in=list(opened), status__in=QUIET_OPEN, connection_lost=False)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        return _count_quietly(dict(opened))


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
        _count_on_process(visit.id)
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
            # Back from Recents: straight into the call only if staff pressed Call back since the
            # drop. Those who were in the call then (the card's "Was with") closed their panels when
            # the patient dropped: they are no longer in it, and a patient let into the call they
            # left would wait on an empty call screen.
            dropped_at = visit.status_changed_at
            waiting = visit.call_participants.filter(joined_at__gte=dropped_at).exists()
            visit.call_participants.filter(joined_at__lt=dropped_at).delete()
            apply_event(visit, Event.REJOIN if waiting else Event.RESUME, Actor.PATIENT, now=now)
        elif was_lost:
            publishing.visit_changed(visit, before=Status(visit.status))


def visit_socket_closed(*, visit_id: int) -> None:
    """The last socket to close starts the reconnect grace (one UPDATE)."""
    visit_sockets_closed(visit_ids=[visit_id])


def visit_sockets_closed(*, visit_ids: list[int], process: str | None = None) -> None:
    """One socket closed per entry (a visit may appear more than once), in one statement (no
    lock, no other round trip): the last socket of a visit to close starts its reconnect grace,
    the clinic's grace read in the same statement. Only what `process` (this one by default)
    counted is taken back: the sockets of a process whose lease expired were already counted as
    closed by the sweep. A reconnect storm's thousands of drops are written a batch at a time
    (visits.consumers)."""
    closed = Counter(visit_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            _UNCOUNT,
            {
                "ids": list(closed),
                "counts": list(closed.values()),
                "process": process or leases.process_id(),
                "open": [str(s) for s in OPEN_STATUSES],
                "now": timezone.now(),
            },
        )


# As many closes one after the other: the last of them leaves no socket open and starts the
# grace. SET expressions read the row as it was before the statement.
_UNCOUNT = """
WITH c AS (
    SELECT * FROM unnest(%(ids)s::bigint[], %(counts)s::integer[]) AS c(id, n)
), held AS (
    SELECT s.id AS row_id, s.visit_id, LEAST(s.sockets, c.n) AS n
    FROM visits_processsockets AS s JOIN c ON c.id = s.visit_id
    WHERE s.process = %(process)s AND s.sockets > 0
), mine AS (
    UPDATE visits_processsockets AS s SET sockets = s.sockets - held.n
    FROM held WHERE s.id = held.row_id
    RETURNING held.visit_id, held.n
)
UPDATE visits_visit AS v
SET open_sockets = GREATEST(v.open_sockets - mine.n, 0),
    disconnected_at = CASE WHEN v.open_sockets <= mine.n AND v.status = ANY(%(open)s)
        THEN %(now)s ELSE v.disconnected_at END,
    grace_due_at = CASE WHEN v.open_sockets <= mine.n AND v.status = ANY(%(open)s)
        THEN %(now)s + make_interval(secs => cl.reconnect_grace_seconds) ELSE v.grace_due_at END
FROM mine, waitingroom_clinic AS cl
WHERE v.id = mine.visit_id AND cl.id = v.clinic_id
"""


def _count_on_process(visit_id: int) -> None:
    """One more socket of this visit held by this process (the locked path of an open)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO visits_processsockets (process, visit_id, sockets) VALUES (%s, %s, 1)"
            " ON CONFLICT (process, visit_id)"
            " DO UPDATE SET sockets = visits_processsockets.sockets + 1",
            [leases.process_id(), visit_id],
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
    if visit.open_sockets > 0 or visit.on_phone_since is not None:
        return  # back in time, or talking on the phone (the browser may well be closed)
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
    if visit.status == Status.IN_CALL and visit.on_phone_since is None:  # a phone call is activity
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


def _dead_processes() -> int:
    """The sockets of processes whose lease expired count as closed: the last of a visit starts
    its grace, as a network drop would. Leases are read on the real clock (a sweep given a later
    `now` must not bury live processes), and never this process's own (it is alive)."""
    with transaction.atomic():
        dead = list(
            PresenceLease.objects.select_for_update(skip_locked=True)
            .filter(expires_at__lt=timezone.now())
            .exclude(process=leases.process_id())
            .values_list("process", flat=True)[:SWEEP_BATCH]
        )
        for process in dead:
            held = ProcessSockets.objects.filter(process=process, sockets__gt=0)
            visit_ids = [v for v, n in held.values_list("visit_id", "sockets") for _ in range(n)]
            if visit_ids:
                visit_sockets_closed(visit_ids=visit_ids, process=process)
            ProcessSockets.objects.filter(process=process).delete()
        PresenceLease.objects.filter(process__in=dead).delete()
    return len(dead)


def sweep_due(*, now: datetime | None = None) -> dict[str, int]:
    """Apply every due timer. Safe to run twice and concurrently."""
    dead = _dead_processes()  # first: the graces it starts are due later, never now
    now = now or timezone.now()
    open_visits = Visit.objects.filter(status__in=list(OPEN_STATUSES))
    return {
        "dead_processes": dead,
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
