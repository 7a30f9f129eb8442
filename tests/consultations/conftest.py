"""Consultation personas and helpers: clinic A's phone service, a client ("Casey", owner of a dog
called Rex) and consultations made straight in the database for tests of the room (booking's own
tests go through the booking service)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core import mail
from django.utils import timezone

from consultations.lifecycle import Status
from consultations.models import Consultation
from scheduling.models import Requester, Service
from tests.factories import staff
from tests.visits.conftest import Published, published  # noqa: F401 - the shared fixture
from waitingroom.models import Clinic, Role

CLIENT_EMAIL = "casey@example.com"
CLIENT_PHONE = "+12025550143"


@pytest.fixture(autouse=True)
def _empty_mail_outbox():
    mail.outbox.clear()


@pytest.fixture
def phone_service(clinic_a):
    return Service.objects.create(
        clinic=clinic_a, name="Phone consultation", kind=Service.Kind.PHONE, duration_minutes=20
    )


def make_consultation(
    clinic: Clinic,
    service: Service,
    *,
    expert=None,
    status: str | None = None,
    starts_at: datetime | None = None,
    email: str = CLIENT_EMAIL,
    name: str = "Casey Client",
    **fields,
) -> Consultation:
    """A consultation in `status` (Claimed when an expert is given, else Available)."""
    requester, _ = Requester.objects.get_or_create(email=email, defaults={"name": name})
    starts_at = starts_at or timezone.now() + timedelta(days=1)
    return Consultation.objects.create(
        clinic=clinic,
        service=service,
        expert=expert,
        status=status or (Status.CLAIMED if expert else Status.AVAILABLE),
        starts_at=starts_at,
        ends_at=starts_at + service.duration,
        requester=requester,
        client_name=name,
        client_email=email,
        client_phone=CLIENT_PHONE,
        answers={"pet_name": "Rex", "species": "Dog", "problem": "Limping since Sunday"},
        created_at=timezone.now(),
        **fields,
    )


@pytest.fixture
def available(clinic_a, phone_service):
    return make_consultation(clinic_a, phone_service)


@pytest.fixture
def claimed(clinic_a, phone_service, provider):
    return make_consultation(clinic_a, phone_service, expert=provider)


# --- Attachments: a storage folder per test, the other staff roles, what was pushed ----------------


@pytest.fixture
def media(settings, tmp_path) -> Path:
    """STORAGES["default"] in a folder of the test's own: what was stored can be listed."""
    root = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": root}},
    }
    return root


@pytest.fixture
def clinic_admin(clinic_a):
    return staff(username="ada", clinic=clinic_a, role=Role.CLINIC_ADMIN, first_name="Ada", last_name="Admin")


@pytest.fixture
def scheduler(clinic_a):
    return staff(
        username="sam", clinic=clinic_a, role=Role.SCHEDULER, first_name="Sam", last_name="Scheduler"
    )


# --- Card payments: a paid phone service (its card saved through localstripe) -------------------


@pytest.fixture
def paid_service(clinic_a):
    """Clinic A's paid phone service: 45.00 in the clinic's currency (US dollars), charged by card
    after the consultation."""
    return Service.objects.create(
        clinic=clinic_a,
        name="Medication review",
        kind=Service.Kind.PHONE,
        duration_minutes=20,
        payment_required=True,
        price=Decimal("45.00"),
    )


@pytest.fixture
def payments_on(settings, localstripe):
    """Card payments on, through localstripe (test_settings points the SDK and Stripe.js at it)."""
    settings.PAYMENTS_ENABLED = True
