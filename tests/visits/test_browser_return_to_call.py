"""A provider whose dashboard reloads mid-call gets back into the call: the card offers Return to
call to the staff listed in it (and to nobody else), and the call connects again."""

import pytest

from tests.factories import staff
from tests.support.live import LIVE_MS, check_in, login, open_dashboard
from visits.models import Visit
from waitingroom.models import Role

pytestmark = pytest.mark.browser
CONNECT = 20_000  # ms: ICE over the machine's own address

ICE_CONNECTED = """(name) => { const call = window[name];
  return !!call && Object.values((call.mesh || call).peers).some(p => ['connected', 'completed'].includes(p.pc.iceConnectionState)); }"""


def test_a_provider_who_reloads_the_dashboard_mid_call_returns_to_it(new_page, provider, clinic_a):
    staff(username="chris", clinic=clinic_a, role=Role.CSR, first_name="Chris", last_name="Desk")
    dashboard = new_page()
    open_dashboard(dashboard)
    patient = new_page()
    check_in(patient, clinic_a, "Ann Patient")
    patient.wait_for_selector("[data-patient-status='waiting']")
    card = f"[data-visit='{Visit.objects.get(patient_name='Ann Patient').id}']"
    return_link = f"{card} [data-return-to-call]"

    dashboard.click(f"{card} form[data-action='call'] button")
    dashboard.wait_for_function(ICE_CONNECTED, arg="staffCall", timeout=CONNECT)
    # With the call open on this page, the card offers neither Join call nor Return to call.
    assert not dashboard.locator(return_link).is_visible()

    dashboard.reload()
    dashboard.wait_for_selector(f"{card}[data-status='in_call']")
    assert dashboard.locator("[data-staff-call]").count() == 0
    assert not dashboard.locator(f"{card} form[data-action='call'] button").is_visible()
    dashboard.locator(return_link).click()
    dashboard.wait_for_selector("[data-staff-call] [data-call]:not([hidden])", timeout=LIVE_MS)
    dashboard.wait_for_function(ICE_CONNECTED, arg="staffCall", timeout=CONNECT)
    patient.wait_for_function(ICE_CONNECTED, arg="patientCall", timeout=CONNECT)
    assert not dashboard.locator(return_link).is_visible()

    # A colleague not in the call sees Join call, never Return to call.
    colleague = new_page()
    login(colleague, username="chris", password="pw-for-tests-1")
    colleague.goto(f"/dashboard/{clinic_a.slug}/")
    colleague.wait_for_selector(f"{card}[data-status='in_call']")
    assert colleague.locator(f"{card} form[data-action='call'] button").is_visible()
    assert not colleague.locator(return_link).is_visible()
