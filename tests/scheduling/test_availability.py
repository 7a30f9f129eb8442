"""Availability maths: wall-clock hours in the clinic's zone become UTC slots, across time zones
and daylight-saving changes; exceptions, bookings, notice and the on-demand toggle."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from scheduling import availability
from scheduling.availability import day_hours, local_instant, slot_starts, windows_for_day
from scheduling.models import DateException, Meeting, SchedulingProfile
from scheduling.requests import services
from tests.factories import staff
from tests.scheduling.conftest import MONDAY_NOON, at, on_demand, tomorrow, weekday_hours
from waitingroom.models import Role

NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
SYDNEY = ZoneInfo("Australia/Sydney")
KOLKATA = ZoneInfo("Asia/Kolkata")
HALF_HOUR = timedelta(minutes=30)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# --- Pure maths ----------------------------------------------------------------------------------


def test_same_wall_clock_hours_are_different_instants_in_each_zone():
    day = date(2026, 6, 15)
    hours = [(time(9), time(10))]
    assert slot_starts(day, hours, NEW_YORK, HALF_HOUR) == [utc(2026, 6, 15, 13), utc(2026, 6, 15, 13, 30)]
    assert slot_starts(day, hours, LONDON, HALF_HOUR) == [utc(2026, 6, 15, 8), utc(2026, 6, 15, 8, 30)]
    # Half-hour offset zone (UTC+5:30) and a southern-hemisphere zone in its winter (UTC+10).
    assert slot_starts(day, hours, KOLKATA, HALF_HOUR) == [utc(2026, 6, 15, 3, 30), utc(2026, 6, 15, 4)]
    assert slot_starts(day, hours, SYDNEY, HALF_HOUR) == [utc(2026, 6, 14, 23), utc(2026, 6, 14, 23, 30)]


def test_new_york_hours_keep_their_wall_clock_across_the_spring_change():
    hours = [(time(9), time(10))]
    before = slot_starts(date(2026, 3, 7), hours, NEW_YORK, HALF_HOUR)  # Saturday, EST (UTC-5)
    after = slot_starts(date(2026, 3, 9), hours, NEW_YORK, HALF_HOUR)  # Monday, EDT (UTC-4)
    assert before[0] == utc(2026, 3, 7, 14)
    assert after[0] == utc(2026, 3, 9, 13)


def test_spring_forward_skips_slots_that_do_not_exist():
    # 8 March 2026 in New York: 02:00 jumps to 03:00.
    starts = slot_starts(date(2026, 3, 8), [(time(1), time(4))], NEW_YORK, HALF_HOUR)
    local = [s.astimezone(NEW_YORK).strftime("%H:%M %Z") for s in starts]
    assert local == ["01:00 EST", "01:30 EST", "03:00 EDT", "03:30 EDT"]
    assert local_instant(date(2026, 3, 8), time(2, 30), NEW_YORK) is None


def test_fall_back_offers_a_repeated_wall_time_once():
    # 1 November 2026 in New York: 02:00 EDT goes back to 01:00 EST.
    starts = slot_starts(date(2026, 11, 1), [(time(0, 30), time(2, 30))], NEW_YORK, HALF_HOUR)
    local = [s.astimezone(NEW_YORK).strftime("%H:%M %Z") for s in starts]
    assert local == ["00:30 EDT", "01:00 EDT", "01:30 EDT", "02:00 EST"]
    # Slots are real 30-minute instants apart except across the repeated hour.
    assert starts[3] - starts[2] == timedelta(minutes=90)


def test_a_window_on_the_fall_back_day_lasts_an_hour_longer_in_real_time():
    (window,) = windows_for_day(date(2026, 11, 1), [(time(0), time(4))], NEW_YORK)
    assert window[1] - window[0] == timedelta(hours=5)
    (spring,) = windows_for_day(date(2026, 3, 8), [(time(0), time(4))], NEW_YORK)
    assert spring[1] - spring[0] == timedelta(hours=3)


def test_london_changes_on_a_different_sunday_than_new_york():
    # 29 March 2026: London is on BST, New York has been on EDT since 8 March.
    assert slot_starts(date(2026, 3, 28), [(time(9), time(9, 30))], LONDON, HALF_HOUR) == [
        utc(2026, 3, 28, 9)
    ]
    assert slot_starts(date(2026, 3, 30), [(time(9), time(9, 30))], LONDON, HALF_HOUR) == [
        utc(2026, 3, 30, 8)
    ]


def test_a_slot_must_fit_inside_the_hours():
    assert slot_starts(date(2026, 6, 15), [(time(9), time(10, 15))], LONDON, HALF_HOUR) == [
        utc(2026, 6, 15, 8),
        utc(2026, 6, 15, 8, 30),
    ]


def test_a_date_exception_replaces_the_weekly_hours():
    monday = date(2026, 11, 23)
    weekly = [(0, time(9), time(17))]
    assert day_hours(monday, weekly, []) == [(time(9), time(17))]
    assert day_hours(monday, weekly, [(False, None, None)]) == []
    assert day_hours(monday, weekly, [(True, time(13), time(15))]) == [(time(13), time(15))]
    assert day_hours(date(2026, 11, 24), weekly, []) == []  # Tuesday: no weekly hours


# --- From the database ---------------------------------------------------------------------------


def test_open_slots_start_after_the_notice_and_skip_booked_sessions(
    frozen, clinic_a, provider, service, hours
):
    profile = availability.profile_for(clinic_a)
    profile.booking_days = 1
    profile.save()
    Meeting.objects.create(
        clinic=clinic_a,
        provider=provider,
        service=service,
        starts_at=tomorrow(clinic_a, 10),
        ends_at=tomorrow(clinic_a, 11),
        guest_name="Booked",
        guest_email="b@example.com",
    )
    slots = availability.open_slots(clinic=clinic_a, service=service)
    starts = [s.starts_at for s in slots]
    # Now is 12:00 with 60 minutes' notice: today from 13:00 to 16:30, tomorrow all but 10:00-11:00.
    assert starts[0] == at(clinic_a, 2026, 11, 23, 13)
    assert at(clinic_a, 2026, 11, 23, 12, 30) not in starts
    assert tomorrow(clinic_a, 10) not in starts and at(clinic_a, 2026, 11, 24, 10, 30) not in starts
    assert tomorrow(clinic_a, 9) in starts and tomorrow(clinic_a, 11) in starts
    assert all(s.provider_ids == (provider.pk,) for s in slots)


def test_open_slots_for_anyone_merge_providers_and_respect_day_off(
    frozen, clinic_a, provider, service, hours
):
    second = staff(username="pia", clinic=clinic_a, role=Role.PROVIDER)
    weekday_hours(clinic_a, second, start=time(16), end=time(18))
    DateException.objects.create(clinic=clinic_a, provider=provider, date=date(2026, 11, 24), available=False)
    slots = {s.starts_at: s.provider_ids for s in availability.open_slots(clinic=clinic_a, service=service)}
    assert slots[at(clinic_a, 2026, 11, 23, 16)] == (provider.pk, second.pk)
    assert slots[at(clinic_a, 2026, 11, 23, 17)] == (second.pk,)
    assert tomorrow(clinic_a, 9) not in slots  # Paula's day off
    assert slots[tomorrow(clinic_a, 16)] == (second.pk,)
    just_paula = availability.open_slots(clinic=clinic_a, service=service, provider_id=provider.pk)
    assert at(clinic_a, 2026, 11, 23, 17) not in {s.starts_at for s in just_paula}


def test_open_slots_across_the_spring_change_in_the_database(clinic_a, provider, service):
    weekday_hours(clinic_a, provider, start=time(1), end=time(4), days=[6])  # Sundays 01:00-04:00
    with time_machine.travel(datetime(2026, 3, 6, 12, tzinfo=UTC), tick=False):
        slots = availability.open_slots(clinic=clinic_a, service=service)
    on_the_day = [
        s.starts_at.astimezone(NEW_YORK).strftime("%d %H:%M") for s in slots if s.starts_at < utc(2026, 3, 9)
    ]
    assert on_the_day == ["08 01:00", "08 01:30", "08 03:00", "08 03:30"]


def test_calendar_availability_at_a_time_needs_hours_and_no_booking(
    frozen, clinic_a, provider, service, hours
):
    assert availability.available_at(
        clinic=clinic_a, provider_ids=[provider.pk], starts_at=tomorrow(clinic_a, 9), duration=HALF_HOUR
    ) == {provider.pk: True}
    # 16:45 + 30 min runs past 17:00.
    late = at(clinic_a, 2026, 11, 24, 16, 45)
    assert availability.available_at(
        clinic=clinic_a, provider_ids=[provider.pk], starts_at=late, duration=HALF_HOUR
    ) == {provider.pk: False}
    assert availability.available_now(clinic=clinic_a) == [provider.pk]  # 12:00 is within hours
    with time_machine.travel(tomorrow(clinic_a, 20), tick=False):
        assert availability.available_now(clinic=clinic_a) == []


def test_on_demand_availability_follows_the_toggle(frozen, clinic_a, provider, service, hours):
    on_demand(clinic_a)
    assert availability.available_now(clinic=clinic_a) == []  # hours don't count in this mode
    services.availability_set(clinic=clinic_a, provider=provider, available=True)
    assert availability.available_now(clinic=clinic_a) == [provider.pk]
    assert availability.available_now(clinic=clinic_a, provider_id=provider.pk + 999) == []
    services.availability_set(clinic=clinic_a, provider=provider, available=False)
    assert availability.available_now(clinic=clinic_a) == []


def test_only_providers_of_the_clinic_have_a_toggle(clinic_a, csr, outsider):
    for user in (csr, outsider):
        with pytest.raises(services.RequestRefused):
            services.availability_set(clinic=clinic_a, provider=user, available=True)


def test_conflicts_are_sessions_within_two_hours_of_a_requested_time(frozen, clinic_a, provider, service):
    def book(hour, minute=0, minutes=30):
        start = at(clinic_a, 2026, 11, 24, hour, minute)
        return Meeting.objects.create(
            clinic=clinic_a, provider=provider, service=service, starts_at=start,
            ends_at=start + timedelta(minutes=minutes), guest_name=f"G{hour}", guest_email="g@example.com",
        )  # fmt: skip

    early = book(7, 30)  # ends 08:00: exactly two hours before 10:00
    near_before = book(8, 0)  # ends 08:30
    near_after = book(11, 59)
    far_after = book(12, 0)  # starts exactly two hours after
    cancelled = book(10)
    cancelled.cancelled_at = MONDAY_NOON  # the fact; the status only caches it
    cancelled.save(update_fields=["cancelled_at"])
    conflicts = availability.conflicts_near(provider_id=provider.pk, times=[tomorrow(clinic_a, 10)])
    refs = [busy.ref for busy in conflicts[tomorrow(clinic_a, 10)]]
    assert refs == [f"meeting:{near_before.pk}", f"meeting:{near_after.pk}"]
    assert f"meeting:{early.pk}" not in refs and f"meeting:{far_after.pk}" not in refs


def test_a_new_clinic_gets_calendar_mode_by_default(clinic_b):
    assert availability.profile_for(clinic_b).availability_mode == SchedulingProfile.Mode.CALENDAR
    assert MONDAY_NOON.tzinfo is UTC
