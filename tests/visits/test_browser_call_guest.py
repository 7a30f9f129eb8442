"""Issue 20's journey with three browsers: the provider calls the patient, invites an interpreter
by SMS, the interpreter opens the link in a third browser, checks their camera and asks to join,
the provider admits them from the call panel, and every pair of the three browsers (patient,
provider, guest) reaches ICE connected, with names on the videos; then the provider removes the
guest and the guest's page says so."""

from __future__ import annotations

import re
import time

import pytest

from tests.support.live import LIVE_MS, check_in, open_dashboard
from visits.models import CallGuest, Visit
from waitingroom.outbox.models import SmsMessage

pytestmark = pytest.mark.browser
CONNECT = 20_000  # ms: ICE over the machine's own address

# Every peer of `window[name]`'s mesh among `ids` has reached connected/completed.
CONNECTED_TO = """([name, ids]) => { const call = window[name]; const mesh = call && (call.mesh || call);
  return !!mesh && ids.every(id => mesh.peers[id] && ['connected', 'completed'].includes(mesh.peers[id].pc.iceConnectionState)); }"""
# The visit's card on the board says who the guest is and where (pushed live: visits/cards.py guest_line).
CARD_GUEST = (
    """([card, words]) => document.querySelector(`${card} [data-card-guest]`)?.textContent === words"""
)
CAPTION = """([peer, name]) => { const f = document.querySelector(`[data-remote-videos] [data-peer='${peer}']`);
  return !!f && f.querySelector('figcaption').textContent === name; }"""


def provider_calls_patient(new_page, clinic, **context):
    """The provider's dashboard in a call with a waiting patient: (dashboard, patient page, visit)."""
    dashboard = new_page(**context)
    open_dashboard(dashboard)
    patient = new_page(**context)
    check_in(patient, clinic, "Ann Patient")
    patient.wait_for_selector("[data-patient-status='waiting']", timeout=LIVE_MS)
    visit = Visit.objects.get(patient_name="Ann Patient")
    dashboard.click(f"[data-visit='{visit.id}'] form[data-action='call'] button")
    dashboard.wait_for_selector("[data-staff-call] [data-call]:not([hidden])")
    return dashboard, patient, visit


def invite_guest(dashboard, *, name="Alex", relation="interpreter", contact="+14155550123") -> str:
    """From the call panel: the invitation sent; returns the link's path from the queued SMS."""
    dashboard.click("[data-call-guest] summary")
    dashboard.fill("[data-call-guest] input[name=name]", name)
    dashboard.select_option("[data-call-guest] select[name=relation]", relation)
    dashboard.fill("[data-call-guest] input[name=contact]", contact)
    dashboard.click("[data-call-guest] button[type=submit]")
    dashboard.wait_for_selector("[data-call-guest][data-guest-screen='invited']", timeout=LIVE_MS)
    guest = CallGuest.objects.get(name=name)
    body = SmsMessage.objects.get(reference=f"guest-invite:{guest.id}").body
    found = re.search(r"(/g/[\w-]+/)", body)
    assert found, body
    return found.group(1)


def guest_asks(new_page, link, *, init_script: str = "", **context):
    """The guest's browser opens the link, its camera works, it asks to join. `init_script` runs
    in every page of that browser, before the page's own scripts."""
    page = new_page(**context)
    if init_script:
        page.context.add_init_script(init_script)
    page.goto(link)
    page.wait_for_selector(
        "[data-device-result]:has-text('Camera and microphone are working.')", timeout=LIVE_MS
    )
    page.wait_for_selector("body[data-socket='open']", timeout=LIVE_MS)
    page.click("[data-guest-ask]")
    page.wait_for_selector("[data-guest-screen='asking']", timeout=LIVE_MS)
    return page


