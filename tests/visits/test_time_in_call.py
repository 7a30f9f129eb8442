"""A visit's time in call is stored when it closes (Visit.time_in_call, visits/call_time.py), and is
what the clinic report computed on every render from the visit's events until then: the old
report's per-visit LATERAL query is kept below as the reference. Also: migration 0011 fills closed
visits from before the field with the same figure, the bench's bulk visits and the demo history
carry it, and the report reads the stored figure (open visits left out).

Visits, lived through the services on a frozen clock (UTC, 2 March 2026):

| visit   | what happens                                                                  | in call |
|---------|-------------------------------------------------------------------------------|---------|
| dropped | call 09:05, connection lost 09:09, Call back 09:11, rejoins 09:12, staff step  | 22 min  |
|         | out 09:20, call again 09:22, end 09:30: 4 + 8 + 2 (stepped out) + 8           |         |
| guest   | call 10:02; a guest invited, asks, admitted, idle (away) 10:10, guest leaves  | 18 min  |
|         | 10:12, active 10:13, a second guest invited 10:15, end 10:20 (its part ends)  |         |
| expired | call 11:00, connection lost 11:07, Recents expire 11:27                       | 7 min   |
| left    | waits, leaves 12:10 (never called)                                            | none    |
| open    | call 13:00, lost 13:04, rejoins 13:06: still in the call                      | none    |
"""

from __future__ import annotations

import importlib
import random
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.db import connection, transaction

from visits import call_guests, services
from visits.lifecycle import IN_PROGRESS_STATUSES, Actor, Event
from visits.models import Visit, VisitEvent
from visits.reports import time_in_call

pytestmark = pytest.mark.django_db

# The report's time-in-call rows as it computed them before the stored field (visits/reports.py
# until docs/performance.md item 21), per visit: the same LATERAL window, statuses and conditions.
OLD_LATERAL_SQL = """
    SELECT v.id, calls.in_call
    FROM visits_visit v
    CROSS JOIN LATERAL (
        SELECT SUM(steps.length) FILTER (WHERE steps.to_status = ANY(%s)) AS in_call
        FROM (
            SELECT e.to_status, LEAD(e.at) OVER (ORDER BY e.at, e.id) - e.at AS length
            FROM visits_visitevent e WHERE e.visit_id = v.id
        ) steps
    ) calls
    WHERE v.clinic_id = %s AND v.first_called_at IS NOT NULL AND calls.in_call IS NOT NULL
"""


def old_lateral(clinic_id: int) -> dict[int, timedelta]:
    with connection.cursor() as cursor:
        cursor.execute(OLD_LATERAL_SQL, [sorted(s.value for s in IN_PROGRESS_STATUSES), clinic_id])
        return dict(cursor.fetchall())


def stored(clinic_id: int) -> dict[int, timedelta | None]:
    return dict(
        Visit.objects.filter(clinic_id=clinic_id, time_in_call__isnull=False).values_list(
            "id", "time_in_call"
        )
    )


def at(hhmm: str) -> datetime:
    hour, minute = map(int, hhmm.split(":"))
    return datetime(2026, 3, 2, hour, minute, tzinfo=UTC)


def step(hhmm: str, action, **kwargs):
    with time_machine.travel(at(hhmm), tick=False):
        return action(**kwargs)


def system(*, visit_id: int, event: Event, actor: Actor = Actor.SYSTEM) -> None:
    """What presence and the sweep apply (visits/presence.py): one transition under the row lock."""
    from django.utils import timezone

    with transaction.atomic():
        services.apply_event(services.locked_visit(visit_id), event, actor, now=timezone.now())


def called(clinic, provider, name: str, arrive: str, call: str) -> int:
    visit, _token = step(arrive, services.visit_start, clinic=clinic, patient_name=name, answers={})
    step(arrive, services.visit_media_result, visit_id=visit.pk, ok=True)
    step(call, services.visit_call, visit_id=visit.pk, user=provider)
    return visit.pk


