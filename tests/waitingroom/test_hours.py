"""Opening hours: the pure rules (waitingroom/hours.py) across both of New York's DST changes and
a holiday, their words for people, and the same answers through the clinic's stored hours with a
frozen clock (waitingroom/opening.py)."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine

from waitingroom import hours, opening
from waitingroom.hours import Interval, Schedule

NY = zoneinfo.ZoneInfo("America/New_York")
LABEL = "New York time"
WEEKDAYS_8_TO_5 = {day: (Interval(time(8), time(17)),) for day in range(5)}


def ny(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=NY)


def state_at(schedule: Schedule, moment: datetime, **kwargs) -> hours.OpenState:
    return hours.open_state(schedule, tz=NY, now=moment, **kwargs)


def opens(schedule: Schedule, moment: datetime) -> str:
    return hours.opens_words(state_at(schedule, moment), tz=NY, now=moment, zone_label=LABEL)


# --- A plain week ----------------------------------------------------------------------------------


def test_no_hours_at_all_is_always_open():
    state = state_at(Schedule(), ny(2026, 12, 6, 3, 0))
    assert state.is_open and not state.has_hours and state.closes_at is None


def test_open_during_the_hours_until_the_closing_time():
    state = state_at(Schedule(weekly=WEEKDAYS_8_TO_5), ny(2026, 12, 7, 10, 0))  # a Monday
    assert state.is_open and state.closes_at == ny(2026, 12, 7, 17, 0)


def test_after_closing_closed_since_then_and_opens_tomorrow():
    schedule = Schedule(weekly=WEEKDAYS_8_TO_5)
    now = ny(2026, 12, 7, 17, 30)
    state = state_at(schedule, now)
    assert not state.is_open
    assert state.closed_since == ny(2026, 12, 7, 17, 0)
    assert state.opens_at == ny(2026, 12, 8, 8, 0)
    assert hours.closed_since_words(state, tz=NY, now=now) == "Closed since 17:00"
    assert opens(schedule, now) == "Opens tomorrow at 08:00 New York time"


def test_before_the_afternoon_interval_opens_today():
    schedule = Schedule(weekly={0: (Interval(time(8), time(12)), Interval(time(14), time(18)))})
    now = ny(2026, 12, 7, 12, 30)
    state = state_at(schedule, now)
    assert not state.is_open and state.closed_since == ny(2026, 12, 7, 12, 0)
    assert hours.opens_words(state, tz=NY, now=now) == "Opens today at 14:00"


def test_a_friday_evening_opens_on_monday_named_by_its_date():
    schedule = Schedule(weekly=WEEKDAYS_8_TO_5)
    now = ny(2026, 12, 11, 18, 0)  # Friday
    assert opens(schedule, now) == "Opens on Monday 14 December at 08:00 New York time"
    # Saturday: it closed yesterday.
    saturday = ny(2026, 12, 12, 9, 0)
    assert hours.closed_since_words(state_at(schedule, saturday), tz=NY, now=saturday) == (
        "Closed since yesterday at 17:00"
    )


def test_whole_days_join_into_one_stretch():
    schedule = Schedule(weekly={day: (Interval(time(0), time(0)),) for day in range(7)})
    now = ny(2026, 12, 7, 23, 59)
    state = state_at(schedule, now)
    # Midnight is no closing: the stretch runs to the end of what is looked at.
    assert state.is_open and state.closes_at is not None and state.closes_at > now + timedelta(days=7)


def test_the_instant_of_closing_is_closed_and_of_opening_open():
    schedule = Schedule(weekly=WEEKDAYS_8_TO_5)
    assert not state_at(schedule, ny(2026, 12, 7, 17, 0)).is_open
    assert state_at(schedule, ny(2026, 12, 7, 8, 0)).is_open


# --- Daylight saving time --------------------------------------------------------------------------
# 2027-03-14 (a Sunday): 02:00 EST becomes 03:00 EDT; 02:xx does not exist.
# 2026-11-01 (a Sunday): 02:00 EDT becomes 01:00 EST; 01:xx happens twice.


def test_spring_forward_a_day_of_23_hours_is_not_assumed_24():
    schedule = Schedule(weekly={6: (Interval(time(1), time(5)),)})
    morning = datetime(2027, 3, 14, 5, 30, tzinfo=UTC)  # 00:30 EST
    state = state_at(schedule, morning)
    assert state.opens_at == datetime(2027, 3, 14, 6, 0, tzinfo=UTC)  # 01:00 EST
    during = datetime(2027, 3, 14, 8, 30, tzinfo=UTC)  # 04:30 EDT
    open_now = state_at(schedule, during)
    # 01:00 EST to 05:00 EDT: three real hours, and the end is 05:00 on the clock.
    assert open_now.is_open and open_now.closes_at == datetime(2027, 3, 14, 9, 0, tzinfo=UTC)
    assert open_now.closes_at.astimezone(NY).hour == 5


def test_spring_forward_a_time_that_does_not_exist_opens_an_hour_later_on_the_clock():
    schedule = Schedule(weekly={6: (Interval(time(2, 30), time(6)),)})
    now = ny(2027, 3, 14, 0, 15)
    state = state_at(schedule, now)
    # 02:30 EST does not happen: it is 03:30 EDT, the same instant.
    assert state.opens_at == datetime(2027, 3, 14, 7, 30, tzinfo=UTC)
    assert hours.opens_words(state, tz=NY, now=now, zone_label=LABEL) == "Opens today at 03:30 New York time"
    assert state_at(schedule, datetime(2027, 3, 14, 7, 45, tzinfo=UTC)).is_open


def test_spring_forward_an_interval_inside_the_gap_keeps_its_length_an_hour_later_on_the_clock():
    schedule = Schedule(weekly={6: (Interval(time(2, 0), time(2, 30)),), 0: (Interval(time(8), time(9)),)})
    state = state_at(schedule, datetime(2027, 3, 14, 7, 15, tzinfo=UTC))  # 03:15 EDT
    assert state.is_open and state.closes_at == ny(2027, 3, 14, 3, 30)
    after = state_at(schedule, datetime(2027, 3, 14, 7, 30, tzinfo=UTC))
    assert not after.is_open and after.opens_at == ny(2027, 3, 15, 8, 0)


def test_fall_back_a_day_of_25_hours_is_open_25_hours_once():
    whole_days = Schedule(weekly={day: (Interval(time(0), time(0)),) for day in (5, 6)} | {0: ()})
    stretches = hours.spans(whole_days, NY, date(2026, 10, 31), date(2026, 11, 1))
    # Saturday and Sunday join into one stretch: 24 + 25 hours, nothing counted twice.
    assert stretches == [(datetime(2026, 10, 31, 4, 0, tzinfo=UTC), datetime(2026, 11, 2, 5, 0, tzinfo=UTC))]
    assert stretches[0][1] - stretches[0][0] == timedelta(hours=49)


def test_fall_back_a_repeated_time_is_its_first_occurrence():
    schedule = Schedule(weekly={6: (Interval(time(0), time(1, 30)), Interval(time(9), time(12)))})
    first = datetime(2026, 11, 1, 5, 15, tzinfo=UTC)  # 01:15 EDT, the first 01:15
    second = datetime(2026, 11, 1, 6, 15, tzinfo=UTC)  # 01:15 EST, the second
    assert state_at(schedule, first).is_open
    state = state_at(schedule, second)
    assert not state.is_open
    assert state.closed_since == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT
    assert hours.closed_since_words(state, tz=NY, now=second) == "Closed since 01:30"
    assert state.opens_at == ny(2026, 11, 1, 9, 0)


def test_fall_back_an_interval_over_the_repeated_hour_lasts_its_real_length():
    schedule = Schedule(weekly={6: (Interval(time(1), time(3)),)})
    stretches = hours.spans(schedule, NY, date(2026, 11, 1), date(2026, 11, 1))
    # 01:00 EDT to 03:00 EST: three real hours.
    assert stretches == [(datetime(2026, 11, 1, 5, 0, tzinfo=UTC), datetime(2026, 11, 1, 8, 0, tzinfo=UTC))]


# --- Holidays and special days ---------------------------------------------------------------------


def test_a_holiday_is_closed_all_day_and_the_next_opening_skips_it():
    schedule = Schedule(weekly=WEEKDAYS_8_TO_5, exceptions={date(2026, 12, 25): ()})
    now = ny(2026, 12, 24, 18, 0)  # Thursday evening; Friday 25 is Christmas
    state = state_at(schedule, now)
    assert not state.is_open and state.opens_at == ny(2026, 12, 28, 8, 0)
    assert opens(schedule, now) == "Opens on Monday 28 December at 08:00 New York time"
    assert not state_at(schedule, ny(2026, 12, 25, 10, 0)).is_open


def test_special_hours_replace_the_days_weekly_hours():
    schedule = Schedule(
        weekly=WEEKDAYS_8_TO_5, exceptions={date(2026, 12, 24): (Interval(time(9), time(12)),)}
    )
    assert not state_at(schedule, ny(2026, 12, 24, 8, 30)).is_open
    assert state_at(schedule, ny(2026, 12, 24, 11, 0)).is_open
    assert not state_at(schedule, ny(2026, 12, 24, 13, 0)).is_open


def test_a_long_closure_still_finds_the_next_opening():
    closed = {date(2026, 12, 7) + timedelta(days=n): () for n in range(60)}
    schedule = Schedule(weekly=WEEKDAYS_8_TO_5, exceptions=closed)
    state = state_at(schedule, ny(2026, 12, 7, 9, 0))
    assert state.opens_at == ny(2027, 2, 5, 8, 0)  # the first weekday after 60 closed days


def test_closed_by_hand_overrides_the_hours_and_names_who():
    manual = hours.ManualClose(at=ny(2026, 12, 7, 14, 32), by="Dana", message="Back at 3 pm.")
    now = ny(2026, 12, 7, 14, 40)
    state = state_at(Schedule(weekly=WEEKDAYS_8_TO_5), now, manual=manual)
    assert not state.is_open and state.opens_at is None
    assert hours.closed_since_words(state, tz=NY, now=now) == "Closed now by Dana at 14:32: Back at 3 pm."
    assert not state_at(Schedule(), now, manual=manual).is_open  # no hours set, closed by hand


@pytest.mark.parametrize(
    ("now", "words"),
    [
        (ny(2026, 12, 8, 9, 0), "Closed by Dana yesterday at 14:32"),
        (ny(2026, 12, 11, 9, 0), "Closed by Dana on Monday 7 December at 14:32"),
    ],
)
def test_closed_by_hand_days_ago_says_the_day_in_a_sentence(now, words):
    manual = hours.ManualClose(at=ny(2026, 12, 7, 14, 32), by="Dana", message="")
    state = state_at(Schedule(weekly=WEEKDAYS_8_TO_5), now, manual=manual)
    assert hours.closed_since_words(state, tz=NY, now=now) == words


@pytest.mark.parametrize(
    ("intervals", "words"),
    [
        ([Interval(time(9), time(8))], "the opening time must be before the closing time"),
        ([Interval(time(9), time(9))], "the opening time must be before the closing time"),
        ([Interval(time(8), time(12)), Interval(time(11), time(14))], "08:00-12:00 and 11:00-14:00 overlap"),
    ],
)
def test_bad_intervals_are_refused_with_words(intervals, words):
    with pytest.raises(hours.HoursError, match=words):
        hours.check_intervals(intervals)


def test_touching_intervals_and_a_midnight_close_are_fine():
    hours.check_intervals([Interval(time(8), time(12)), Interval(time(12), time(0))])


# --- The next change, for the exact-time task (waitingroom/opening.py flip_at) -----------------

SOON = timedelta(seconds=60)


def change_after(schedule: Schedule, moment: datetime, within: timedelta = SOON) -> datetime | None:
    return hours.next_change(schedule, tz=NY, now=moment, within=within)


def test_the_next_change_is_the_closing_or_opening_instant_when_it_comes_within_the_window():
    schedule = Schedule(weekly=WEEKDAYS_8_TO_5)
    assert change_after(schedule, ny(2026, 12, 7, 16, 59, 30)) == ny(2026, 12, 7, 17, 0)
    assert change_after(schedule, ny(2026, 12, 8, 7, 59, 1)) == ny(2026, 12, 8, 8, 0)
    # Further than the window, already past, or at the instant itself (then already changed): none.
    assert change_after(schedule, ny(2026, 12, 7, 16, 58, 59)) is None
    assert change_after(schedule, ny(2026, 12, 7, 17, 0)) is None
    assert change_after(schedule, ny(2026, 12, 7, 17, 0, 1)) is None
    # Its own instant agrees with open_state: open just before, closed at it.
    at = change_after(schedule, ny(2026, 12, 7, 16, 59, 30))
    assert at is not None and state_at(schedule, at - timedelta(microseconds=1)).is_open
    assert not state_at(schedule, at).is_open


def test_no_hours_or_midnight_between_whole_open_days_is_no_change():
    assert change_after(Schedule(), ny(2026, 12, 7, 16, 59, 30)) is None
    whole_days = Schedule(weekly={day: (Interval(time(0), time(0)),) for day in range(7)})
    assert change_after(whole_days, ny(2026, 12, 7, 23, 59, 30)) is None


def test_next_change_over_midnight_and_a_friday_evening_finds_only_real_edges():
    late = Schedule(weekly={0: (Interval(time(20), time(0)),), 1: (Interval(time(0), time(2)),)})
    # Monday 20:00 to Tuesday 02:00 is one stretch: midnight is no change, 02:00 is.
    assert change_after(late, ny(2026, 12, 7, 23, 59, 30)) is None
    assert change_after(late, ny(2026, 12, 8, 1, 59, 30)) == ny(2026, 12, 8, 2, 0)
    assert change_after(Schedule(weekly=WEEKDAYS_8_TO_5), ny(2026, 12, 11, 18, 0), timedelta(days=3)) == ny(
        2026, 12, 14, 8, 0
    )


def test_next_change_on_the_spring_forward_day_is_the_real_instant():
    # 2027-03-14: 01:00 EST to 05:00 EDT (three real hours), and 02:30, which does not exist, as 03:30 EDT.
    schedule = Schedule(weekly={6: (Interval(time(1), time(5)),)})
    assert change_after(schedule, datetime(2027, 3, 14, 5, 59, 30, tzinfo=UTC)) == datetime(
        2027, 3, 14, 6, 0, tzinfo=UTC
    )
    # 04:59:30 EDT: the closing in 30 s is 09:00 UTC, not 10:00 (a 24-hour day's 05:00).
    assert change_after(schedule, datetime(2027, 3, 14, 8, 59, 30, tzinfo=UTC)) == datetime(
        2027, 3, 14, 9, 0, tzinfo=UTC
    )
    in_gap = Schedule(weekly={6: (Interval(time(2, 30), time(6)),)})
    # 01:59:30 EST: 02:30 on the clock is not half an hour away, it is 03:30 EDT (07:30 UTC).
    assert change_after(in_gap, datetime(2027, 3, 14, 6, 59, 30, tzinfo=UTC)) is None
    assert change_after(in_gap, datetime(2027, 3, 14, 7, 29, 30, tzinfo=UTC)) == datetime(
        2027, 3, 14, 7, 30, tzinfo=UTC
    )


def test_next_change_on_the_fall_back_day_closes_at_the_first_repeated_time_only():
    # 2026-11-01: 00:00-01:30 closes at the first 01:30 (EDT, 05:30 UTC); the second 01:30 (EST)
    # an hour later is no change.
    schedule = Schedule(weekly={6: (Interval(time(0), time(1, 30)), Interval(time(9), time(12)))})
    assert change_after(schedule, datetime(2026, 11, 1, 5, 29, 30, tzinfo=UTC)) == datetime(
        2026, 11, 1, 5, 30, tzinfo=UTC
    )
    assert change_after(schedule, datetime(2026, 11, 1, 6, 29, 30, tzinfo=UTC)) is None
    # 01:00 EDT to 03:00 EST is three real hours: the closing is 08:00 UTC.
    long_night = Schedule(weekly={6: (Interval(time(1), time(3)),)})
    assert change_after(long_night, datetime(2026, 11, 1, 7, 59, 30, tzinfo=UTC)) == datetime(
        2026, 11, 1, 8, 0, tzinfo=UTC
    )
    assert change_after(long_night, datetime(2026, 11, 1, 6, 59, 30, tzinfo=UTC)) is None


# --- Through the clinic's stored hours, with a frozen clock --------------------------------------


@pytest.fixture
def ny_clinic(clinic_a):
    from waitingroom.models import HoursException, OpeningHours

    for day in range(5):
        OpeningHours.objects.create(clinic=clinic_a, weekday=day, opens=time(8), closes=time(17))
    HoursException.objects.create(clinic=clinic_a, date=date(2026, 12, 25), note="Christmas Day")
    return clinic_a


def test_the_clinics_hours_through_both_dst_changes_and_a_holiday_with_a_frozen_clock(ny_clinic):
    from waitingroom.models import HoursException

    # Both DST Sundays open 01:00-03:00 (special hours): three real hours in the fall, one in spring.
    for day in (date(2026, 11, 1), date(2027, 3, 14)):
        HoursException.objects.create(clinic=ny_clinic, date=day, opens=time(1), closes=time(3))
    checks = [
        (ny(2026, 12, 24, 18, 0), False, "Opens on Monday 28 December at 08:00 New York time"),
        (ny(2026, 12, 28, 8, 0), True, ""),
        (datetime(2026, 11, 1, 7, 30, tzinfo=UTC), True, ""),  # 02:30 EST, after the repeated hour
        (datetime(2026, 11, 1, 8, 0, tzinfo=UTC), False, "Opens tomorrow at 08:00 New York time"),
        (datetime(2026, 11, 1, 4, 30, tzinfo=UTC), False, "Opens today at 01:00 New York time"),
        (datetime(2027, 3, 14, 6, 30, tzinfo=UTC), True, ""),  # 01:30 EST
        (datetime(2027, 3, 14, 7, 0, tzinfo=UTC), False, "Opens tomorrow at 08:00 New York time"),
    ]
    for moment, is_open, words in checks:
        with time_machine.travel(moment, tick=False):
            state = opening.open_state(clinic=ny_clinic)
            assert state.is_open is is_open, moment
            said = opening.clinic_words(clinic=ny_clinic)
            assert said.opens == (f"{words}." if words else ""), moment
