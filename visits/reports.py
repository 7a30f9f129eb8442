"""The waiting room's report sections (settings.REPORT_SECTIONS; waitingroom/reports/charts.py):
visits per day and per hour, the wait from ready to first call, time in call, how visits ended,
and recall SMS. Every figure is of the visits that *arrived* in the period (by `arrived_at`, in the
clinic's time zone), aggregated in SQL: six queries whatever the number of visits."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime

from django.db import connection
from django.db.models import Count, DurationField, ExpressionWrapper, F
from django.db.models.functions import ExtractHour, TruncDate

from visits.lifecycle import Status
from visits.models import Visit
from waitingroom.models import Clinic
from waitingroom.outbox.models import SmsMessage
from waitingroom.reports.charts import (
    Chart,
    Percentile,
    Series,
    bounds,
    count,
    day_axis,
    day_label,
    days,
    fmt_minutes,
    hour_label,
    minutes,
    per_day,
    percent,
    total,
)

# How visits ended (visits/lifecycle.py CLOSED_STATUSES), in the order the chart shows them.
OUTCOMES = [
    (Status.COMPLETED, "Completed"),
    (Status.LEFT, "Left"),
    (Status.CANCELLED, "Cancelled"),
    (Status.EXPIRED, "Expired"),
]
# Ready (Visit.ready_at: first became waiting) to first call (Visit.first_called_at: first in
# call), as visits/services.py apply_event sets them. A visit never called (it left or was
# cancelled while waiting) has no wait to count: it is left out, not counted as zero.
WAIT = ExpressionWrapper(F("first_called_at") - F("ready_at"), output_field=DurationField())


def sections(*, clinic: Clinic, start: date, end: date) -> list[Chart]:
    tz = clinic.tzinfo
    since, until = bounds(tz, start, end)
    visits = Visit.objects.filter(clinic=clinic, arrived_at__gte=since, arrived_at__lt=until)
    by_day_status = list(
        visits.annotate(day=TruncDate("arrived_at", tzinfo=tz))
        .values_list("day", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    by_hour = dict(
        visits.annotate(hour=ExtractHour("arrived_at", tzinfo=tz))
        .values_list("hour")
        .annotate(n=Count("id"))
        .order_by()
    )
    called = visits.filter(ready_at__isnull=False, first_called_at__isnull=False)
    wait_by_day = list(
        called.annotate(day=TruncDate("arrived_at", tzinfo=tz))
        .values_list("day")
        .annotate(p50=Percentile(WAIT, 0.5), p90=Percentile(WAIT, 0.9))
        .order_by()
    )
    wait = called.aggregate(p50=Percentile(WAIT, 0.5), p90=Percentile(WAIT, 0.9), n=Count("id"))
    in_call = time_in_call(clinic=clinic, since=since, until=until)
    recalls = list(
        SmsMessage.objects.filter(
            clinic=clinic, created_at__gte=since, created_at__lt=until, reference__startswith="recall:"
        )
        .annotate(day=TruncDate("created_at", tzinfo=tz))
        .values_list("day", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    return [
        _per_day(start, end, by_day_status),
        _per_hour(by_hour),
        _wait(start, end, wait_by_day, wait),
        _in_call(start, end, in_call),
        _outcomes(by_day_status),
        _recalls(start, end, recalls),
    ]


def time_in_call(*, clinic: Clinic, since: datetime, until: datetime) -> dict[date | None, tuple]:
    """Time in call per visit, as stored when the visit closed (Visit.time_in_call, visits/call_time.py:
    the sum of the intervals its events spent in an In Progress status). Median and 90th percentile
    per arrival day, and for the period (the key None), with the number of visits: one query.
    Open visits have no stored figure yet and are left out, as are visits never called.

    Until item 21 of docs/performance.md this read each visit's events through a LATERAL window
    (one index probe per visit of the period: about 0.6 s for a year of 100,000 visits); now it
    aggregates one column of the period's visits."""
    sql = f"""
        WITH per_visit AS (
            SELECT (v.arrived_at AT TIME ZONE %s)::date AS day, v.time_in_call AS in_call
            FROM {Visit._meta.db_table} v
            WHERE v.clinic_id = %s AND v.arrived_at >= %s AND v.arrived_at < %s
                AND v.time_in_call IS NOT NULL
        )
        SELECT day, percentile_cont(0.5) WITHIN GROUP (ORDER BY in_call),
               percentile_cont(0.9) WITHIN GROUP (ORDER BY in_call), COUNT(*)
        FROM per_visit GROUP BY GROUPING SETS ((day), ())
    """  # noqa: S608 - the table name from the model, values as parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, [clinic.time_zone, clinic.pk, since, until])
        return {day: (p50, p90, n) for day, p50, p90, n in cursor.fetchall()}


