"""The consultation room tells each side what changed while they look elsewhere. The client: an
expert taking it, the expert's messages (chimed, in the tab's title) and the consultation
completed. Staff: the client's messages and a status change, in the live region and the title."""

from __future__ import annotations

import pytest

from consultations import services
from tests.consultations.conftest import make_consultation
from tests.support.announcements import RECORD_SAID, wait_until_said
from tests.support.live import off_loop, open_dashboard

pytestmark = pytest.mark.browser

COUNT_CHIMES = """
window.chimeNotes = 0;
const make = AudioContext.prototype.createOscillator;
AudioContext.prototype.createOscillator = function () { window.chimeNotes++; return make.call(this); };
"""


def test_the_client_room_announces_the_expert_their_messages_and_completion(
    new_page, clinic_a, provider, phone_service
):
    consultation = off_loop(make_consultation, clinic_a, phone_service)
    client = new_page(viewport={"width": 360, "height": 740})
    client.add_init_script(RECORD_SAID)
    client.add_init_script(COUNT_CHIMES)
    client.goto(f"/consult/room/{consultation.client_token}/")
    client.wait_for_selector("body[data-socket='open']")

    off_loop(services.consultation_claim, consultation_id=consultation.pk, by=provider, expected_version=None)
    wait_until_said(client, "Your expert: Paula Provider")
    assert client.title().startswith("Consultation update")

    off_loop(services.message_post, consultation_id=consultation.pk, body="Any swelling?", by=provider)
    wait_until_said(client, "New message from the clinic: Any swelling?")
    assert client.title().startswith("New message from the clinic")
    client.wait_for_function("window.chimeNotes > 0")

    off_loop(
        services.consultation_complete, consultation_id=consultation.pk, by=provider, expected_version=None
    )
    wait_until_said(client, "This consultation is completed")


def test_the_staff_room_announces_a_client_message_and_status_changes_in_its_live_region(
    new_page, clinic_a, provider, phone_service
):
    """The expert reads the client's words and hears a cancellation made elsewhere (another
    screen, the admin) through the page's live region, with the tab's title saying it."""
    consultation = off_loop(make_consultation, clinic_a, phone_service)
    off_loop(services.consultation_claim, consultation_id=consultation.pk, by=provider, expected_version=None)
    expert = new_page()
    expert.add_init_script(RECORD_SAID)
    open_dashboard(expert)
    expert.goto(f"/consultations/{consultation.pk}/")
    expert.wait_for_selector("body[data-socket='open']")
    assert not expert.title().startswith("New message")

    off_loop(services.message_post, consultation_id=consultation.pk, body="Rex is limping again")
    wait_until_said(expert, "New message from the client: Rex is limping again")
    assert expert.title().startswith("New message from the client · ")
    region = expert.locator("[data-announce='polite']")
    assert region.get_attribute("aria-live") == "polite"
    expect_text = "New message from the client: Rex is limping again"
    expert.wait_for_function(
        "(w) => document.querySelector(\"[data-announce='polite']\").textContent === w", arg=expect_text
    )

    off_loop(
        services.consultation_cancel,
        consultation_id=consultation.pk,
        by=provider,
        reason="The client asked to cancel",
        expected_version=None,
    )
    wait_until_said(expert, "Cancelled: The client asked to cancel")
    assert expert.title().startswith("Consultation update · ")
    said = expert.evaluate("window.said")
    # Each change said once: the page's own re-fetches on the socket opening said nothing.
    assert sum("Cancelled: The client asked to cancel" in s for s in said) == 1, said
    assert not any(s.startswith("polite: Consultation Claimed") for s in said), said
