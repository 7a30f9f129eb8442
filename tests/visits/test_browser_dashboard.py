"""Dashboard behaviours in Chromium: chat and broadcast both ways, wait colours, remembered
sections, alerts, and re-fetching after a lost socket."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import staff
from tests.support.live import LIVE_MS, check_in, login, off_loop
from tests.visits.conftest import in_call, ready
from visits import services
from visits.models import Visit

pytestmark = pytest.mark.browser


def open_dashboard(new_page, username="paula"):
    page = new_page()
    login(page, username=username, password="pw-for-tests-1")
    page.wait_for_selector("body[data-socket='open']")
    return page


def join(new_page, clinic, name="Ann Patient"):
    page = new_page()
    check_in(page, clinic, name)
    page.wait_for_selector("[data-patient-status='waiting']")
    return page, Visit.objects.get(patient_name=name)


def test_chat_and_broadcast_reach_the_other_side_live(new_page, provider, clinic_a):
    dashboard = open_dashboard(new_page)
    patient, visit = join(new_page, clinic_a)
    card = f"[data-visit='{visit.id}']"

    patient.fill("[data-chat-form] input[name=body]", "Is it going to be long?")
    patient.click("[data-chat-form] button")
    dashboard.wait_for_selector(f"{card} [data-unread]", timeout=LIVE_MS)
    assert dashboard.text_content(f"{card} [data-unread]") == "1 unread"
    # The sound and title alert fired when the patient became ready.
    assert dashboard.get_attribute("body", "data-last-chime")

    dashboard.click(f"{card} [data-chat-open]")
    dashboard.wait_for_selector("[data-chat-log] >> text=Is it going to be long?")
    dashboard.wait_for_selector(f"{card} [data-unread]", state="detached", timeout=LIVE_MS)
    dashboard.fill("[data-chat-drawer] input[name=body]", "About five minutes")
    dashboard.click("[data-chat-drawer] button.primary")
    patient.wait_for_selector("[data-chat-log] >> text=About five minutes", timeout=LIVE_MS)

    dashboard.fill("#broadcast", "Running 15 minutes late")
    dashboard.click("[data-broadcast-form] button")
    patient.wait_for_selector("[data-broadcast] >> text=Running 15 minutes late", timeout=LIVE_MS)


def test_wait_colours_turn_amber_then_red(new_page, provider, clinic_a):
    for name, minutes in [("Fresh", 1), ("Amber", 6), ("Red", 16)]:
        visit = ready(clinic_a, name)
        Visit.objects.filter(pk=visit.pk).update(arrived_at=timezone.now() - timedelta(minutes=minutes))
    dashboard = open_dashboard(new_page)
    classes = {
        name: dashboard.get_attribute(f"[data-visit='{Visit.objects.get(patient_name=name).id}']", "class")
        for name in ["Fresh", "Amber", "Red"]
    }
    assert "wait-amber" not in classes["Fresh"] and "wait-red" not in classes["Fresh"]
    assert "wait-amber" in classes["Amber"]
    assert "wait-red" in classes["Red"]


def test_collapsed_sections_are_remembered_per_person(new_page, provider, clinic_a):
    dashboard = open_dashboard(new_page)
    dashboard.click("details[data-phase='ready'] > summary")
    dashboard.click("details[data-phase='recents'] > summary")
    dashboard.reload()
    dashboard.wait_for_selector("body[data-socket='open']")
    assert dashboard.get_attribute("details[data-phase='ready']", "open") is None
    assert dashboard.get_attribute("details[data-phase='recents']", "open") == ""
    # A colleague on the same computer keeps the defaults.
    staff(username="chris", clinic=clinic_a, role="csr")
    dashboard.click("text=Log out")
    colleague = open_dashboard(lambda: dashboard, username="chris")
    assert colleague.get_attribute("details[data-phase='ready']", "open") == ""


def test_dashboard_refetches_what_it_missed_while_its_socket_was_down(new_page, provider, clinic_a):
    dashboard = open_dashboard(new_page)
    visit = off_loop(ready, clinic_a, "Missed While Down")
    dashboard.wait_for_selector(f"[data-visit='{visit.id}']", timeout=LIVE_MS)
    dashboard.evaluate("window.dashboardSocket.drop()")
    off_loop(services.visit_cancel, visit_id=visit.id, user=provider)  # published while nobody listens
    late = off_loop(ready, clinic_a, "Arrived While Down")
    dashboard.wait_for_selector("body[data-socket='open']", timeout=5000)
    dashboard.wait_for_selector(f"[data-visit='{late.id}']", timeout=LIVE_MS)
    assert dashboard.query_selector(f"[data-visit='{visit.id}']") is None


def test_staff_check_camera_and_microphone_before_a_call(new_page, provider, clinic_a):
    dashboard = open_dashboard(new_page)
    dashboard.click("[data-device-check-open]")
    panel = "[data-staff-devices]"
    dashboard.wait_for_function(f"() => document.querySelector('{panel} [data-preview]').videoWidth > 0")
    dashboard.wait_for_function(
        f"() => Number(document.querySelector('{panel} [data-device-check]').dataset.micLevel) > 0"
    )
    assert "working" in dashboard.text_content(f"{panel} [data-device-result]")
    assert dashboard.locator(f"{panel} [data-mic] option").count() >= 1
    dashboard.click("[data-device-check-close]")
    assert dashboard.is_hidden(panel)


def test_join_call_is_offered_only_to_staff_not_in_the_call(new_page, provider, csr, clinic_a):
    visit = off_loop(in_call, clinic_a, provider, "Ivy")
    join_form = f"[data-visit='{visit.id}'] form[data-action='call']"
    mine, colleague = open_dashboard(new_page), open_dashboard(new_page, username="chris")
    assert not mine.is_visible(join_form)
    assert colleague.is_visible(join_form) and colleague.text_content(join_form) == "Join call"
    # The colleague joins (as from another tab): the pushed card hides Join on their page too.
    off_loop(services.visit_call, visit_id=visit.id, user=csr)
    colleague.wait_for_selector(join_form, state="hidden", timeout=LIVE_MS)
    assert not mine.is_visible(join_form)
