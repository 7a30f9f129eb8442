"""Closing the waiting room with patients in it, in Chromium: a clinic admin presses Close now with
a message and the waiting patient sees it live (and hears it: the live region) while keeping their
place; another dashboard's banner appears without a reload; a new arrival meets the closed page;
Reopen clears it everywhere. And the hours closing the clinic reach the dashboard and the patient
through the sweep's push."""

from __future__ import annotations

from datetime import time

import pytest
from django.utils import timezone

from tests.factories import staff
from tests.support.announcements import RECORD_SAID, RECORD_TITLES, wait_until_said, wait_until_titled
from tests.support.live import LIVE_MS, check_in, login, off_loop, open_dashboard
from visits.models import Visit
from waitingroom import opening
from waitingroom.models import HoursException, OpeningHours, Role

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}
MESSAGE = "Closed early: the doctor was called away."


def waiting_patient(new_page, clinic, name: str = "Ann Patient"):
    page = new_page(viewport=PHONE)
    page.add_init_script(RECORD_SAID)
    page.add_init_script(RECORD_TITLES)
    check_in(page, clinic, name)
    page.wait_for_selector("[data-patient-status='waiting']", timeout=LIVE_MS)
    page.wait_for_selector("body[data-socket='open']", timeout=LIVE_MS)
    return page


def test_close_now_with_patients_waiting_tells_them_live_and_reopen_clears_it(new_page, clinic_a, provider):
    staff(username="dana", clinic=clinic_a, role=Role.CLINIC_ADMIN, first_name="Dana")
    patient = waiting_patient(new_page, clinic_a)
    assert patient.locator("[data-opening]").is_hidden()
    colleague = new_page()
    open_dashboard(colleague)  # the provider: no Close now button, the banner comes live
    assert colleague.locator("[data-close-form]").count() == 0
    assert colleague.locator("[data-opening-banner]").is_hidden()

    admin = new_page()
    login(admin, username="dana", password="pw-for-tests-1")
    admin.wait_for_selector("body[data-socket='open']")
    admin.fill("#close-message", MESSAGE)
    admin.get_by_role("button", name="Close now").click()
    admin.wait_for_selector("[data-reopen-form]:not([hidden])")
    assert admin.text_content("[data-opening-banner]").startswith("Closed now by Dana at ")

    # The waiting patient: the notice on screen, read out, in the tab's title; still in line.
    patient.wait_for_selector("[data-opening]:not([hidden])", timeout=LIVE_MS)
    notice = patient.text_content("[data-opening]")
    assert notice.startswith("The clinic has closed the waiting room for now. You keep your place")
    assert MESSAGE in notice
    wait_until_said(patient, MESSAGE)
    wait_until_titled(patient, "The clinic has closed")
    assert patient.get_attribute("body", "data-status") == "waiting"
    assert Visit.objects.get().status == "waiting"

    # Another dashboard's banner, without a reload.
    colleague.wait_for_selector("[data-opening-banner]:not([hidden])", timeout=LIVE_MS)
    banner = colleague.text_content("[data-opening-banner]")
    assert "Closed now by Dana at " in banner and MESSAGE in banner
    assert "patients already waiting stay until you end their visits" in banner

    # A new arrival meets the closed page with the message.
    newcomer = new_page(viewport=PHONE)
    newcomer.goto(f"/c/{clinic_a.slug}/")
    newcomer.wait_for_selector("[data-closed-page]")
    assert MESSAGE in newcomer.text_content("[data-closed-message]")

    admin.get_by_role("button", name="Reopen the waiting room").click()
    admin.wait_for_selector("[data-close-form]:not([hidden])")
    patient.wait_for_selector("[data-opening]", state="hidden", timeout=LIVE_MS)
    wait_until_said(patient, "The clinic is open again.")
    colleague.wait_for_selector("[data-opening-banner]", state="hidden", timeout=LIVE_MS)


def test_the_hours_closing_the_clinic_reach_the_dashboard_and_the_patient_live(new_page, clinic_a, provider):
    patient = waiting_patient(new_page, clinic_a)
    dashboard = new_page()
    open_dashboard(dashboard)
    # Open every day around the clock, but today (the clinic's calendar) is a holiday.
    for day in range(7):
        OpeningHours.objects.create(clinic=clinic_a, weekday=day, opens=time(0), closes=time(0))
    HoursException.objects.create(
        clinic=clinic_a, date=timezone.localdate(timezone=clinic_a.tzinfo), note="Holiday"
    )
    assert off_loop(opening.hours_sweep) == 1  # what beat runs every 30 s
    dashboard.wait_for_selector("[data-opening-banner]:not([hidden])", timeout=LIVE_MS)
    assert dashboard.text_content("[data-opening-banner]").startswith(
        "Closed since 00:00 — patients already waiting stay until you end their visits. Opens tomorrow at 00:00."
    )
    patient.wait_for_selector("[data-opening]:not([hidden])", timeout=LIVE_MS)
    wait_until_said(patient, "The clinic is closed. It opens tomorrow at 00:00 New York time.")
    assert patient.get_attribute("body", "data-status") == "waiting"