@pytest.fixture
def lived(clinic_a, provider):
    dropped = called(clinic_a, provider, "Dropped", "09:00", "09:05")
    step("09:09", system, visit_id=dropped, event=Event.CONNECTION_LOST)
    step("09:11", services.visit_call_back, visit_id=dropped, user=provider)
    step("09:12", system, visit_id=dropped, event=Event.REJOIN, actor=Actor.PATIENT)
    step("09:20", services.visit_leave_call, visit_id=dropped, user=provider)
    step("09:22", services.visit_call, visit_id=dropped, user=provider)
    step("09:30", services.visit_end, visit_id=dropped, user=provider)

    guest = called(clinic_a, provider, "Guest", "10:00", "10:02")
    invite = {"visit_id": guest, "user": provider, "name": "Alex", "relation": "interpreter"}
    first, _token = step("10:03", call_guests.guest_invite, **invite, contact="alex@example.com")
    step("10:05", call_guests.guest_ask, guest_id=first.pk)
    step("10:06", call_guests.guest_admit, visit_id=guest, guest_id=first.pk, user=provider)
    step("10:10", system, visit_id=guest, event=Event.IDLE)
    step("10:12", call_guests.guest_leave, guest_id=first.pk)
    step("10:13", system, visit_id=guest, event=Event.ACTIVE, actor=Actor.PATIENT)
    step("10:15", call_guests.guest_invite, **invite, contact="sam@example.com")
    step("10:20", services.visit_end, visit_id=guest, user=provider)

    expired = called(clinic_a, provider, "Expired", "10:58", "11:00")
    step("11:07", system, visit_id=expired, event=Event.CONNECTION_LOST)
    step("11:27", system, visit_id=expired, event=Event.RECENTS_EXPIRED)

    left, _token = step("12:00", services.visit_start, clinic=clinic_a, patient_name="Left", answers={})
    step("12:00", services.visit_media_result, visit_id=left.pk, ok=True)
    step("12:10", services.visit_patient_leave, visit_id=left.pk)

    still_open = called(clinic_a, provider, "Open", "12:58", "13:00")
    step("13:04", system, visit_id=still_open, event=Event.CONNECTION_LOST)
    step("13:06", system, visit_id=still_open, event=Event.REJOIN, actor=Actor.PATIENT)
    return {"dropped": dropped, "guest": guest, "expired": expired, "left": left.pk, "open": still_open}


def test_closing_a_visit_stores_the_time_in_call_the_report_computed_from_its_events(lived, clinic_a):
    times = {name: Visit.objects.get(pk=pk).time_in_call for name, pk in lived.items()}
    assert times == {
        "dropped": timedelta(minutes=22),  # the drop and the Call back wait are not in the call
        "guest": timedelta(minutes=18),  # the guests' events add nothing, away counts
        "expired": timedelta(minutes=7),
        "left": None,  # never called
        "open": None,  # not closed yet: no figure
    }
    # The guests' events were there: invited, asked, admitted, left, invited, and the call's end.
    guest_events = VisitEvent.objects.filter(visit_id=lived["guest"], guest__isnull=False)
    assert guest_events.count() == 6
    assert guest_events.filter(to_status="in_call").count() == 4
    # The same figure as the old LATERAL query, for every closed visit (and that query left the
    # never-called visit out, as the null does).
    old = old_lateral(clinic_a.pk)
    closed = {pk for name, pk in lived.items() if name != "open"}
    assert {pk: old[pk] for pk in closed if pk in old} == stored(clinic_a.pk)
    assert lived["left"] not in old


def test_the_migration_fills_closed_visits_from_their_events_and_leaves_open_ones(lived, clinic_a):
    migration = importlib.import_module("visits.migrations.0011_visit_time_in_call")
    expected = stored(clinic_a.pk)
    assert len(expected) == 3
    Visit.objects.update(time_in_call=None)  # as before the field: closed visits without it
    with connection.cursor() as cursor:
        cursor.execute(migration.BACKFILL_SQL)
    assert stored(clinic_a.pk) == expected
    assert Visit.objects.get(pk=lived["open"]).time_in_call is None
    assert Visit.objects.get(pk=lived["left"]).time_in_call is None
    # The operation that runs it is the migration's own.
    sql_operations = [op for op in migration.Migration.operations if hasattr(op, "sql")]
    assert [op.sql for op in sql_operations] == [migration.BACKFILL_SQL]


def test_the_report_reads_the_stored_time_in_call_and_leaves_open_visits_out(lived, clinic_a):
    since, until = at("00:00"), at("00:00") + timedelta(days=1)
    whole = time_in_call(clinic=clinic_a, since=since, until=until)[None]
    # 7, 18, 22: the open visit's finished intervals (4 minutes) are not counted until it closes.
    assert whole == (timedelta(minutes=18), timedelta(minutes=21, seconds=12), 3)
    Visit.objects.filter(pk=lived["expired"]).update(time_in_call=timedelta(minutes=30))
    assert time_in_call(clinic=clinic_a, since=since, until=until)[None][0] == timedelta(minutes=22)


def test_the_bench_bulk_visits_carry_the_time_in_call_of_their_events(clinic_a):
    from bench.reports import fill_visits

    start = datetime(2026, 1, 1, tzinfo=UTC)
    fill_visits(clinic_a.pk, count=300, start=start, end=start + timedelta(days=30))
    old = old_lateral(clinic_a.pk)
    assert len(old) > 250  # completed and expired ones; left and cancelled never called
    assert stored(clinic_a.pk) == old


def test_the_demo_history_carries_the_time_in_call_of_its_events(clinic_a):
    from visits import demo_history

    rng = random.Random(7)
    day = datetime.combine(date(2026, 3, 2), datetime.min.time(), tzinfo=clinic_a.tzinfo)
    demo_history.create(clinic_a, demo_history.plan_day(rng, day, 200), key="test-history")
    old = old_lateral(clinic_a.pk)
    assert len(old) > 150
    assert stored(clinic_a.pk) == old
