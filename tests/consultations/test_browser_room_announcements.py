"""The client's consultation room tells them what changed while they look elsewhere: an expert
taking it, the expert's messages (chimed, in the tab's title) and the consultation completed."""

from __future__ import annotations

import pytest

from consultations import services
from tests.consultations.conftest import make_consultation
from tests.support.announcements import RECORD_SAID, wait_until_said
from tests.support.live import off_loop

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
