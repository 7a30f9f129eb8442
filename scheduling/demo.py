"""Scheduling's part of the demo data: a service, the provider's weekly hours, and one pending
request (called by `manage.py seed_demo`; safe to run again)."""

from __future__ import annotations

from datetime import time, timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from scheduling import availability, services
from scheduling.models import AppointmentRequest, RequestQuestion, SchedulingProfile, Service, WeeklyHours
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
    Service.objects.update_or_create(
        clinic=clinic,
        name="Nutrition follow-up",
        defaults={
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
        services.request_submit(
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