def _per_day(start: date, end: date, rows: list) -> Chart:
    counts: Counter = Counter()
    for day, _status, n in rows:
        counts[day] += n
    values = per_day(start, end, counts.items())
    visits = int(total(values))
    busiest = max(days(start, end), key=lambda d: counts[d])
    summary = (
        f"{count(visits, 'visit')}, {visits / len(values):.1f} a day on average; busiest day "
        f"{day_label(busiest)} ({counts[busiest]:,})."
        if visits
        else "No visits in this period."
    )
    return Chart(
        key="visits-per-day",
        title="Visits per day",
        kind="bar",
        x_title="Day",
        **day_axis(start, end),
        series=[Series("Visits", values)],
        unit="visits",
        summary=summary,
    )


def _per_hour(by_hour: dict) -> Chart:
    values = [by_hour.get(hour, 0) for hour in range(24)]
    busiest = max(range(24), key=lambda h: values[h])
    summary = (
        f"Busiest hour {hour_label(busiest)} to {hour_label((busiest + 1) % 24)}: "
        f"{values[busiest]:,} of {sum(values):,} arrivals."
        if sum(values)
        else "No visits in this period."
    )
    return Chart(
        key="visits-per-hour",
        title="Visits by hour of the day",
        kind="bar",
        x_title="Hour of the day",
        x_labels=[hour_label(h) for h in range(24)],
        series=[Series("Visits", values)],
        unit="visits",
        summary=summary,
    )


def _wait(start: date, end: date, by_day: list, period: dict) -> Chart:
    n = period["n"]
    summary = (
        f"Median wait {fmt_minutes(minutes(period['p50']))}, 90th percentile "
        f"{fmt_minutes(minutes(period['p90']))} ({count(n, 'visit')} called)."
        if n
        else "No visit was called in this period."
    )
    return _percentiles_chart(
        start, end, by_day, key="wait", title="Wait from ready to first call", summary=summary
    )


def _in_call(start: date, end: date, figures: dict) -> Chart:
    whole = figures.get(None)
    summary = (
        f"Median time in call {fmt_minutes(minutes(whole[0]))}, 90th percentile "
        f"{fmt_minutes(minutes(whole[1]))} ({count(whole[2], 'ended visit')} with a call)."
        if whole and whole[2]
        else "No call in this period."
    )
    daily = [(day, p50, p90, n) for day, (p50, p90, n) in figures.items() if day is not None]
    return _percentiles_chart(start, end, daily, key="time-in-call", title="Time in call", summary=summary)


def _percentiles_chart(start: date, end: date, by_day: list, *, key: str, title: str, summary: str) -> Chart:
    """A line chart of a duration's median and 90th percentile per day, from (day, p50, p90, ...)
    rows; a day without a row has no figure (None), not zero."""
    p50 = per_day(start, end, [(row[0], minutes(row[1])) for row in by_day], empty=None)
    p90 = per_day(start, end, [(row[0], minutes(row[2])) for row in by_day], empty=None)
    return Chart(
        key=key,
        title=title,
        kind="line",
        x_title="Day",
        **day_axis(start, end),
        series=[Series("Median", p50), Series("90th percentile", p90)],
        unit="minutes",
        summary=summary,
    )


def _outcomes(rows: list) -> Chart:
    counts: Counter = Counter()
    for _day, status, n in rows:
        counts[status] += n
    values = [counts[status] for status, _ in OUTCOMES]
    ended = sum(values)
    summary = (
        f"{values[0]:,} of {count(ended, 'ended visit')} completed ({percent(values[0], ended)}); "
        f"{values[1]:,} left, {values[2]:,} cancelled, {values[3]:,} expired."
        if ended
        else "No visit ended in this period."
    )
    return Chart(
        key="outcomes",
        title="How visits ended",
        kind="bar",
        x_title="Outcome",
        x_labels=[label for _, label in OUTCOMES],
        series=[Series("Visits", values)],
        unit="visits",
        summary=summary,
    )


def _recalls(start: date, end: date, rows: list) -> Chart:
    sent: Counter = Counter()
    delivered: Counter = Counter()
    failed = 0
    for day, status, n in rows:
        sent[day] += n
        if status == "delivered":
            delivered[day] += n
        elif status in SmsMessage.FAILED:
            failed += n
    all_sent, all_delivered = sum(sent.values()), sum(delivered.values())
    summary = (
        f"{all_sent:,} recall SMS sent, {all_delivered:,} delivered "
        f"({percent(all_delivered, all_sent)}), {failed:,} failed."
        if all_sent
        else "No recall SMS in this period."
    )
    return Chart(
        key="recall-sms",
        title="Recall SMS",
        kind="bar",
        x_title="Day",
        **day_axis(start, end),
        series=[
            Series("Sent", per_day(start, end, sent.items())),
            Series("Delivered", per_day(start, end, delivered.items())),
        ],
        unit="messages",
        summary=summary,
    )
