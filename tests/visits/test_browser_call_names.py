"""Names on the videos with two staff members in the patient's call: the patient's screen captions
each staff member's video with that person's name (the status panel carries each name with its
signalling peer id), and each staff member sees the patient's and the colleague's names."""

import pytest

from tests.support.live import LIVE_MS, check_in, login
from visits.models import Visit

pytestmark = pytest.mark.browser
CONNECT = 20_000  # ms: ICE over the machine's own address

CAPTION = """([peer, name]) => { const f = document.querySelector(`[data-remote-videos] [data-peer='${peer}']`);
  return !!f && f.querySelector('video').videoWidth > 0 && f.querySelector('figcaption').textContent === name; }"""


def dashboard_of(new_page, username: str):
    page = new_page()
    login(page, username=username, password="pw-for-tests-1")
    page.wait_for_selector("body[data-socket='open']")
    return page


def test_each_video_in_a_call_with_two_staff_members_carries_its_persons_name(
    new_page, provider, csr, clinic_a
):
    paula, chris = dashboard_of(new_page, "paula"), dashboard_of(new_page, "chris")
    patient = new_page()
    check_in(patient, clinic_a, "Ann Patient")
    patient.wait_for_selector("[data-patient-status='waiting']", timeout=LIVE_MS)
    visit = Visit.objects.get(patient_name="Ann Patient")
    card = f"[data-visit='{visit.id}']"

    paula.click(f"{card} form[data-action='call'] button")
    patient.wait_for_function(CAPTION, arg=[f"staff-{provider.id}", "Paula Provider"], timeout=CONNECT)
    chris.wait_for_selector(
        f"{card}[data-call-staff='{provider.id}'] form[data-action='call']", timeout=LIVE_MS
    )
    chris.click(f"{card} form[data-action='call'] button")

    # The patient: one video per staff member, each with its own name (not "Clinic").
    patient.wait_for_function(CAPTION, arg=[f"staff-{csr.id}", "Chris Desk"], timeout=CONNECT)
    patient.wait_for_function(CAPTION, arg=[f"staff-{provider.id}", "Paula Provider"], timeout=CONNECT)
    assert patient.locator("[data-remote-videos] figure").count() == 2
    # Each staff member: the patient by name, and the colleague by theirs.
    for page, colleague in (
        (paula, (f"staff-{csr.id}", "Chris Desk")),
        (chris, (f"staff-{provider.id}", "Paula Provider")),
    ):
        page.wait_for_function(CAPTION, arg=["patient", "Ann Patient"], timeout=CONNECT)
        page.wait_for_function(CAPTION, arg=list(colleague), timeout=CONNECT)

    # Chris leaves: the patient's screen keeps Paula's video and name.
    chris.click("[data-call-leave]")
    patient.wait_for_function(
        f"() => !document.querySelector(\"[data-remote-videos] [data-peer='staff-{csr.id}']\")",
        timeout=LIVE_MS,
    )
    patient.wait_for_function(CAPTION, arg=[f"staff-{provider.id}", "Paula Provider"], timeout=LIVE_MS)
