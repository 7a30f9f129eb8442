"""The month report under a year of a busy clinic (`make bench ARGS="--only reports"`): a clinic
with 100,000 visits spread over a year, with their events, made in bulk SQL (INSERT ... SELECT
generate_series: seconds, not minutes); the report of its last full month rendered through the
view in-process (Django's test client, as the dashboard's query count is taken), p50/p95 over 20
renders (goal <= 300 ms); and the queries of one render at 100 and at 100,000 visits (must be equal).
`--reports-period year` renders the whole year before today instead (the longest period a report
takes); every render's queries are timed too (their sum, and the time-in-call query alone).

`fill_visits` is also what tests/waitingroom/reports/test_report_queries.py builds its clinics with.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from typing import Any

from bench.stats import _round, percentile

RENDERS = 20
# One visit in 20 leaves while waiting, one in 25 is cancelled, one in 30 expires after its call
# dropped; the rest complete. Waits of 0.5-25 minutes, calls of 3-23 minutes. A visit's time in call
# (Visit.time_in_call, what apply_event stores when it closes: visits/call_time.py) is the call until
# it ends, or until the connection is lost for one that expired (EVENTS_SQL); none if never called.
VISITS_SQL = """
INSERT INTO visits_visit (clinic_id, token_hash, patient_name, answers, status, arrived_at,
    status_changed_at, ready_at, first_called_at, ended_at, open_sockets, connection_lost,
    media_check, unread_by_staff, recall_count, recall_no_response, recall_token_hash, verified_phone,
    time_in_call, booked)
SELECT %(clinic)s, md5(%(salt)s || g::text) || md5(g::text || %(salt)s), 'Patient ' || g, '{}'::jsonb,
    s.status, t.arrived, e.ended, r.ready, c.called, e.ended, 0, false, 'passed', 0, 0, false, '', '',
    CASE s.status WHEN 'completed' THEN e.ended - c.called
        WHEN 'expired' THEN (c.called + (e.ended - c.called) / 2) - c.called END,
    false
FROM generate_series(1::bigint, %(count)s) AS g
CROSS JOIN LATERAL (SELECT %(start)s::timestamptz + (g - 1) * (%(span)s::interval / %(count)s) AS arrived) t
CROSS JOIN LATERAL (SELECT CASE WHEN g %% 20 = 0 THEN 'left' WHEN g %% 25 = 0 THEN 'cancelled'
    WHEN g %% 30 = 0 THEN 'expired' ELSE 'completed' END AS status) s
CROSS JOIN LATERAL (SELECT t.arrived + interval '40 seconds' AS ready) r
CROSS JOIN LATERAL (SELECT CASE WHEN s.status IN ('completed', 'expired')
    THEN r.ready + ((g * 7919) %% 1500 + 30) * interval '1 second' END AS called) c
CROSS JOIN LATERAL (SELECT COALESCE(c.called, r.ready + interval '5 minutes')
    + ((g * 104729) %% 1200 + 180) * interval '1 second' AS ended) e
