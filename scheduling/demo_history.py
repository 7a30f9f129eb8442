"""Ninety days of past meetings for the demo clinic, completed and missed, so that /reports/ shows
no-shows (called by `manage.py seed_demo` after visits' history; safe to run again).

A completed meeting is one whose guest's visit was called (meetings/status.py derives it from the
visit), so each gets its visit, made by visits' history seeder's bulk helper; a missed one has none.
The meetings end more than a day ago, out of the status sweep's reach, with the status it would
store."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from scheduling.meetings.status import MeetingStatus
from scheduling.models import Meeting, Service
from visits import demo_history
from visits.models import APPOINTMENT_ANSWER
from waitingroom.models import Clinic

DAYS = 90
GUESTS = "@demo-history.example"
NAMES = ["Dana Lee", "Eli Brooks", "Farah Noor", "Gus Moreno", "Hana Sato", "Ivo Petrov", "Jo Walsh"]


def seed(clinic: Clinic) -> None:
    if Meeting.objects.filter(clinic=clinic, guest_email__endswith=GUESTS).exists():
        return
    provider = get_user_model().objects.get(username="provider")
    service = Service.objects.get(clinic=clinic, name="General consultation")
    rng = random.Random(21)  # noqa: S311 - demo data, the same on every machine
    today = timezone.localdate(timezone.now(), clinic.tzinfo)
    meetings: list[Meeting] = []
    held: list[tuple[Meeting, demo_history.Planned]] = []
    for back in range(DAYS, 1, -1):
        day = today - timedelta(days=back)
        if day.weekday() >= 5:
            continue
        for hour in sorted(rng.sample(range(9, 17), rng.randint(1, 4))):
            starts = datetime.combine(day, time(hour), tzinfo=clinic.tzinfo)
            name = rng.choice(NAMES)
            missed = rng.random() < 0.14
            meeting = Meeting(
                clinic=clinic, provider=provider, service=service, starts_at=starts,
                ends_at=starts + service.duration, guest_name=name,
                guest_email=f"{name.split()[0].lower()}{GUESTS}",
                status=MeetingStatus.MISSED if missed else MeetingStatus.COMPLETED, created_by=provider,
            )  # fmt: skip
            meetings.append(meeting)
            if not missed:
                visit = demo_history.planned_call(
                    name,
                    starts - timedelta(minutes=rng.randint(1, 6)),
                    wait=timedelta(minutes=rng.uniform(1, 9)),
                    call=timedelta(minutes=rng.uniform(12, 28)),
                    answers={APPOINTMENT_ANSWER: service.name},
                )
                held.append((meeting, visit))
    visits = demo_history.create(clinic, [v for _, v in held], key="demo-meeting-history")
    for (meeting, _plan), made in zip(held, visits, strict=True):
        meeting.visit = made
        meeting.guest_entered_at = made.arrived_at
    Meeting.objects.bulk_create(meetings, batch_size=500)
