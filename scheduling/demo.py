"""Scheduling's part of the demo data: services, the provider's weekly hours, one pending request,
and meetings in each status (called by `manage.py seed_demo`; safe to run again)."""

from __future__ import annotations

from datetime import time, timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from scheduling import availability
from scheduling.meetings import booking
from scheduling.meetings import services as meeting_services
from scheduling.models import (
    AppointmentRequest,
    Meeting,
    RequestQuestion,
    SchedulingProfile,
    Service,
    WeeklyHours,
)
from scheduling.requests import services as request_services
from visits import services as visit_services
from waitingroom.models import Clinic


def seed(clinic: Clinic) -> None:
    profile = availability.profile_for(clinic)
    profile.availability_mode = SchedulingProfile.Mode.CALENDAR
    profile.patient_group_name, profile.host_group_name = "Demo patients", "Demo providers"
    profile.save()
    service, _ = Service.objects.update_or_create(
        clinic=clinic,
        name="General consultation",
        defaults={
            "description": "A video visit with one of our providers.",
            "duration_minutes": 30,
            "position": 0,
        },
    )
    # A paid video service: the request form shows its price and the card step (localstripe's test
    # card 4242 4242 4242 4242 in `make run`), and its meetings are charged after they take place.
    Service.objects.update_or_create(
        clinic=clinic,
        name="Nutrition follow-up",
        defaults={
            "kind": Service.Kind.VIDEO,
            "description": "Paid follow-up with our nutrition specialist.",
            "duration_minutes": 45,
            "payment_required": True,
            "price": "40.00",
            "position": 1,
        },
    )
    RequestQuestion.objects.update_or_create(
        clinic=clinic,
        key="reason",
        defaults={"label": "Reason for the session", "required": True, "position": 0},
    )
    provider = get_user_model().objects.get(username="provider")
    # Every day 08:00-20:00 in the clinic's zone, so the demo always has open slots.
    for weekday in range(7):
        WeeklyHours.objects.get_or_create(
            clinic=clinic, provider=provider, weekday=weekday, defaults={"start": time(8), "end": time(20)}
        )
    if not AppointmentRequest.objects.filter(clinic=clinic, status="pending").exists():
        slots = availability.open_slots(
            clinic=clinic, service=service, now=timezone.now() + timedelta(days=1)
        )
        request_services.request_submit(
            clinic=clinic,
            service=service,
            provider_id=None,
            kind=AppointmentRequest.Kind.SCHEDULED,
            name="Jamie Requester",
            email="jamie@example.com",
            phone="+15555550123",
            answers={"reason": "Follow-up on blood test results"},
            note="Mornings suit me best.",
            times=[slot.starts_at for slot in slots[:3]],
        )
    if not Meeting.objects.filter(clinic=clinic, guest_email__endswith=DEMO_GUESTS).exists():
        seed_meetings(clinic, provider, service)


DEMO_GUESTS = "@demo-guest.example"


def seed_meetings(clinic: Clinic, provider, service: Service) -> None:
    """One meeting in each status, made through the services, so every fact behind a status (a
    call, a failure, a cancellation) is real. Meetings that have begun can't be booked, so they are
    made with create_meeting."""
    now = timezone.now().replace(second=0, microsecond=0)
    hour = timedelta(hours=1)

    def schedule(name: str, times: list, **extra) -> Meeting:
        return booking.meeting_schedule(
            clinic=clinic, by=provider, provider_id=provider.pk, service=service, guest_name=name,
            guest_email=f"{name.split()[0].lower()}{DEMO_GUESTS}", times=times, **extra,
        )  # fmt: skip

    def past(name: str, starts_at) -> Meeting:
        return booking.create_meeting(
            now=now, event="schedule", by=provider, clinic=clinic, provider=provider, service=service,
            starts_at=starts_at, ends_at=starts_at + service.duration, guest_name=name,
            guest_email=f"{name.split()[0].lower()}{DEMO_GUESTS}", created_by=provider,
        )  # fmt: skip

    def held(meeting: Meeting, *, fails: bool) -> None:
        visit, _token = meeting_services.meeting_enter(meeting_id=meeting.pk)
        visit_services.visit_media_result(visit_id=visit.pk, ok=True)
        meeting_services.meeting_host_enter(meeting_id=meeting.pk, user=provider)
        if fails:
            visit_services.visit_call_failed(visit_id=visit.pk, reason="demo: no connection", user=provider)
        visit_services.visit_end(visit_id=visit.pk, user=provider)

    schedule("Sam Scheduled", [now + 26 * hour], description="Follow-up on the blood test results.")
    schedule("Sunny Soon", [now + timedelta(minutes=40)], guest_phone="+15555550142")
    schedule("Pat Planning", [now + 48 * hour, now + 50 * hour, now + 72 * hour])
    cancelled = schedule("Cass Cancelled", [now + 30 * hour])
    booking.meeting_cancel(meeting_id=cancelled.pk, by=provider)
    # Held meetings are lived through now, inside their join windows: they began a little earlier.
    completed = past("Cory Completed", now - timedelta(minutes=25))
    held(completed, fails=False)
    meeting_services.meeting_summary_set(
        meeting_id=completed.pk, by=provider, summary="Keep the new dose for two weeks, then call us."
    )
    meeting_services.meeting_review(meeting_id=completed.pk, rating=5, text="Quick and clear, thank you.")
    past("Max Missed", now - 6 * hour)
    held(past("Fay Failed", now - timedelta(minutes=10)), fails=True)
    meeting_services.meetings_refresh_statuses()