"""
# Each visit's events as visits/services.py records them, for the path its status says.
EVENTS_SQL = """
INSERT INTO visits_visitevent (visit_id, event, from_status, to_status, actor, at)
SELECT v.id, x.event, x.from_status, x.to_status, x.actor, x.at
FROM visits_visit v
CROSS JOIN LATERAL (VALUES
    ('arrive', '', 'connecting', 'patient', v.arrived_at, true),
    ('media_ok', 'connecting', 'waiting', 'patient', v.ready_at, true),
    ('call', 'waiting', 'in_call', 'staff', v.first_called_at, v.first_called_at IS NOT NULL),
    ('end', 'in_call', 'completed', 'staff', v.ended_at, v.status = 'completed'),
    ('patient_leave', 'waiting', 'left', 'patient', v.ended_at, v.status = 'left'),
    ('cancel', 'waiting', 'cancelled', 'staff', v.ended_at, v.status = 'cancelled'),
    ('connection_lost', 'in_call', 'disconnected', 'system',
        v.first_called_at + (v.ended_at - v.first_called_at) / 2, v.status = 'expired'),
    ('recents_expired', 'disconnected', 'expired', 'system', v.ended_at, v.status = 'expired')
) AS x(event, from_status, to_status, actor, at, happened)
WHERE v.clinic_id = %(clinic)s AND x.happened
"""


def fill_visits(clinic_id: int, *, count: int, start: datetime, end: datetime) -> None:
    """`count` closed visits of the clinic arriving evenly from `start` to `end`, with their events."""
    from django.db import connection

    with connection.cursor() as cursor:
        params: dict[str, Any] = {
            "clinic": clinic_id,
            "salt": f"{clinic_id}-",
            "count": count,
            "start": start,
            "span": end - start,
        }
        cursor.execute(VISITS_SQL, params)
        cursor.execute(EVENTS_SQL, {"clinic": clinic_id})
        cursor.execute("ANALYZE visits_visit")
        cursor.execute("ANALYZE visits_visitevent")


def make_report_clinic(visits: int, *, today: date) -> tuple[str, Any]:
    """A clinic with `visits` over the year before `today` and a clinic admin's login."""
    from django.contrib.auth import get_user_model

    from bench.fixtures import staff_login
    from waitingroom.models import Clinic, Membership, Role

    clinic = Clinic.objects.create(
        name=f"Reports {visits}", slug=f"reports-{visits}", time_zone="America/New_York"
    )
    admin = get_user_model().objects.create(username=f"reports-admin-{visits}")
    Membership.objects.create(user=admin, clinic=clinic, role=Role.CLINIC_ADMIN)
    end = datetime.combine(today, datetime.min.time(), tzinfo=clinic.tzinfo)
    fill_visits(clinic.pk, count=visits, start=end - timedelta(days=365), end=end)
    return clinic.slug, staff_login(admin)


def last_full_month(today: date) -> tuple[date, date]:
    last = today.replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last


def whole_year(today: date) -> tuple[date, date]:
    """The year before today: the days the bench's visits arrive on (365 days, within MAX_DAYS)."""
    return today - timedelta(days=365), today - timedelta(days=1)


PERIODS = {"month": last_full_month, "year": whole_year}
# The time-in-call query of visits/reports.py (the one whose rows are per visit, before or after
# the stored field): found in a render's queries by its CTE's name.
IN_CALL_MARK = "per_visit"


def report_queries(client, url: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def reports_run(*, sizes: tuple[int, ...] = (100, 100_000), period: str = "month") -> dict[str, Any]:
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    today = timezone.localdate()
    first, last = PERIODS[period](today)
    results: dict[str, Any] = {
        "period": period,
        "month": f"{first.isoformat()}..{last.isoformat()}",
        "sizes": {},
    }
    for size in sizes:
        t0 = time.monotonic()
        slug, login = make_report_clinic(size, today=today)
        built = time.monotonic() - t0
        client = Client(HTTP_HOST="127.0.0.1")
        client.cookies[settings.SESSION_COOKIE_NAME] = login.session_key
        url = f"/reports/?clinic={slug}&start={first.isoformat()}&end={last.isoformat()}"
        client.get(url)  # warm: templates, imports, the connection
        queries = report_queries(client, url)
        seconds, sql_ms, in_call_ms = [], [], []
        for _ in range(RENDERS):
            t0 = time.monotonic()
            with CaptureQueriesContext(connection) as captured:
                assert client.get(url).status_code == 200
            seconds.append(time.monotonic() - t0)
            # Django's own timing of each statement (its cursor wrapper, in seconds).
            sql_ms.append(sum(float(q["time"]) for q in captured.captured_queries) * 1000)
            in_call_ms.append(
                sum(float(q["time"]) for q in captured.captured_queries if IN_CALL_MARK in q["sql"]) * 1000
            )
        ms = [s * 1000 for s in seconds]
        results["sizes"][str(size)] = {
            "visits": size,
            "build_seconds": round(built, 1),
            "queries": queries,
            "renders": len(ms),
            "p50_ms": _round(percentile(ms, 50)),
            "p95_ms": _round(percentile(ms, 95)),
            "max_ms": _round(max(ms)),
            "sql_p50_ms": _round(percentile(sql_ms, 50)),
            "in_call_sql_p50_ms": _round(percentile(in_call_ms, 50)),
        }
    return results
