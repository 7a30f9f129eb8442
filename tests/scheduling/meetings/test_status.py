"""A meeting's status follows only its stored facts and the clock: every status, the one-hour
boundary, a meeting across midnight in the clinic's zone, the four media-check symbols, and what
each status allows (the rules the pages ask)."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduling.meetings.status import (
    INDICATOR_LABELS,
    INDICATOR_SYMBOLS,
    RULES,
    Facts,
    MeetingStatus,
    derive,
    indicator,
    rules_of,
)

START = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # 10:00 in New York
END = START + timedelta(minutes=30)
BOOKED = Facts(
    starts_at=START, ends_at=END, cancelled=False, call_started=False, call_failed=False, in_call=False
)
SECOND = timedelta(seconds=1)


@pytest.mark.parametrize(
    "facts, now, expected",
    [
        (BOOKED, START - timedelta(days=1), MeetingStatus.SCHEDULED),
        (BOOKED, START - timedelta(hours=1) - SECOND, MeetingStatus.SCHEDULED),
        (BOOKED, START - timedelta(hours=1), MeetingStatus.STARTING_SOON),  # the hour boundary
        (BOOKED, START, MeetingStatus.STARTING_SOON),  # started, still joinable
        (BOOKED, END - SECOND, MeetingStatus.STARTING_SOON),
        (BOOKED, END, MeetingStatus.MISSED),  # nobody entered the call by the end
        (replace(BOOKED, starts_at=None, ends_at=None), START, MeetingStatus.PLANNING),
        (replace(BOOKED, cancelled=True), START - timedelta(days=1), MeetingStatus.CANCELLED),
        (replace(BOOKED, cancelled=True), END + timedelta(days=1), MeetingStatus.CANCELLED),
        (replace(BOOKED, starts_at=None, ends_at=None, cancelled=True), START, MeetingStatus.CANCELLED),
        (replace(BOOKED, call_started=True, in_call=True), START, MeetingStatus.IN_PROGRESS),
        # A call that runs over its end is still in progress, not missed.
        (replace(BOOKED, call_started=True, in_call=True), END + timedelta(minutes=5), MeetingStatus.IN_PROGRESS),
        (replace(BOOKED, call_started=True), START + timedelta(minutes=20), MeetingStatus.COMPLETED),
        (replace(BOOKED, call_started=True), END + timedelta(days=2), MeetingStatus.COMPLETED),
        (replace(BOOKED, call_started=True, call_failed=True, in_call=True), START, MeetingStatus.FAILED),
        (replace(BOOKED, call_started=True, call_failed=True), END + SECOND, MeetingStatus.FAILED),
    ],
)  # fmt: skip
def test_every_status_from_facts_and_the_clock(facts, now, expected):
    assert derive(facts, now) == expected


def test_a_meeting_across_midnight_in_the_clinics_zone():
    new_york = ZoneInfo("America/New_York")
    starts = datetime(2026, 11, 24, 23, 30, tzinfo=new_york)
    facts = replace(
        BOOKED, starts_at=starts.astimezone(UTC), ends_at=(starts + timedelta(hours=1)).astimezone(UTC)
    )
    at = lambda day, hh, mm: datetime(2026, 11, day, hh, mm, tzinfo=new_york)  # noqa: E731
    assert derive(facts, at(24, 22, 29)) == MeetingStatus.SCHEDULED
    assert derive(facts, at(24, 22, 30)) == MeetingStatus.STARTING_SOON
    # Past midnight, on the next calendar day in New York (already the 25th in UTC long before).
    assert derive(facts, at(25, 0, 29)) == MeetingStatus.STARTING_SOON
    assert derive(facts, at(25, 0, 30)) == MeetingStatus.MISSED


def test_status_does_not_depend_on_the_servers_zone(settings):
    now = START - timedelta(minutes=59)
    first = derive(BOOKED, now)
    settings.TIME_ZONE = "Pacific/Kiritimati"
    assert (
        derive(BOOKED, now.astimezone(ZoneInfo("Pacific/Kiritimati"))) == first == MeetingStatus.STARTING_SOON
    )


@pytest.mark.parametrize(
    "entered, media_check, expected",
    [
        (False, None, "absent"),  # grey question mark: not entered
        (True, "not_started", "checking"),  # yellow question mark: entered, check not done
        (True, "in_progress", "checking"),
        (True, "failed", "failed"),  # red cross
        (True, "passed", "passed"),  # green check
    ],
)
def test_the_four_media_check_symbols(entered, media_check, expected):
    assert indicator(entered=entered, media_check=media_check) == expected
    assert INDICATOR_SYMBOLS[expected] and INDICATOR_LABELS[expected]


S = MeetingStatus
# Each rule as the statuses it holds for: the sets the pages and services named before they asked.
HOLDS_FOR = {
    "cancelled": {S.CANCELLED},
    "picking_time": {S.PLANNING},
    "changeable": {S.PLANNING, S.SCHEDULED, S.STARTING_SOON},
    "awaiting_start": {S.SCHEDULED, S.STARTING_SOON},
    "host_may_enter": {S.SCHEDULED, S.STARTING_SOON, S.IN_PROGRESS, S.FAILED},
    "reviewable": {S.COMPLETED},
    "card_savable": {S.PLANNING, S.SCHEDULED, S.STARTING_SOON, S.IN_PROGRESS, S.FAILED, S.COMPLETED},
    "chargeable": {S.COMPLETED},
}


@pytest.mark.parametrize("status", list(MeetingStatus))
def test_every_status_states_every_rule(status):
    assert set(RULES) == set(MeetingStatus)
    assert {f.name for f in fields(RULES[status])} == set(HOLDS_FOR)
    for rule, statuses in HOLDS_FOR.items():
        assert getattr(RULES[status], rule) is (status in statuses), rule
    # The stored status is a plain string: it gets the same answers.
    assert rules_of(str(status.value)) == RULES[status]