def test_three_browsers_provider_invites_admits_and_removes_a_guest(new_page, clinic_a, provider):
    started = time.monotonic()
    dashboard, patient, visit = provider_calls_patient(new_page, clinic_a)
    card = f"[data-visit='{visit.id}']"
    patient.wait_for_function(CONNECTED_TO, arg=["patientCall", [f"staff-{provider.id}"]], timeout=CONNECT)
    link = invite_guest(dashboard)
    guest_page = guest_asks(new_page, link)
    guest = CallGuest.objects.get(name="Alex")
    gid = f"guest-{guest.id}"

    # The provider's panel asks, out loud (assertive), with Admit and Decline.
    dashboard.wait_for_selector(
        "[data-call-guest] .guest-request:has-text('Alex (interpreter) is asking to join')", timeout=LIVE_MS
    )
    dashboard.wait_for_function(
        "() => document.querySelector('[data-announce=assertive]')?.textContent === 'Alex (interpreter) is asking to join'",
        timeout=LIVE_MS,
    )
    dashboard.wait_for_function(CARD_GUEST, arg=[card, "Alex (interpreter) asking to join"], timeout=LIVE_MS)
    # Before Admit the guest is in no call.
    assert guest_page.evaluate("() => !window.guestCall")
    # Admit by keyboard: from the call's heading, Tab reaches it; Enter presses it.
    dashboard.focus("[data-call-title]")
    for _ in range(40):
        dashboard.keyboard.press("Tab")
        if dashboard.evaluate("() => document.activeElement.textContent.trim() === 'Admit'"):
            break
    else:
        raise AssertionError("Tab never reached Admit")
    dashboard.keyboard.press("Enter")
    admitted_at = time.monotonic()

    # Every pair connects: patient<->provider, patient<->guest, provider<->guest.
    patient.wait_for_function(
        CONNECTED_TO, arg=["patientCall", [f"staff-{provider.id}", gid]], timeout=CONNECT
    )
    dashboard.wait_for_function(CONNECTED_TO, arg=["staffCall", ["patient", gid]], timeout=CONNECT)
    guest_page.wait_for_function(
        CONNECTED_TO, arg=["guestCall", ["patient", f"staff-{provider.id}"]], timeout=CONNECT
    )
    connected_after, after_admit = time.monotonic() - started, time.monotonic() - admitted_at

    dashboard.wait_for_function(CARD_GUEST, arg=[card, "Alex (interpreter) in the call"], timeout=LIVE_MS)
    # Names on the videos: everyone sees "Alex (interpreter)"; the guest sees the others' names.
    patient.wait_for_function(CAPTION, arg=[gid, "Alex (interpreter)"], timeout=LIVE_MS)
    dashboard.wait_for_function(CAPTION, arg=[gid, "Alex (interpreter)"], timeout=LIVE_MS)
    guest_page.wait_for_function(CAPTION, arg=["patient", "Ann Patient"], timeout=LIVE_MS)
    guest_page.wait_for_function(CAPTION, arg=[f"staff-{provider.id}", "Paula Provider"], timeout=LIVE_MS)
    # The guest's page is the call screen only: no chat, no queue, no intake answers.
    assert guest_page.evaluate("() => document.body.classList.contains('in-call')")
    assert guest_page.locator("[data-chat], [data-position], [data-leave-form]").count() == 0

    # The provider removes the guest: the guest's page says so, the others drop its video.
    dashboard.click("[data-call-guest] button:has-text('Remove Alex')")
    guest_page.wait_for_selector("h1:has-text('You were removed from the call')", timeout=LIVE_MS)
    guest_page.wait_for_function("() => !document.body.classList.contains('in-call')")
    patient.wait_for_function(
        f"() => !document.querySelector(\"[data-remote-videos] [data-peer='{gid}']\")", timeout=LIVE_MS
    )
    dashboard.wait_for_selector(
        "[data-call-guest]:has-text('Alex (interpreter): removed from the call')", timeout=LIVE_MS
    )
    # The patient and the provider stay connected.
    patient.wait_for_function(CONNECTED_TO, arg=["patientCall", [f"staff-{provider.id}"]], timeout=LIVE_MS)
    # The link is dead: reloading shows how it ended, and no call.
    guest_page.reload()
    assert guest_page.locator("h1:has-text('You were removed from the call')").count() == 1
    print(
        f"\nall pairs ICE connected {after_admit:.1f} s after Admit ({connected_after:.1f} s into the journey)"
    )


