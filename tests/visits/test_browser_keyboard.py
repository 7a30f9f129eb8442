"""Keyboard-only journeys (issue 19): a patient joins, waits and answers the call, and a provider
calls a patient, leaves the call and ends the visit, with Tab, Shift+Tab, Enter and Space alone.
After every Enter or Space and every live change the focus is on something, never fallen back to
<body> (a keyboard or screen-reader user would be thrown back to the top of the page).

A page just loaded starts with the focus on <body>, as every page does: the first Tab moves it in.
"""

from __future__ import annotations

import pytest

from tests.support.live import LIVE_MS, check_in
from visits import services
from visits.models import Visit

pytestmark = pytest.mark.browser
PHONE = {"width": 360, "height": 740}
FOCUSED = "() => { const el = document.activeElement; return !!el && el !== document.body; }"


def assert_focus_kept(page, step: str) -> None:
    where = page.evaluate(
        "() => document.activeElement ? document.activeElement.outerHTML.slice(0, 120) : null"
    )
    assert page.evaluate(FOCUSED), f"after {step} the focus fell to <body> ({where})"


def tab_to(page, selector: str, *, backwards: bool = False, limit: int = 60) -> None:
    """Tab (or Shift+Tab) until the focus is on `selector`. Tabbing past the page's last (or first)
    element leaves the document for the browser's own controls, where activeElement is <body>: that
    is the browser's, not a fall, so it is allowed once (the next Tab comes back in)."""
    key = "Shift+Tab" if backwards else "Tab"
    left_the_page = 0
    for _ in range(limit):
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
        page.keyboard.press(key)
        if not page.evaluate(FOCUSED):
            left_the_page += 1
            assert left_the_page < 2, f"{selector} is not reachable with {key}"
    raise AssertionError(f"{selector} is not reachable with {key} ({limit} presses)")


def test_patient_joins_waits_and_answers_the_call_with_the_keyboard(new_page, clinic_a, provider):
    page = new_page(viewport=PHONE)
    page.goto(f"/c/{clinic_a.slug}/")
    tab_to(page, "input[name=patient_name]")
    page.keyboard.type("Kim Keys")
    tab_to(page, "button[type=submit]")
    page.keyboard.press("Enter")

    page.wait_for_selector("[data-patient-status='waiting']", timeout=LIVE_MS)
    # While waiting: the chat is reachable and usable.
    tab_to(page, "[data-chat-form] input[name=body]")
    page.keyboard.type("Ready when you are")
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-chat-log] >> text=Ready when you are", timeout=LIVE_MS)
    assert_focus_kept(page, "sending a chat message")

    # The provider calls: the call screen replaces the waiting screen, the focus stays on the page.
    visit = Visit.objects.get(patient_name="Kim Keys")
    services.visit_call(visit_id=visit.id, user=provider)
    page.wait_for_selector("[data-call]:not([hidden])", timeout=LIVE_MS)
    page.wait_for_timeout(300)  # the page has finished swapping its parts
    assert_focus_kept(page, "the call arriving")

    # Answering: the patient reaches the call's controls (above the chat: Shift+Tab) and turns the
    # microphone off and on again with Space.
    tab_to(page, "[data-toggle-mic]", backwards=True)
    page.keyboard.press("Space")
    assert page.get_attribute("[data-toggle-mic]", "aria-pressed") == "true"
    page.keyboard.press("Space")
    assert page.get_attribute("[data-toggle-mic]", "aria-pressed") == "false"
    assert_focus_kept(page, "toggling the microphone")


def test_provider_calls_leaves_and_ends_the_visit_with_the_keyboard(new_page, clinic_a, provider):
    patient = new_page()
    check_in(patient, clinic_a, "Kim Keys")
    patient.wait_for_selector("[data-patient-status='waiting']", timeout=LIVE_MS)
    card = f"[data-visit='{Visit.objects.get(patient_name='Kim Keys').id}']"

    page = new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # End asks "are you sure?" (the browser's own)
    page.goto("/accounts/login/")
    tab_to(page, "input[name=username]")
    page.keyboard.type("paula")
    tab_to(page, "input[name=password]")
    page.keyboard.type("pw-for-tests-1")
    page.keyboard.press("Enter")
    page.wait_for_selector("body[data-socket='open']")
    page.wait_for_selector(f"[data-phase='ready'] {card}", timeout=LIVE_MS)

    tab_to(page, f"{card} form[data-action='call'] button")
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-staff-call] [data-call]:not([hidden])", timeout=LIVE_MS)
    patient.wait_for_selector("[data-patient-status='in_call']", state="attached", timeout=LIVE_MS)
    page.wait_for_timeout(300)
    assert_focus_kept(page, "calling the patient")

    tab_to(page, "[data-call-leave]")
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-staff-call]", state="detached", timeout=LIVE_MS)
    page.wait_for_selector(f"[data-phase='in_progress'] {card}[data-status='available']", timeout=LIVE_MS)
    page.wait_for_timeout(300)
    assert_focus_kept(page, "leaving the call")

    tab_to(page, f"{card} form[data-action='end'] button")
    page.keyboard.press("Enter")
    page.wait_for_selector(card, state="detached", timeout=LIVE_MS)
    patient.wait_for_selector("[data-patient-status='completed']", timeout=LIVE_MS)
    page.wait_for_timeout(300)
    assert_focus_kept(page, "ending the visit")
