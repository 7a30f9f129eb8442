""" "Call me instead" in the browser: a patient whose camera is refused, at a clinic with a voice
number, verifies their mobile with the SMS code, asks the clinic to call them, keeps their place,
sees the masked number the clinic will call, and can take it back; the dashboard card shows the
request live, beside Switch to phone."""

import re

import pytest

from consultations.models import ConsultationProfile
from tests.support.live import LIVE_MS, check_in, open_dashboard
from tests.visits.test_browser_camera_blocked import BLOCK
from visits.models import Visit
from waitingroom.outbox import sms_backends

pytestmark = pytest.mark.browser


def test_a_blocked_patient_asks_to_be_called_and_the_card_shows_it_live(new_page, provider, clinic_a):
    ConsultationProfile.objects.create(clinic=clinic_a, voice_number="+15555550100")
    dashboard = new_page()
    open_dashboard(dashboard)

    patient = new_page(viewport={"width": 360, "height": 740})
    patient.add_init_script(f"({BLOCK})(false)")
    check_in(patient, clinic_a, "Bea Blocked")
    patient.wait_for_selector("[data-patient-status='media_blocked']", timeout=LIVE_MS)
    visit = Visit.objects.get(patient_name="Bea Blocked")
    card = f"[data-visit='{visit.id}']"
    dashboard.wait_for_selector(card, state="attached", timeout=LIVE_MS)  # Getting Ready is folded

    # No verified number yet: the offer asks for it, then for the code texted to it.
    assert patient.is_visible("[data-call-me]")
    assert "Call me instead" in patient.text_content("[data-call-me]")
    patient.fill("[data-call-me] input[name=phone]", "(415) 555-0123")
    patient.click("[data-call-me] form[data-json-form='phone'] button")
    patient.wait_for_selector("[data-call-me] input[name=code]", timeout=LIVE_MS)
    code = re.search(r"\b(\d{6})\b", sms_backends.outbox[-1].body).group(1)
    patient.fill("[data-call-me] input[name=code]", code)
    patient.click("[data-call-me] form[data-json-form='verify'] button")
    patient.get_by_role("button", name="Call me instead").click()

    # The patient is in line, told which (masked) number the clinic will call.
    patient.wait_for_selector("[data-patient-status='waiting'] [data-phone-requested]", timeout=LIVE_MS)
    words = patient.text_content("[data-phone-requested]")
    assert "The clinic will call you at •••• 0123 when it's your turn" in words
    assert "+14155550123" not in patient.content()
    assert patient.text_content("[data-position]") == "1"

    # The staff card, live: the request beside Switch to phone.
    dashboard.wait_for_selector(f"{card} [data-phone-request]", timeout=LIVE_MS)
    assert "Asks for a phone call" in dashboard.text_content(f"{card} [data-phone-request]")
    assert dashboard.is_visible(f"{card} form[data-action='switch_to_phone'] button")

    # Taken back: the patient waits for video; the card loses the request live.
    patient.get_by_role("button", name="Use video after all").click()
    patient.wait_for_selector("[data-phone-requested]", state="detached", timeout=LIVE_MS)
    dashboard.wait_for_selector(f"{card} [data-phone-request]", state="detached", timeout=LIVE_MS)
    assert Visit.objects.get(pk=visit.pk).status == "waiting"