def test_the_full_mesh_patient_two_staff_and_a_guest_all_connect(new_page, clinic_a, provider, csr):
    """The largest call the product allows: the patient, two staff and one guest, every one of the
    six pairs ICE connected, with each name on its video."""
    from tests.support.live import login

    dashboard, patient, visit = provider_calls_patient(new_page, clinic_a)
    chris = new_page()
    login(chris, username="chris", password="pw-for-tests-1")
    chris.wait_for_selector("body[data-socket='open']")
    card = f"[data-visit='{visit.id}']"
    chris.wait_for_selector(
        f"{card}[data-call-staff='{provider.id}'] form[data-action='call']", timeout=LIVE_MS
    )
    chris.click(f"{card} form[data-action='call'] button")
    chris.wait_for_selector("[data-staff-call] [data-call]:not([hidden])")
    link = invite_guest(dashboard)
    guest_page = guest_asks(new_page, link)
    gid = f"guest-{CallGuest.objects.get(name='Alex').id}"
    # Chris, also in the call, admits the guest Paula invited.
    chris.click("[data-call-guest] button:has-text('Admit')")
    started = time.monotonic()
    paula_id, chris_id = f"staff-{provider.id}", f"staff-{csr.id}"
    for page, name, ids in (
        (patient, "patientCall", [paula_id, chris_id, gid]),
        (dashboard, "staffCall", ["patient", chris_id, gid]),
        (chris, "staffCall", ["patient", paula_id, gid]),
        (guest_page, "guestCall", ["patient", paula_id, chris_id]),
    ):
        page.wait_for_function(CONNECTED_TO, arg=[name, ids], timeout=CONNECT)
    print(f"\nfour browsers, all six pairs ICE connected {time.monotonic() - started:.1f} s after Admit")
    for page in (patient, dashboard, chris):
        page.wait_for_function(CAPTION, arg=[gid, "Alex (interpreter)"], timeout=LIVE_MS)
    guest_page.wait_for_function(CAPTION, arg=[chris_id, "Chris Desk"], timeout=LIVE_MS)


# Counts the guest sockets a page opens (a reconnection loop would open more than one).
COUNT_GUEST_SOCKETS = """(() => { const Native = window.WebSocket; window.guestSocketsOpened = 0;
  window.WebSocket = function (url, protocols) {
    if (String(url).includes("/ws/guest/")) window.guestSocketsOpened += 1;
    return new Native(url, protocols);
  };
  window.WebSocket.prototype = Native.prototype;
  Object.assign(window.WebSocket, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3}); })();"""

# The first guest tab once the second took over: out of the call, its camera let go, the words in
# place of its screen, and read out. Read in one go.
GUEST_TAB_MOVED = """() => { const heading = document.querySelector("[data-status-panel] [data-call-moved]");
  const spoken = [...document.querySelectorAll("[data-announce]")].map((r) => r.textContent);
  if (!heading || window.guestCall !== null || document.body.classList.contains("in-call")) return false;
  if (!spoken.includes(heading.textContent)) return false;
  return {words: heading.textContent, screen: document.body.dataset.guestScreen,
          videos: document.querySelectorAll("[data-remote-videos] figure[data-peer]").length}; }"""

# Someone else in the call sees every peer once: one connection each, ICE connected, one video each.
SEES_EACH_ONCE = """([name, ids]) => { const call = window[name]; const mesh = call && (call.mesh || call);
  if (!mesh) return false;
  const figures = [...document.querySelectorAll("[data-remote-videos] figure[data-peer]")].map((f) => f.dataset.peer);
  return Object.keys(mesh.peers).sort().join() === [...ids].sort().join()
    && figures.sort().join() === [...ids].sort().join()
    && ids.every((id) => ['connected', 'completed'].includes(mesh.peers[id].pc.iceConnectionState)); }"""


