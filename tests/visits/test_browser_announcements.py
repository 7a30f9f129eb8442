"""What a patient who is not looking at the wait screen still learns: every status change is read
out through a live region (being called through the assertive one), said in the tab's title and,
when the clinic wants them, chimed (unless muted)."""

import pytest

from tests.support.live import LIVE_MS, check_in
from tests.visits.conftest import ready
from visits import chat, services
from visits.models import Visit

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}
# Counts the chime's notes: every oscillator the page starts.
COUNT_CHIMES = """
window.chimeNotes = 0;
const make = AudioContext.prototype.createOscillator;
AudioContext.prototype.createOscillator = function () { window.chimeNotes++; return make.call(this); };
"""


def region_says(page, politeness: str, words: str) -> None:
    page.wait_for_function(
        "([p, w]) => (document.querySelector(`[data-announce=${p}]`)?.textContent || '').includes(w)",
        arg=[politeness, words],
        timeout=LIVE_MS,
    )


def waiting_patient(new_page, clinic, name: str, **context):
    page = new_page(**context)
    page.add_init_script(COUNT_CHIMES)
    check_in(page, clinic, name)
    page.wait_for_selector("[data-patient-status='waiting']", timeout=LIVE_MS)
    return page, Visit.objects.get(patient_name=name)


def test_every_status_change_on_the_wait_screen_is_announced_and_being_called_is_urgent(
    new_page, provider, clinic_a
):
    ahead = ready(clinic_a, "Earlier Patient")
    page, visit = waiting_patient(new_page, clinic_a, "Ann Patient", viewport=PHONE)
    assert page.text_content("[data-position]") == "2"
    page.wait_for_function("document.querySelector('[data-waited]').textContent.match(/^\\d+:\\d\\d$/)")

    services.visit_patient_leave(visit_id=ahead.id)  # the patient ahead leaves
    region_says(page, "polite", "You're now number 1 in line")
    assert "Number 1 in line" in page.title()

    chat.chat_post(visit_id=visit.id, body="We'll be with you shortly", user=provider)
    region_says(page, "polite", "New message from the clinic: We'll be with you shortly")
    assert "New message from the clinic" in page.title()
    page.wait_for_function("window.chimeNotes > 0")
    notes = page.evaluate("window.chimeNotes")

    services.visit_call(visit_id=visit.id, user=provider)
    region_says(page, "assertive", "You're being called")
    assert page.title().startswith("You're being called")
    page.wait_for_function(f"window.chimeNotes > {notes}")
    # The call screen covers the wait screen: focus is in the call, where its controls are.
    page.wait_for_function("document.activeElement.matches('[data-call]')")

    services.visit_leave_call(visit_id=visit.id, user=provider)
    region_says(page, "polite", "Your provider stepped out")

    services.visit_call(visit_id=visit.id, user=provider)
    region_says(page, "polite", "Your provider is back")

    services.visit_end(visit_id=visit.id, user=provider)
    region_says(page, "polite", "Your visit has ended")
    assert "Your visit has ended" in page.title()


def test_the_mute_button_silences_the_chime_and_is_remembered(new_page, provider, clinic_a):
    page, visit = waiting_patient(
        new_page, clinic_a, "Quiet Patient", viewport={"width": 1366, "height": 768}
    )
    mute = page.get_by_role("button", name="Mute sounds")
    assert mute.get_attribute("aria-pressed") == "false"
    mute.click()
    assert mute.get_attribute("aria-pressed") == "true"

    chat.chat_post(visit_id=visit.id, body="A reply", user=provider)
    region_says(page, "polite", "A reply")
    services.visit_call(visit_id=visit.id, user=provider)
    region_says(page, "assertive", "You're being called")  # still said, not chimed
    assert page.evaluate("window.chimeNotes") == 0

    page.reload()
    # Back in the call (its screen covers the header): the setting stayed.
    assert page.locator("[data-chime-toggle]").get_attribute("aria-pressed") == "true"


def test_hanging_up_asks_whether_to_end_the_visit_not_to_leave_the_queue(new_page, provider, clinic_a):
    page, visit = waiting_patient(new_page, clinic_a, "Hal Hangup", viewport=PHONE)
    questions: list[str] = []
    page.on("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    page.click("[data-leave-form] button")
    services.visit_call(visit_id=visit.id, user=provider)
    page.wait_for_selector("[data-patient-status='in_call']", state="attached", timeout=LIVE_MS)
    page.wait_for_selector("[data-hangup]:visible", timeout=LIVE_MS)
    page.click("[data-hangup]")
    page.wait_for_timeout(200)
    assert questions[-2] == "Leave the waiting room? You will give up your place in line."
    assert questions[-1].startswith("Hang up and end your visit?")
    assert "lose your place" not in questions[-1]
