"""Who is available when: the on-demand toggle, or calendar slots from weekly hours and date
exceptions in the clinic's time zone, minus busy time: booked meetings, and whatever the apps above
report through settings.BUSY_TIME_SOURCES (phone consultations), so a provider's time is counted
once whichever side booked it, without scheduling importing those apps.

Hours are wall-clock times in the clinic's zone; every instant leaving this module is UTC.
Daylight-saving changes follow the wall clock: on the spring-forward day a slot whose start does
not exist (02:30 in New York) is not offered; on the fall-back day a repeated wall time is offered
once, at its first occurrence.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.module_loading import import_string

from scheduling.models import DateException, Meeting, ProviderStatus, SchedulingProfile, Service, WeeklyHours
from waitingroom.models import Clinic, Membership, Role

Window = tuple[datetime, datetime]  # [start, end) in UTC


@dataclass(frozen=True)
class Busy:
    """Time a provider has given away: a booked meeting, or (from BUSY_TIME_SOURCES) anything else
    that holds it. `label` (the kind of session) and `who` (the person it is with) are for the
    provider's own clinic (`clinic_id`); other clinics see only "busy". `ref` names the row
    ("meeting:12"), unique across sources."""

    provider_id: int
    starts_at: datetime
    ends_at: datetime
    clinic_id: int
    label: str
    who: str = ""
    ref: str = ""


# A busy-time source: (provider_ids, start, end) -> the Busy of those providers overlapping
# [start, end), any clinic. Named by dotted path in settings.BUSY_TIME_SOURCES.
BusySource = Callable[..., Iterable[Busy]]


@dataclass(frozen=True)
class Slot:
    starts_at: datetime
    ends_at: datetime
    provider_ids: tuple[int, ...]


# --- Pure maths --------------------------------------------------------------------------------


def local_instant(day: date, wall: time, tz: ZoneInfo) -> datetime | None:
    """The UTC instant of `wall` o'clock on `day` in `tz`; None when that wall time does not exist
    (skipped by a spring-forward change). Repeated wall times take their first occurrence."""
    naive = datetime.combine(day, wall)
    aware = naive.replace(tzinfo=tz, fold=0)
    if aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != naive:
        return None
    return aware.astimezone(UTC)


def day_hours(
    day: date,
    weekly: Iterable[tuple[int, time, time]],
    exceptions: Iterable[tuple[bool, time | None, time | None]],
) -> list[tuple[time, time]]:
    """A provider's wall-clock hours on `day`. Any exception for the date replaces the weekly hours:
    available exceptions give their hours, a day off gives none."""
    exceptions = list(exceptions)
    if exceptions:
        return sorted((start, end) for available, start, end in exceptions if available and start and end)
    return sorted((start, end) for weekday, start, end in weekly if weekday == day.weekday())


def windows_for_day(day: date, hours: list[tuple[time, time]], tz: ZoneInfo) -> list[Window]:
    """Wall-clock hours as UTC windows. A start inside a skipped hour moves to the first moment
    after it (Python's fold rule maps 02:00 to 03:00 on a New York spring-forward day)."""
    windows = []
    for start, end in hours:
        begin = datetime.combine(day, start).replace(tzinfo=tz).astimezone(UTC)
        finish = datetime.combine(day, end).replace(tzinfo=tz).astimezone(UTC)
        if finish > begin:
            windows.append((begin, finish))
    return windows


def slot_starts(day: date, hours: list[tuple[time, time]], tz: ZoneInfo, length: timedelta) -> list[datetime]:
    """Slot starts on `day`, stepping the wall clock by `length` inside each span of hours; a slot
    must end (in real time) by the end of its span, and never overlaps the one before it (across
    a skipped hour the wall clock runs ahead of real time)."""
    starts: list[datetime] = []
    for start, end in hours:
        finish = datetime.combine(day, end).replace(tzinfo=tz).astimezone(UTC)
        wall = datetime.combine(day, start)
        previous_end: datetime | None = None
        while wall.date() == day and wall.time() < end:
            instant = local_instant(day, wall.time(), tz)
            fits = instant is not None and instant + length <= finish
            if fits and instant is not None and (previous_end is None or instant >= previous_end):
                starts.append(instant)
                previous_end = instant + length
            wall += length
    return sorted(set(starts))


def overlaps(start: datetime, end: datetime, busy: Iterable[Window]) -> bool:
    return any(s < end and start < e for s, e in busy)


def covered(start: datetime, end: datetime, windows: Iterable[Window]) -> bool:
    return any(s <= start and end <= e for s, e in windows)


# --- From the database -------------------------------------------------------------------------


def profile_for(clinic: Clinic) -> SchedulingProfile:
    """The clinic's scheduling settings (made with the clinic; see apps.py)."""
    try:
        return clinic.scheduling
    except SchedulingProfile.DoesNotExist:
        profile, _ = SchedulingProfile.objects.get_or_create(clinic=clinic)
        return profile


def clinic_providers(clinic: Clinic) -> QuerySet:
    """The clinic's providers, by name."""
    ids = Membership.objects.filter(clinic=clinic, role=Role.PROVIDER).values("user_id")
    return (
        get_user_model()
        .objects.filter(id__in=ids, is_active=True)
        .order_by("first_name", "last_name", "username")
    )


def person(user) -> str:
    """The name a provider (or any staff member) is shown and emailed by."""
    return user.get_full_name() or user.username


def host_ids(clinic: Clinic, profile: SchedulingProfile) -> set[int]:
    """The host group: the chosen hosts who are still providers here, or every provider."""
    providers = set(clinic_providers(clinic).values_list("id", flat=True))
    chosen = set(profile.hosts.values_list("id", flat=True)) & providers
    return chosen or providers


def in_host_group(clinic: Clinic, profile: SchedulingProfile, provider_id: int) -> bool:
    """Whether one of the clinic's providers is in its host group (host_ids() in one query: the
    chosen hosts who are still providers, or, when there are none, every provider)."""
    chosen = set(
        profile.hosts.filter(id__in=clinic_providers(clinic).values("id")).values_list("id", flat=True)
    )
    return not chosen or provider_id in chosen


def bookable(clinic: Clinic, profile: SchedulingProfile, provider_id: int | None) -> set[int]:
    """Who a request can be for: the chosen provider, or (anyone) the host group, which is who a
    request without a provider is addressed to."""
    if provider_id is None:
        return host_ids(clinic, profile)
    return set(clinic_providers(clinic).filter(pk=provider_id).values_list("id", flat=True))


@cache
def _sources(paths: tuple[str, ...]) -> tuple[BusySource, ...]:
    return tuple(import_string(path) for path in paths)


def _meetings_busy(
    *, provider_ids: Collection[int], start: datetime, end: datetime, exclude_id: int | None = None
) -> list[Busy]:
    meetings = (
        Meeting.objects.booked()
        .filter(provider_id__in=list(provider_ids), starts_at__lt=end, ends_at__gt=start)
        .exclude(pk=exclude_id)
        .values_list("pk", "provider_id", "starts_at", "ends_at", "clinic_id", "service__name", "guest_name")
    )
    return [
        Busy(provider_id, starts_at, ends_at, clinic_id, label, who, f"meeting:{pk}")
        for pk, provider_id, starts_at, ends_at, clinic_id, label, who in meetings
    ]


def busy_times(
    *, provider_ids: Iterable[int], start: datetime, end: datetime, exclude_meeting_id: int | None = None
) -> list[Busy]:
    """Everything that holds these providers' time (any clinic: a provider can't be in two places)
    overlapping [start, end), by start: booked meetings, then each BUSY_TIME_SOURCES source (one
    query each)."""
    provider_ids = set(provider_ids)
    if not provider_ids:
        return []
    busy = _meetings_busy(provider_ids=provider_ids, start=start, end=end, exclude_id=exclude_meeting_id)
    for source in _sources(tuple(settings.BUSY_TIME_SOURCES)):
        busy.extend(source(provider_ids=provider_ids, start=start, end=end))
    return sorted(busy, key=lambda b: (b.starts_at, b.ends_at, b.ref))


def busy_windows(*, provider_ids: Iterable[int], start: datetime, end: datetime) -> dict[int, list[Window]]:
    """Each provider's busy time (busy_times) overlapping [start, end), as windows."""
    busy: dict[int, list[Window]] = defaultdict(list)
    for item in busy_times(provider_ids=provider_ids, start=start, end=end):
        busy[item.provider_id].append((item.starts_at, item.ends_at))
    return busy


def calendar_windows(
    *, clinic: Clinic, provider_ids: Iterable[int], first_day: date, last_day: date
) -> dict[int, dict[date, list[tuple[time, time]]]]:
    """Each provider's wall-clock hours per local day, from two queries."""
    provider_ids = list(provider_ids)
    weekly: dict[int, list[tuple[int, time, time]]] = defaultdict(list)
    for row in WeeklyHours.objects.filter(clinic=clinic, provider_id__in=provider_ids).values_list(
        "provider_id", "weekday", "start", "end"
    ):
        weekly[row[0]].append(row[1:])
    exceptions: dict[tuple[int, date], list] = defaultdict(list)
    for provider_id, day, available, start, end in DateException.objects.filter(
        clinic=clinic, provider_id__in=provider_ids, date__range=(first_day, last_day)
    ).values_list("provider_id", "date", "available", "start", "end"):
        exceptions[(provider_id, day)].append((available, start, end))
    result: dict[int, dict[date, list[tuple[time, time]]]] = {}
    for provider_id in provider_ids:
        days = {}
        day = first_day
        while day <= last_day:
            days[day] = day_hours(day, weekly[provider_id], exceptions[(provider_id, day)])
            day += timedelta(days=1)
        result[provider_id] = days
    return result


def open_slots(
    *, clinic: Clinic, service: Service, provider_id: int | None = None, now: datetime | None = None
) -> list[Slot]:
    """Open calendar slots of the service's length over the booking horizon, for one provider or
    (None) anyone: by start time, each with the providers free then."""
    profile = profile_for(clinic)
    now = now or timezone.now()
    tz = clinic.tzinfo
    providers = bookable(clinic, profile, provider_id)
    first_day = now.astimezone(tz).date()
    last_day = first_day + timedelta(days=profile.booking_days)
    earliest = now + timedelta(minutes=profile.minimum_notice_minutes)
    hours = calendar_windows(clinic=clinic, provider_ids=providers, first_day=first_day, last_day=last_day)
    busy = busy_windows(provider_ids=providers, start=now, end=now + timedelta(days=profile.booking_days + 2))
    free: dict[datetime, list[int]] = defaultdict(list)
    for pid in sorted(providers):
        for day, spans in hours[pid].items():
            for start in slot_starts(day, spans, tz, service.duration):
                if start >= earliest and not overlaps(start, start + service.duration, busy[pid]):
                    free[start].append(pid)
    return [Slot(start, start + service.duration, tuple(pids)) for start, pids in sorted(free.items())]


def available_at(
    *, clinic: Clinic, provider_ids: Iterable[int], starts_at: datetime, duration: timedelta
) -> dict[int, bool]:
    """Whether each provider is free for [starts_at, +duration): the toggle (on-demand mode) or
    their hours (calendar mode), and no booked meeting in the way."""
    provider_ids = list(provider_ids)
    ends_at = starts_at + duration
    busy = busy_windows(provider_ids=provider_ids, start=starts_at, end=ends_at)
    if profile_for(clinic).availability_mode == SchedulingProfile.Mode.ON_DEMAND:
        toggled = set(
            ProviderStatus.objects.filter(
                clinic=clinic, provider_id__in=provider_ids, available=True
            ).values_list("provider_id", flat=True)
        )
        return {pid: pid in toggled and not busy[pid] for pid in provider_ids}
    tz = clinic.tzinfo
    # A session can start late in the evening and run past midnight: look at both local days.
    first_day = starts_at.astimezone(tz).date() - timedelta(days=1)
    hours = calendar_windows(
        clinic=clinic, provider_ids=provider_ids, first_day=first_day, last_day=first_day + timedelta(days=2)
    )
    result = {}
    for pid in provider_ids:
        windows = [w for day, spans in hours[pid].items() for w in windows_for_day(day, spans, tz)]
        result[pid] = covered(starts_at, ends_at, windows) and not busy[pid]
    return result


def available_now(
    *, clinic: Clinic, provider_id: int | None = None, now: datetime | None = None
) -> list[int]:
    """Providers who could take a Now request at this moment (for the service's shortest slot,
    the clinic's mode decides how that is known)."""
    now = now or timezone.now()
    providers = sorted(bookable(clinic, profile_for(clinic), provider_id))
    free = available_at(clinic=clinic, provider_ids=providers, starts_at=now, duration=timedelta(minutes=1))
    return [pid for pid, ok in free.items() if ok]


def conflicts_near(
    *, provider_id: int, times: Iterable[datetime], within: timedelta = timedelta(hours=2)
) -> dict[datetime, list[Busy]]:
    """The provider's busy time (meetings, consultations...) within `within` of each requested time."""
    times = sorted(times)
    if not times:
        return {}
    busy = busy_times(provider_ids=[provider_id], start=times[0] - within, end=times[-1] + within)
    return {t: [b for b in busy if b.starts_at < t + within and b.ends_at > t - within] for t in times}


def overlapping(
    *, provider_id: int, starts_at: datetime, ends_at: datetime, exclude_id: int | None = None
) -> list[Busy]:
    """The provider's busy time (any clinic) that overlaps [starts_at, ends_at), but the meeting
    `exclude_id` (the one being moved). The caller holds the provider's row lock, so two bookings
    can't both pass this check."""
    return busy_times(provider_ids=[provider_id], start=starts_at, end=ends_at, exclude_meeting_id=exclude_id)
