"""Phone consultations' report sections (settings.REPORT_SECTIONS): how many, by the day they were
booked for (in the clinic's time zone) and by status. One query."""

from __future__ import annotations

from collections import Counter
from datetime import date

from django.db.models import Count
from django.db.models.functions import TruncDate

from consultations.lifecycle import Status
from consultations.models import Consultation
from waitingroom.models import Clinic
from waitingroom.reports.charts import Chart, Series, bounds, count, day_axis, day_label, days, per_day


def sections(*, clinic: Clinic, start: date, end: date) -> list[Chart]:
    since, until = bounds(clinic.tzinfo, start, end)
    rows = list(
        Consultation.objects.filter(clinic=clinic, starts_at__gte=since, starts_at__lt=until)
        .annotate(day=TruncDate("starts_at", tzinfo=clinic.tzinfo))
        .values_list("day", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    by_day: Counter = Counter()
    by_status: Counter = Counter()
    for day, status, n in rows:
        by_day[day] += n
        by_status[status] += n
    booked = sum(by_day.values())
    statuses = list(Status)
    said = ", ".join(f"{by_status[s]:,} {s.label.lower()}" for s in statuses if by_status[s])
    by_status_summary = (
        f"{count(booked, 'consultation')}: {said}." if booked else "No consultations in this period."
    )
    period = days(start, end)
    busiest = max(period, key=lambda d: by_day[d])
    per_day_summary = (
        f"{count(booked, 'consultation')}, {booked / len(period):.1f} a day on average; busiest day "
        f"{day_label(busiest)} ({by_day[busiest]:,})."
        if booked
        else "No consultations in this period."
    )
    return [
        Chart(
            key="consultations-per-day",
            title="Consultations per day",
            kind="bar",
            x_title="Day",
            **day_axis(start, end),
            series=[Series("Consultations", per_day(start, end, by_day.items()))],
            unit="consultations",
            summary=per_day_summary,
        ),
        Chart(
            key="consultations-by-status",
            title="Consultations by status",
            kind="bar",
            x_title="Status",
            x_labels=[str(s.label) for s in statuses],
            series=[Series("Consultations", [by_status[s] for s in statuses])],
            unit="consultations",
            summary=by_status_summary,
        ),
    ]
