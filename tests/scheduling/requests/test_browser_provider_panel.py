"""The provider's request panel in Chromium: requests arrive live, a half-typed response survives
a live re-render, and Accept books the meeting from the dashboard."""

from __future__ import annotations

import pytest

from scheduling.models import Meeting
from scheduling.times import slot_value
from tests.scheduling.conftest import scheduled_request, tomorrow
from tests.support.live import LIVE_MS, off_loop, open_dashboard

pytestmark = pytest.mark.browser


def test_requests_reach_the_providers_dashboard_live_and_are_accepted_there(
    new_page, frozen, clinic_a, provider, service, hours
):
    page = new_page()
    open_dashboard(page)
    assert page.is_visible("[data-no-requests]")

    first = off_loop(
        scheduled_request,
        clinic_a,
        service,
        times=[tomorrow(clinic_a, 10), tomorrow(clinic_a, 14)],
        provider=provider,
    )
    card = f"[data-panel='requests'] [data-request='{first.pk}']"
    page.wait_for_selector(card, timeout=LIVE_MS)
    page.fill(f"{card} textarea[name=response]", "Please have your results ready")

    # Another request re-renders the panel; what Paula typed stays.
    second = off_loop(
        scheduled_request,
        clinic_a,
        service,
        times=[tomorrow(clinic_a, 11)],
        email="o@example.com",
        name="Olga",
    )
    page.wait_for_selector(f"[data-panel='requests'] [data-request='{second.pk}']", timeout=LIVE_MS)
    assert page.input_value(f"{card} textarea[name=response]") == "Please have your results ready"
    assert page.text_content("[data-request-count]") == "2"

    page.click(f"{card} button[data-accept='{slot_value(tomorrow(clinic_a, 14))}']")
    page.wait_for_selector(card, state="detached", timeout=LIVE_MS)
    page.wait_for_selector("[data-toast]:not([hidden])")
    assert "accepted" in page.text_content("[data-toast]")
    meeting = Meeting.objects.get()
    assert (meeting.provider, meeting.starts_at) == (provider, tomorrow(clinic_a, 14))
    first.refresh_from_db()
    assert first.response == "Please have your results ready"
