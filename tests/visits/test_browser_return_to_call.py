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


# Counts the call sockets a page opens (a reconnection loop would open more than one).
COUNT_CALL_SOCKETS = """(() => { const Native = window.WebSocket; window.callSocketsOpened = 0;
  window.WebSocket = function (url, protocols) {
    if (String(url).includes("/ws/call/")) window.callSocketsOpened += 1;
    return new Native(url, protocols);
  };
  window.WebSocket.prototype = Native.prototype;
  Object.assign(window.WebSocket, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3}); })();"""

# The first tab once the second took over: no call panel, the words in its place, and
# its card offering Return to call again (to take the call back). Read in one go: pushes may swap the card.
TOOK_OVER = """(card) => { const note = document.querySelector("[data-call-host] [data-call-moved]");
  const link = document.querySelector(card + " [data-return-to-call]");
  if (!note || window.staffCall !== null || document.querySelector("[data-staff-call]") || !link) return false;
  return {words: note.textContent, returnOffered: getComputedStyle(link).display !== "none"}; }"""

# The second tab: in the call (ICE connected), so its card offers no Return to call.
HOLDS_CALL = """(card) => { const call = window.staffCall, link = document.querySelector(card + " [data-return-to-call]");
  return !!call && !!link && getComputedStyle(link).display === "none" && Object.values(call.mesh.peers)
    .some((p) => ['connected', 'completed'].includes(p.pc.iceConnectionState)); }"""

# The patient sees the provider once: one connection under their peer id, ICE connected, one video.
PATIENT_SEES_ONE = """(peer) => { const call = window.patientCall; if (!call) return false;
  const ids = Object.keys(call.peers), p = call.peers[peer];
  return ids.length === 1 && !!p && ['connected', 'completed'].includes(p.pc.iceConnectionState)
    && document.querySelectorAll("[data-remote-videos] figure[data-peer]").length === 1; }"""


def test_return_to_call_in_a_second_tab_takes_the_call_over_and_the_first_tab_says_so(
    new_page, provider, clinic_a
):
    first = new_page()
    first.context.add_init_script(COUNT_CALL_SOCKETS)
    open_dashboard(first)
    patient = new_page()
    check_in(patient, clinic_a, "Ann Patient")
    patient.wait_for_selector("[data-patient-status='waiting']")
    card = f"[data-visit='{Visit.objects.get(patient_name='Ann Patient').id}']"
    first.click(f"{card} form[data-action='call'] button")
    first.wait_for_function(ICE_CONNECTED, arg="staffCall", timeout=CONNECT)

    # The same provider, signed in in the same browser, opens the dashboard in a second tab: the
    # card offers Return to call there, since that tab has no call open.
    second = first.context.new_page()
    second.goto(f"/dashboard/{clinic_a.slug}/")
    second.wait_for_selector("body[data-socket='open']")
    second.wait_for_selector(f"{card}[data-status='in_call'] [data-return-to-call]", state="visible")
    second.click(f"{card} [data-return-to-call]")

    second.wait_for_function(HOLDS_CALL, arg=card, timeout=CONNECT)
    first_tab = first.wait_for_function(TOOK_OVER, arg=card, timeout=LIVE_MS).json_value()
    assert first_tab["words"] == "This call continued in another tab."
    assert first_tab["returnOffered"]
    # Read out too (lib/announce.js writes its live region on the next frame).
    first.wait_for_function(
        "() => [...document.querySelectorAll('[data-announce]')].some((r) => r.textContent.includes('another tab'))"
    )
    patient.wait_for_function(PATIENT_SEES_ONE, arg=f"staff-{provider.id}", timeout=CONNECT)
    # The first tab gave the call up for good: it opened its call socket once and never again.
    assert first.evaluate("() => window.callSocketsOpened") == 1
    assert second.evaluate("() => window.callSocketsOpened") == 1
