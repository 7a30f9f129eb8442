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


def guest_asks(new_page, link, **context):
    """The guest's browser opens the link, its camera works, it asks to join."""
    page = new_page(**context)
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
