"""What a report section returns, and the pieces every section's queries share.

A section is a callable `sections(*, clinic, start, end) -> list[Chart]` named in
settings.REPORT_SECTIONS; `start` and `end` are days in the clinic's time zone, and the period is
[start 00:00, end + 1 day 00:00) there. Sections aggregate in SQL (a fixed number of queries
whatever the rows: GROUP BY a local day or hour, percentile_cont), never loop over rows in Python.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal, TypedDict

from django.db.models import Aggregate, DurationField

Number = int | float


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[Number | None]  # one per x label; None: no figure (nothing to measure that day)


@dataclass(frozen=True)
class Chart:
    """One chart of the page, with the table behind it and its CSV."""

    key: str  # the chart's address on the page and in its CSV link: "visits-per-day"
    title: str
    kind: Literal["bar", "line"]
    x_title: str  # what the x axis counts: "Day", "Hour of the day"
    x_labels: list[str]
    series: list[Series]
    unit: str  # the y axis: "visits", "minutes", "US dollars"
    summary: str  # one sentence a manager reads first: "Median wait 6 min, 90th percentile 19 min"
    # The table behind the chart; by default one row per x label, one column per series.
    columns: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    # What the default table's first column says for each x label, when not the label itself
    # (days: "2026-12-06", which a spreadsheet reads as a date).
    x_values: list[str] = field(default_factory=list)

    def table(self) -> tuple[list[str], list[list[Any]]]:
        if self.columns:
            return self.columns, self.rows
        columns = [self.x_title, *(f"{s.name} ({self.unit})" for s in self.series)]
        keys = self.x_values or self.x_labels
        rows = [[label, *(s.values[i] for s in self.series)] for i, label in enumerate(keys)]
        return columns, rows


class Percentile(Aggregate):
    """PostgreSQL's percentile_cont(fraction) WITHIN GROUP (ORDER BY expression): the continuous
    percentile (interpolated between the two nearest values, as a spreadsheet's PERCENTILE does).
    Over an interval it returns an interval, hence a DurationField by default."""

    function = "percentile_cont"
    name = "Percentile"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = DurationField()

    def __init__(self, expression: Any, fraction: float, **extra: Any) -> None:
        if not 0 <= fraction <= 1:
            raise ValueError("fraction is between 0 and 1")
        # A float we chose, written into the SQL as a literal (never user input).
        super().__init__(expression, fraction=repr(float(fraction)), **extra)


def bounds(tz: zoneinfo.ZoneInfo, start: date, end: date) -> tuple[datetime, datetime]:
    """The period's instants: [start 00:00, end + 1 day 00:00) in the clinic's zone. A day across a
    DST change is 23 or 25 hours long, as the clinic lives it."""
    return (
        datetime.combine(start, time(0), tzinfo=tz),
        datetime.combine(end + timedelta(days=1), time(0), tzinfo=tz),
    )


def days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def day_label(day: date) -> str:
    """ "Dec 6": what a chart's x axis and table say for a day."""
    return f"{day:%b} {day.day}"


def hour_label(hour: int) -> str:
    return f"{hour:02d}:00"


def minutes(value: timedelta | None) -> float | None:
    """A duration as minutes, one decimal: what the wait and call charts count in."""
    return None if value is None else round(value.total_seconds() / 60, 1)


class DayAxis(TypedDict):
    x_labels: list[str]
    x_values: list[str]


def day_axis(start: date, end: date) -> DayAxis:
    """A day chart's x labels ("Dec 6") and table keys ("2026-12-06")."""
    period = days(start, end)
    return {"x_labels": [day_label(d) for d in period], "x_values": [d.isoformat() for d in period]}


def per_day(
    start: date, end: date, rows: Iterable[tuple[date, Number | None]], *, empty: Number | None = 0
) -> list[Number | None]:
    """One value per day of the period from (day, value) rows: a day without a row gets `empty`."""
    by_day = dict(rows)
    return [by_day.get(day, empty) for day in days(start, end)]


def fmt_minutes(value: float | None) -> str:
    return "none" if value is None else f"{value:g} min"


def count(n: int, one: str, many: str | None = None) -> str:
    """ "1 visit", "1,200 visits": a number with its noun."""
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def percent(part: Number, whole: Number) -> str:
    return f"{round(100 * part / whole)}%" if whole else "n/a"


def total(values: Sequence[Number | None]) -> Number:
    return sum(v for v in values if v is not None)
