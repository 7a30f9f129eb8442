"""When a phone consultation can be booked: scheduling's availability engine (the experts' hours or
on-demand toggles, minus their busy time: meetings and consultations alike), plus one rule of its
own for consultations booked for "any expert".

The "any expert" rule. An Available consultation (booked for "any expert", not claimed yet) holds
no particular expert's time, yet some expert of the clinic will have to take it. So a booking for
[start, end) is accepted only while the clinic's experts free for all of [start, end) outnumber its
unclaimed consultations overlapping it:

    free experts > unclaimed consultations overlapping [start, end)

and, for a named expert, that expert is one of the free ones. The same inequality serves both
kinds: after a named booking one free expert fewer must still cover every unclaimed consultation
(free - 1 >= unclaimed), and an "any expert" booking adds one unclaimed consultation (free >=
unclaimed + 1). Counting every unclaimed consultation that overlaps the slot at any point is
conservative (two that do not overlap each other could share an expert): it may refuse a slot a
perfect assignment could fit, never overbook one. Meetings booked by staff see only the experts'
own busy time; staff may knowingly book over an unclaimed consultation, which the dispatch and the
room show them.

"Experts" are the clinic's active providers (every provider may claim an Available consultation).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from consultations import selectors
from scheduling import availability
from scheduling.availability import Slot, Window, covered, overlaps
from scheduling.models import SchedulingProfile, Service
from waitingroom.models import Clinic


def expert_ids(clinic: Clinic) -> list[int]:
    """The clinic's experts, by id (the order their rows are locked in)."""
    return sorted(availability.clinic_providers(clinic).values_list("id", flat=True))


def is_calendar(clinic: Clinic) -> bool:
    return availability.profile_for(clinic).availability_mode == SchedulingProfile.Mode.CALENDAR


def _taken(unclaimed: list[Window], start: datetime, end: datetime) -> int:
    return sum(1 for s, e in unclaimed if s < end and start < e)


def open_slots(
    *, clinic: Clinic, service: Service, expert_id: int | None = None, now: datetime | None = None
) -> list[Slot]:
    """Calendar mode: the slots of the service's length over the booking horizon that a client may
    book now, for one expert or (None) any expert; each with the experts free then. Empty in
    on-demand mode. A fixed number of queries (hours, exceptions, busy time, unclaimed ones)."""
    if not is_calendar(clinic):
        return []
    profile = availability.profile_for(clinic)
    now = now or timezone.now()
    tz, length = clinic.tzinfo, service.duration
    experts = expert_ids(clinic)
    if expert_id is not None and expert_id not in experts:
        return []
    first_day = now.astimezone(tz).date()
    last_day = first_day + timedelta(days=profile.booking_days)
    earliest = now + timedelta(minutes=profile.minimum_notice_minutes)
    horizon_end = now + timedelta(days=profile.booking_days + 2)
    hours = availability.calendar_windows(
        clinic=clinic, provider_ids=experts, first_day=first_day, last_day=last_day
    )
    busy = availability.busy_windows(provider_ids=experts, start=now, end=horizon_end)
    unclaimed = selectors.unclaimed_windows(clinic=clinic, start=now, end=horizon_end)
    windows: dict[int, list[Window]] = defaultdict(list)
    starts: set[datetime] = set()
    for pid in experts:
        for day, spans in hours[pid].items():
            windows[pid] += availability.windows_for_day(day, spans, tz)
            if expert_id is None or pid == expert_id:
                starts.update(availability.slot_starts(day, spans, tz, length))
    slots = []
    for start in sorted(s for s in starts if s >= earliest):
        end = start + length
        free = tuple(
            pid
            for pid in experts
            if covered(start, end, windows[pid]) and not overlaps(start, end, busy[pid])
        )
        if len(free) > _taken(unclaimed, start, end) and (expert_id is None or expert_id in free):
            slots.append(Slot(start, end, free))
    return slots


@dataclass(frozen=True)
class Asap:
    """ "As soon as possible": from now, for the service's length."""

    starts_at: datetime
    ends_at: datetime
    free: tuple[int, ...]  # the experts free for all of it


def asap(
    *, clinic: Clinic, service: Service, expert_id: int | None = None, now: datetime | None = None
) -> Asap | None:
    """Whether a consultation can start now (the on-demand toggle, or calendar hours covering its
    whole length, and no busy time in the way), for one expert or any; None if not."""
    now = now or timezone.now()
    experts = expert_ids(clinic)
    if expert_id is not None and expert_id not in experts:
        return None
    end = now + service.duration
    available = availability.available_at(
        clinic=clinic, provider_ids=experts, starts_at=now, duration=service.duration
    )
    free = tuple(pid for pid in experts if available[pid])
    unclaimed = selectors.unclaimed_windows(clinic=clinic, start=now, end=end)
    if len(free) <= len(unclaimed) or (expert_id is not None and expert_id not in free):
        return None
    return Asap(now, end, free)
