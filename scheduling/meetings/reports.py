"""Meetings' report section (settings.REPORT_SECTIONS): no-shows, the meetings that ended missed
(meetings/status.py: nobody called the guest's visit before the end) against those completed, by
the day they were scheduled for in the clinic's time zone. One query."""

from __future__ import annotations

from collections import Counter
from datetime import date

from django.db.models import Count
from django.db.models.functions import TruncDate

from scheduling.meetings.status import MeetingStatus
from scheduling.models import Meeting
from waitingroom.models import Clinic
from waitingroom.reports.charts import Chart, Series, bounds, count, day_axis, per_day, percent


def sections(*, clinic: Clinic, start: date, end: date) -> list[Chart]:
    since, until = bounds(clinic.tzinfo, start, end)
    rows = (
        Meeting.objects.filter(
            clinic=clinic,
            starts_at__gte=since,
            starts_at__lt=until,
            status__in=[MeetingStatus.COMPLETED, MeetingStatus.MISSED],
        )
        .annotate(day=TruncDate("starts_at", tzinfo=clinic.tzinfo))
        .values_list("day", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    by_status: dict[str, Counter] = {MeetingStatus.COMPLETED: Counter(), MeetingStatus.MISSED: Counter()}
    for day, status, n in rows:
        by_status[status][day] += n
    completed, missed = (sum(by_status[s].values()) for s in (MeetingStatus.COMPLETED, MeetingStatus.MISSED))
    held = completed + missed
    summary = (
        f"{missed:,} of {count(held, 'meeting')} missed ({percent(missed, held)}); {completed:,} completed."
        if held
        else "No meeting took place or was missed in this period."
    )
    return [
        Chart(
            key="meetings",
            title="Meetings: completed and missed",
            kind="bar",
            x_title="Day",
            **day_axis(start, end),
            series=[
                Series("Completed", per_day(start, end, by_status[MeetingStatus.COMPLETED].items())),
                Series("Missed", per_day(start, end, by_status[MeetingStatus.MISSED].items())),
            ],
            unit="meetings",
            summary=summary,
        )
    ]