def test_the_guest_link_opened_in_a_second_tab_takes_the_call_over_and_the_first_tab_says_so(
    new_page, clinic_a, provider
):
    dashboard, patient, _visit = provider_calls_patient(new_page, clinic_a)
    staff_id = f"staff-{provider.id}"
    patient.wait_for_function(CONNECTED_TO, arg=["patientCall", [staff_id]], timeout=CONNECT)
    link = invite_guest(dashboard)
    first = guest_asks(new_page, link, init_script=COUNT_GUEST_SOCKETS)
    gid = f"guest-{CallGuest.objects.get(name='Alex').id}"
    dashboard.click("[data-call-guest] button:has-text('Admit')")
    first.wait_for_function(CONNECTED_TO, arg=["guestCall", ["patient", staff_id]], timeout=CONNECT)

    # The same browser opens the link again in a second tab: it lands in the call, and holds it.
    second = first.context.new_page()
    opened = time.monotonic()
    second.goto(link)
    second.wait_for_selector("body[data-socket='open']")  # a page load: the context's 10 s, not LIVE_MS
    second.wait_for_function(CONNECTED_TO, arg=["guestCall", ["patient", staff_id]], timeout=CONNECT)
    took_over_after = time.monotonic() - opened
    moved = first.wait_for_function(GUEST_TAB_MOVED, timeout=LIVE_MS).json_value()
    assert moved == {"words": "This call continued in another tab.", "screen": "moved", "videos": 0}
    # The patient and the provider see the guest once (and each other), on the second tab's connection.
    patient.wait_for_function(SEES_EACH_ONCE, arg=["patientCall", [staff_id, gid]], timeout=CONNECT)
    dashboard.wait_for_function(SEES_EACH_ONCE, arg=["staffCall", ["patient", gid]], timeout=CONNECT)
    # The first tab gave the call up for good: it opened its socket once and never again.
    assert first.evaluate("() => window.guestSocketsOpened") == 1
    assert CallGuest.objects.get(name="Alex").status == "admitted"
    print(f"\nthe second guest tab ICE connected with both {took_over_after:.1f} s after it opened the link")


# The guest part once swapped for a fresh copy (no `data-before-swap` mark), read in one go: the
# invitation form still open, with what the provider typed and chose.
INVITE_FORM_AFTER_SWAP = """() => { const part = document.querySelector("[data-call-guest]");
  const form = part && !part.dataset.beforeSwap && part.querySelector("details[open] [data-guest-invite]");
  return !!form && {name: form.elements.name.value, relation: form.elements.relation.value,
    contact: form.elements.contact.value}; }"""


def test_the_invitation_form_keeps_who_the_guest_is_when_the_guest_part_is_fetched_again(
    new_page, clinic_a, provider
):
    """The call socket re-fetches the guest part each time it opens (a reconnect too) and swaps it
    in. The form kept the name and number typed but put "Who they are" back to its first choice,
    so a carer chosen before the swap was invited as an interpreter (seen under `make run`: Call,
    then the form filled at once, as the call socket's first re-fetch landed)."""
    dashboard, _patient, _visit = provider_calls_patient(new_page, clinic_a)
    dashboard.wait_for_function(CONNECTED_TO, arg=["staffCall", ["patient"]], timeout=CONNECT)
    dashboard.click("[data-call-guest] summary")
    dashboard.fill("[data-call-guest] input[name=name]", "Alex")
    dashboard.select_option("[data-call-guest] select[name=relation]", "carer")
    dashboard.fill("[data-call-guest] input[name=contact]", "+14155550123")
    # Marked once all is filled in, so whichever swap comes next (the socket's first re-fetch, if
    # it is late, or the one after this drop) comes after the choice. As a lost network would:
    # the call socket reconnects and fetches the guest part again.
    dashboard.evaluate(
        "() => { document.querySelector('[data-call-guest]').dataset.beforeSwap = '1'; window.staffCall.socket.drop(); }"
    )
    kept = dashboard.wait_for_function(INVITE_FORM_AFTER_SWAP, timeout=LIVE_MS).json_value()
    assert kept == {"name": "Alex", "relation": "carer", "contact": "+14155550123"}
    dashboard.click("[data-call-guest] button[type=submit]")
    dashboard.wait_for_selector("[data-call-guest][data-guest-screen='invited']", timeout=LIVE_MS)
    assert CallGuest.objects.get(name="Alex").relation == "carer"
