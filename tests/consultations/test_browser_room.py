"""The consultation room in Chromium, both sides at once: the expert claims from the dashboard's
Upcoming Appointments, the client's message reaches the expert's room live (and the client hears
the reply), the note appears on the client's page once saved, and locking the room closes the
client's message box without a reload."""

from __future__ import annotations

import os

import pytest

from tests.consultations.conftest import make_consultation
from tests.support.live import LIVE_MS, off_loop, open_dashboard

pytestmark = pytest.mark.browser


def shot(page, name: str) -> None:
    """SCREENSHOT_DIR=... keeps pictures of the pages for a person to look at."""
    if os.environ.get("SCREENSHOT_DIR"):
        page.screenshot(path=os.path.join(os.environ["SCREENSHOT_DIR"], f"{name}.png"), full_page=True)


def test_claim_message_note_and_lock_live_on_both_screens(new_page, clinic_a, provider, phone_service):
    consultation = off_loop(make_consultation, clinic_a, phone_service)
    expert = new_page()
    open_dashboard(expert)
    row = f"[data-panel='consultations'] [data-consultation='{consultation.pk}']"
    expert.click(f"{row} [data-action='claim']")
    expert.wait_for_selector("[data-panel='consultations'] [data-no-available]", timeout=LIVE_MS)
    shot(expert, "dashboard")
    expert.click(f"{row} [data-view]")
    expert.wait_for_selector("body[data-socket='open']")
    assert expert.is_visible("[data-action='release']")

    client = new_page()
    client.goto(f"/consult/room/{consultation.client_token}/")
    client.wait_for_selector("body[data-socket='open']")
    assert "Paula Provider" in client.inner_text("[data-expert]")

    client.fill("[data-message-form] textarea", "Rex is limping again")
    client.click("[data-message-form] button[type=submit]")
    expert.wait_for_selector("[data-message-log] >> text=Rex is limping again", timeout=LIVE_MS)
    expert.fill("[data-message-form] textarea", "Any swelling?")
    expert.click("[data-message-form] button[type=submit]")
    client.wait_for_selector("[data-message-log] >> text=Any swelling?", timeout=LIVE_MS)

    expert.fill("#note-text", "Sprain: rest for a week.")
    expert.click("[data-note-form] button[type=submit]")
    client.wait_for_selector("[data-note-body] >> text=Sprain: rest for a week.", timeout=LIVE_MS)

    expert.click("[data-action='lock']")
    client.wait_for_selector("[data-closed] >> text=closed for messages", timeout=LIVE_MS)
    assert not client.is_visible("[data-message-form]")
    expert.wait_for_selector("[data-action='unlock']", timeout=LIVE_MS)
    shot(expert, "room_staff")
    shot(client, "room_client")
