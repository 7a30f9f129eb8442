"""Fixtures of the meetings tests."""

from __future__ import annotations

import pytest

from scheduling.meetings import booking
from scheduling.models import Meeting
from tests.scheduling.conftest import tomorrow


@pytest.fixture
def meeting(frozen, clinic_a, provider, service) -> Meeting:
    """Gina Guest's meeting with the provider, booked for tomorrow at 10:00 in clinic A."""
    return booking.meeting_schedule(
        clinic=clinic_a, by=provider, provider_id=provider.pk, service=service,
        guest_name="Gina Guest", guest_email="gina@example.com", times=[tomorrow(clinic_a, 10)],
    )  # fmt: skip
