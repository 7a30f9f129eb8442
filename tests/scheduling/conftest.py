"""Scheduling personas and helpers: clinic A's service and provider hours, its scheduler "sam",
and requests made through the services."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from scheduling import availability
from scheduling.models import AppointmentRequest, SchedulingProfile, Service, WeeklyHours
from scheduling.requests import services
from tests.conftest import client_for
from tests.factories import staff
from tests.support.stripe import local_api
from tests.waitingroom.payments import cards
from waitingroom.models import Role

# A Monday, 12:00 in New York (clinic A's zone, EST, UTC-5).
MONDAY_NOON = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _empty_mail_outbox():
    mail.outbox.clear()


@pytest.fixture
def frozen():
    """The clock stopped at MONDAY_NOON (moves only when the test says so)."""
    with time_machine.travel(MONDAY_NOON, tick=False) as traveller:
        yield traveller


@pytest.fixture
def service(clinic_a):
    return Service.objects.create(clinic=clinic_a, name="General consultation", duration_minutes=30)


@pytest.fixture
def scheduler(clinic_a):
    return staff(
        username="sam", clinic=clinic_a, role=Role.SCHEDULER, first_name="Sam", last_name="Scheduler"
    )


@pytest.fixture
def scheduler_client(scheduler):
    return client_for(scheduler)


def weekday_hours(clinic, provider, start=time(9), end=time(17), days=range(7)) -> None:
    for weekday in days:
        WeeklyHours.objects.create(clinic=clinic, provider=provider, weekday=weekday, start=start, end=end)


@pytest.fixture
def hours(clinic_a, provider):
    """Paula works 09:00-17:00 clinic time, every day."""
    weekday_hours(clinic_a, provider)


def at(clinic, y, m, d, hh, mm=0) -> datetime:
    """A wall-clock time in the clinic's zone, as a UTC instant."""
    return datetime(y, m, d, hh, mm, tzinfo=clinic.tzinfo).astimezone(UTC)


def scheduled_request(
    clinic, service, *, times, provider=None, email="rita@example.com", name="Rita Requester", **extra
) -> AppointmentRequest:
    return services.request_submit(
        clinic=clinic,
        service=service,
        provider_id=provider.pk if provider else None,
        kind=AppointmentRequest.Kind.SCHEDULED,
        name=name,
        email=email,
        times=times,
        **extra,
    )


def on_demand(clinic) -> SchedulingProfile:
    profile = availability.profile_for(clinic)
    profile.availability_mode = SchedulingProfile.Mode.ON_DEMAND
    profile.save(update_fields=["availability_mode"])
    return profile


def tomorrow(clinic, hour: int) -> datetime:
    """Tuesday 24 November 2026 at `hour` o'clock, clinic time (frozen clock is the Monday)."""
    return at(clinic, 2026, 11, 24, hour)


# --- Card payments -------------------------------------------------------------------------------


@pytest.fixture
def paid_service(clinic_a):
    """A video service that requires payment: 60.00 in clinic A's currency (US dollars)."""
    return Service.objects.create(
        clinic=clinic_a, name="Specialist review", duration_minutes=30, payment_required=True, price="60.00"
    )


@pytest.fixture
def clinic_admin(clinic_a):
    return staff(username="ada", clinic=clinic_a, role=Role.CLINIC_ADMIN, first_name="Ada", last_name="Admin")


def save_card(client, clinic, *, email: str, name: str = "Rita Requester", number: str = cards.OK) -> str:
    """Save a card through the card step's endpoints as a booking page does, against localstripe:
    the server starts a SetupIntent, the card is confirmed on it as Stripe.js would (the bank's
    check passed, for a card that asks for one), and the server reads it back. The card's token,
    which the page then posts with its form."""
    started = client.post(reverse("payments_card_setup", args=[clinic.slug]), {"email": email, "name": name})
    assert started.status_code == 200, started.content
    secret, token = started.json()["client_secret"], started.json()["token"]
    status, body = cards.confirm_setup(secret, number)
    assert status == 200, body
    if body["status"] == "requires_action":
        cards.complete_setup_authentication(secret)
    finished = client.post(reverse("payments_card_finish", args=[clinic.slug]), {"token": token})
    assert finished.status_code == 200, finished.content
    return token


def stripe_payment_intents(*customers: str) -> list[dict]:
    """The PaymentIntents localstripe holds for these Stripe customers (it lives for the whole
    session, shared by every test: read only the test's own)."""
    found, after = [], ""
    while True:
        page = local_api("GET", f"/v1/payment_intents?limit=100{'&starting_after=' + after if after else ''}")
        found += [intent for intent in page["data"] if intent.get("customer") in customers]
        if not page.get("has_more") or not page["data"]:
            return found
        after = page["data"][-1]["id"]
