"""The wait screen's place in line and estimate move live in real Chromium, now that the server
tells each screen only that someone ahead of it moved (tests/visits/test_queue_privacy.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.support.live import LIVE_MS, check_in, off_loop
from tests.visits.conftest import ready
from visits import services
from visits.lifecycle import Status
from visits.models import Visit

pytestmark = pytest.mark.browser


def recent_calls(clinic, *, seconds_per_place: int) -> None:
    """Enough recently called visits for an estimate: each waited `seconds_per_place` a place."""
    now = timezone.now()
    for i in range(3):
        called = now - timedelta(hours=1, minutes=i)
        Visit.objects.create(
            clinic=clinic,
            token_hash=f"sample-{i}",
            patient_name=f"Earlier {i}",
            status=Status.COMPLETED,
            arrived_at=called - timedelta(seconds=seconds_per_place),
            status_changed_at=called,
            ready_at=called - timedelta(seconds=seconds_per_place),
            first_called_at=called,
            position_when_ready=1,
        )


def test_place_and_estimate_move_up_when_someone_ahead_leaves(new_page, clinic_a):
    recent_calls(clinic_a, seconds_per_place=120)  # 2 minutes a place
    ahead = off_loop(ready, clinic_a, "Ahead Patient")

    patient = new_page()
    check_in(patient, clinic_a, "Bea Behind")
    patient.wait_for_selector("[data-patient-status='waiting']", timeout=LIVE_MS)
    assert patient.text_content("[data-position]") == "2"
    assert patient.text_content("[data-estimate-minutes]") == "4"

    off_loop(services.visit_patient_leave, visit_id=ahead.id)
    # A function, not a bare expression: Playwright polls a bare one with eval() in the page,
    # which the page's Content-Security-Policy refuses.
    patient.wait_for_function(
        "() => document.querySelector('[data-position]').textContent === '1'", timeout=LIVE_MS
    )
    assert patient.text_content("[data-estimate-minutes]") == "2"

    # Someone arriving behind Bea does not move her.
    off_loop(ready, clinic_a, "Later Patient")
    patient.wait_for_timeout(500)
    assert patient.text_content("[data-position]") == "1"
