"""Front-end defects of issue 14, each in Chromium: closed patient screens, offline cards' wait
colours, and calling a second patient while in a call."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.support.live import LIVE_MS, check_in, open_dashboard
from tests.visits.conftest import ready
from visits import services
from visits.lifecycle import CLOSED_STATUSES, Status
from visits.models import Visit

pytestmark = pytest.mark.browser
BACKGROUND = "(sel) => getComputedStyle(document.querySelector(sel)).backgroundColor"


def join(new_page, clinic, name):
    page = new_page()
    check_in(page, clinic, name)
    page.wait_for_selector("[data-patient-status='waiting']", timeout=LIVE_MS)
    return page, Visit.objects.get(patient_name=name)


def assert_closed_screen(page):
    assert page.is_hidden("[data-device-check]")
    assert page.is_hidden("[data-chat]") and page.is_hidden("[data-chat-form]")
    assert page.text_content("[data-socket-label]") == "Visit closed"


def test_a_screen_that_closes_live_hides_the_device_check_and_the_chat(new_page, provider, clinic_a):
    patient, visit = join(new_page, clinic_a, "Cleo Closed")
    assert patient.is_visible("[data-device-check]") and patient.is_visible("[data-chat-form]")
    services.visit_cancel(visit_id=visit.id, user=provider)
    patient.wait_for_selector("[data-patient-status='cancelled']", timeout=LIVE_MS)
    assert_closed_screen(patient)
    patient.wait_for_timeout(1500)  # closed on purpose: no reconnecting
    assert patient.get_attribute("body", "data-socket") == "ended"


@pytest.mark.parametrize("status", sorted(CLOSED_STATUSES))
def test_every_closed_screen_opened_later_shows_no_device_check_chat_or_live_label(
    new_page, clinic_a, status
):
    patient, visit = join(new_page, clinic_a, f"Olga {status}")
    Visit.objects.filter(pk=visit.pk).update(status=status, ended_at=timezone.now())
    patient.reload()
    patient.wait_for_selector(f"[data-patient-status='{status}']")
    patient.wait_for_timeout(500)
    assert_closed_screen(patient)


def test_offline_cards_turn_amber_then_red_with_their_wait(new_page, provider, clinic_a):
    colours = {}
    for name, minutes in [("Olive Fresh", 1), ("Olive Amber", 6), ("Olive Red", 16)]:
        visit = ready(clinic_a, name)
        Visit.objects.filter(pk=visit.pk).update(
            status=Status.OFFLINE, arrived_at=timezone.now() - timedelta(minutes=minutes)
        )
        colours[name] = f"[data-visit='{visit.id}']"
    dashboard = new_page()
    open_dashboard(dashboard)
    dashboard.wait_for_selector(f"{colours['Olive Red']}.wait-red", state="attached", timeout=LIVE_MS)
    seen = {name: dashboard.evaluate(BACKGROUND, sel) for name, sel in colours.items()}
    assert seen["Olive Fresh"] == "rgb(248, 249, 250)"  # offline grey
    assert seen["Olive Amber"] == "rgb(255, 249, 219)"  # amber
    assert seen["Olive Red"] == "rgb(255, 245, 245)"  # red


def open_call_with(dashboard, visit):
    card = f"[data-visit='{visit.id}']"
    dashboard.click(f"{card} form[data-action='call'] button")
    dashboard.wait_for_selector(f"[data-staff-call][data-visit='{visit.id}']", timeout=LIVE_MS)
    dashboard.wait_for_function("() => !!window.staffCall", timeout=LIVE_MS)


@pytest.mark.parametrize("answer", ["yes", "no"])
def test_calling_a_second_patient_asks_first_and_leaves_the_first_call(new_page, provider, clinic_a, answer):
    first, second = ready(clinic_a, "Fay First"), ready(clinic_a, "Sam Second")
    dashboard = new_page()
    open_dashboard(dashboard)
    open_call_with(dashboard, first)

    asked = []

    def reply(dialog):
        asked.append(dialog.message)
        dialog.accept() if answer == "yes" else dialog.dismiss()

    dashboard.on("dialog", reply)
    dashboard.click(f"[data-visit='{second.id}'] form[data-action='call'] button")
    if answer == "yes":
        dashboard.wait_for_selector(f"[data-staff-call][data-visit='{second.id}']", timeout=LIVE_MS)
        dashboard.wait_for_selector(f"[data-visit='{first.id}'][data-status='available']", timeout=LIVE_MS)
        first.refresh_from_db(), second.refresh_from_db()
        assert (first.status, second.status) == (Status.AVAILABLE, Status.IN_CALL)
        assert not first.call_participants.exists()
    else:
        dashboard.wait_for_timeout(800)
        first.refresh_from_db(), second.refresh_from_db()
        assert (first.status, second.status) == (Status.IN_CALL, Status.WAITING)
        assert dashboard.query_selector(f"[data-staff-call][data-visit='{first.id}']")
    assert asked == ["You are in a call with Fay First. Leave it and call Sam Second?"]
