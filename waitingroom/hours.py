"""Opening hours as rules: pure Python, no database (docs/architecture.md, "Opening hours").

A clinic's schedule is its weekly intervals (several a day allowed) and its date exceptions (the
exception's intervals replace that date's weekly ones; a date with an exception and no interval is
closed all day). Times are the clinic's wall-clock times; every interval becomes a pair of UTC
instants before anything is compared, so a day of 23 or 25 hours is neither crashed on nor
counted twice:

- a time that does not exist (02:30 on the spring-forward day) is read with the offset before the
  change, as PEP 495 does for fold=0: "opens at 02:30" opens at 03:30 summer time;
- a time that happens twice (01:30 on the fall-back day) is its first occurrence.

A closing time of 00:00 means midnight at the end of the day (00:00-00:00 is the whole day).
Adjacent intervals join (Monday 00:00-24:00 and Tuesday 00:00-24:00 are one stretch), so "closed
since" and "opens" name the real edges.

A schedule with no interval and no exception at all is always open: clinics that never set hours
keep working as before.
"""

from __future__ import annotations

import itertools
import zoneinfo
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

MIDNIGHT = time(0)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
# How far back "closed since" looks, and how far ahead "opens" looks (a long holiday included).
LOOK_BACK_DAYS = 8
LOOK_AHEAD_DAYS = 400


@dataclass(frozen=True)
class Interval:
    """Open from `opens` to `closes` on one day, wall-clock time; `closes` 00:00 is the day's end."""

    opens: time
    closes: time

    @property
    def start_minutes(self) -> int:
        return self.opens.hour * 60 + self.opens.minute

    @property
    def end_minutes(self) -> int:
        return 24 * 60 if self.closes == MIDNIGHT else self.closes.hour * 60 + self.closes.minute


class HoursError(ValueError):
    """Intervals that cannot be a day's hours (the words say which and why)."""


def check_intervals(intervals: Iterable[Interval]) -> None:
    """Each interval opens before it closes, and none overlaps another of the same day."""
    ordered = sorted(intervals, key=lambda i: i.start_minutes)
    for interval in ordered:
        if interval.start_minutes >= interval.end_minutes:
            raise HoursError(
                f"{interval.opens:%H:%M}-{interval.closes:%H:%M}: the opening time must be before the "
                "closing time (00:00 as the closing time means midnight at the end of the day)."
            )
    for before, after in itertools.pairwise(ordered):
        if after.start_minutes < before.end_minutes:
            raise HoursError(
                f"{before.opens:%H:%M}-{before.closes:%H:%M} and {after.opens:%H:%M}-{after.closes:%H:%M} overlap."
            )


@dataclass(frozen=True)
class Schedule:
    # weekday (0 = Monday) -> that day's intervals
    weekly: Mapping[int, tuple[Interval, ...]] = field(default_factory=dict)
    # date -> the intervals replacing that date's weekly ones (empty: closed all day)
    exceptions: Mapping[date, tuple[Interval, ...]] = field(default_factory=dict)

    @property
    def is_set(self) -> bool:
        return any(self.weekly.values()) or bool(self.exceptions)

    def intervals_on(self, day: date) -> tuple[Interval, ...]:
        if day in self.exceptions:
            return self.exceptions[day]
        return self.weekly.get(day.weekday(), ())


@dataclass(frozen=True)
class ManualClose:
    """A clinic admin closed the waiting room now (until they reopen it)."""

    at: datetime
    by: str  # the name people see
    message: str


@dataclass(frozen=True)
class OpenState:
    is_open: bool
    # Closed by its hours: since when (None when it has been closed for longer than the look-back,
    # or never opened); closed by hand: when the admin closed it.
    closed_since: datetime | None = None
    # Closed: the next opening by the hours (None: closed by hand, or no opening ahead).
    opens_at: datetime | None = None
    # Open by hours: the end of the current stretch (None: always open).
    closes_at: datetime | None = None
    manual: ManualClose | None = None
    # False: the clinic set no hours (always open unless closed by hand).
    has_hours: bool = True


def _instant(day: date, minutes: int, tz: zoneinfo.ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock minute of `day` (24:00 is the next day's midnight)."""
    local = datetime.combine(day, MIDNIGHT) + timedelta(minutes=minutes)
    # fold=0: a time in a gap takes the offset before the change, a repeated time its first
    # occurrence. Built from the naive wall time, so a 23- or 25-hour day is never assumed 24 h.
    return local.replace(tzinfo=tz, fold=0).astimezone(UTC)


def spans(
    schedule: Schedule, tz: zoneinfo.ZoneInfo, first: date, last: date
) -> list[tuple[datetime, datetime]]:
    """The open stretches of the days first..last as (start, end) UTC instants, sorted, with
    touching or overlapping stretches joined."""
    raw: list[tuple[datetime, datetime]] = []
    day = first
    while day <= last:
        for interval in schedule.intervals_on(day):
            start = _instant(day, interval.start_minutes, tz)
            end = _instant(day, interval.end_minutes, tz)
            if end > start:  # an interval swallowed whole by a gap opens for no time at all
                raw.append((start, end))
        day += timedelta(days=1)
    raw.sort()
    joined: list[tuple[datetime, datetime]] = []
    for start, end in raw:
        if joined and start <= joined[-1][1]:
            joined[-1] = (joined[-1][0], max(joined[-1][1], end))
        else:
            joined.append((start, end))
    return joined


def open_state(
    schedule: Schedule, *, tz: zoneinfo.ZoneInfo, now: datetime, manual: ManualClose | None = None
) -> OpenState:
    """Open or closed at `now` (aware), closed since when, and opens next when."""
    if not schedule.is_set:
        if manual is not None:
            return OpenState(is_open=False, closed_since=manual.at, manual=manual, has_hours=False)
        return OpenState(is_open=True, has_hours=False)
    today = now.astimezone(tz).date()
    # Yesterday's late stretch may run into today; a week back finds "closed since" over a weekend.
    stretches = spans(schedule, tz, today - timedelta(days=LOOK_BACK_DAYS), today + timedelta(days=14))
    current = next((s for s in stretches if s[0] <= now < s[1]), None)
    if manual is not None:
        return OpenState(is_open=False, closed_since=manual.at, manual=manual)
    if current is not None:
        return OpenState(is_open=True, closes_at=current[1])
    past = [end for _start, end in stretches if end <= now]
    ahead = [start for start, _end in stretches if start > now]
    if not ahead:
        # A long closure: look further, a fortnight at a time.
        day = today + timedelta(days=15)
        while not ahead and day <= today + timedelta(days=LOOK_AHEAD_DAYS):
            ahead = [start for start, _end in spans(schedule, tz, day, day + timedelta(days=13))]
            day += timedelta(days=14)
    return OpenState(
        is_open=False, closed_since=max(past) if past else None, opens_at=min(ahead) if ahead else None
    )


def next_change(
    schedule: Schedule, *, tz: zoneinfo.ZoneInfo, now: datetime, within: timedelta
) -> datetime | None:
    """The first instant after `now` (aware) at which the hours open or close the clinic, if it
    comes within `within` (a closing at 17:00 is the instant 17:00 starts: open_state calls it
    closed then). None: no change that soon, or no hours at all.

    Read from the same UTC stretches as open_state, so a 23- or 25-hour day and a wall time in a
    gap or repeated are the instants open_state flips at, not a wall-clock difference. Midnight
    between two whole open days is no change (the stretches join)."""
    if not schedule.is_set:
        return None
    first = now.astimezone(tz).date() - timedelta(days=1)
    last = (now + within).astimezone(tz).date() + timedelta(days=1)
    # The days looked at start before `now` and end more than a day after now + within, so a
    # stretch cut off by the edge of what is looked at never passes for a change.
    for start, end in spans(schedule, tz, first, last):
        for edge in (start, end):
            if now < edge <= now + within:
                return edge
            if edge > now + within:
                return None
    return None


# --- Words for people ----------------------------------------------------------------------------


def day_words(moment: datetime, *, tz: zoneinfo.ZoneInfo, now: datetime) -> str:
    """ "today", "tomorrow", "yesterday" or "on Monday 14 December" (the clinic's calendar)."""
    day, today = moment.astimezone(tz).date(), now.astimezone(tz).date()
    if day == today:
        return "today"
    if day == today + timedelta(days=1):
        return "tomorrow"
    if day == today - timedelta(days=1):
        return "yesterday"
    return f"on {WEEKDAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]}"


def when_words(moment: datetime, *, tz: zoneinfo.ZoneInfo, now: datetime, zone_label: str = "") -> str:
    """ "today at 14:00", "tomorrow at 08:00 New York time", "on Monday 14 December at 08:00"."""
    words = f"{day_words(moment, tz=tz, now=now)} at {moment.astimezone(tz):%H:%M}"
    return f"{words} {zone_label}" if zone_label else words


def opens_words(state: OpenState, *, tz: zoneinfo.ZoneInfo, now: datetime, zone_label: str = "") -> str:
    """ "Opens tomorrow at 08:00 New York time", or "" when no opening is known."""
    if state.opens_at is None:
        return ""
    return "Opens " + when_words(state.opens_at, tz=tz, now=now, zone_label=zone_label)


def closed_since_words(state: OpenState, *, tz: zoneinfo.ZoneInfo, now: datetime) -> str:
    """The staff banner's first words: "Closed since 17:00", "Closed since yesterday at 17:00",
    "Closed now by Dana at 14:32: <message>", or "Closed" (no known closing time)."""
    if state.manual is not None:
        words = f"Closed now by {state.manual.by} at {state.manual.at.astimezone(tz):%H:%M}"
        if day_words(state.manual.at, tz=tz, now=now) != "today":
            # "Closed by Dana yesterday at 17:00", "Closed by Dana on Friday 4 December at 17:00".
            words = f"Closed by {state.manual.by} {when_words(state.manual.at, tz=tz, now=now)}"
        return f"{words}: {state.manual.message}" if state.manual.message else words
    if state.closed_since is None:
        return "Closed"
    if day_words(state.closed_since, tz=tz, now=now) == "today":
        return f"Closed since {state.closed_since.astimezone(tz):%H:%M}"
    return "Closed since " + when_words(state.closed_since, tz=tz, now=now).removeprefix("on ")
