"""The Content-Security-Policy in Chromium: each main page loads, runs its scripts and swaps its
fragments without a single violation (a `securitypolicyviolation` event or a console report), with
the policy in force. The form behaviour that moved out of inline handlers (waitingroom/forms.js)
still works."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from scheduling import availability
from scheduling.meetings.booking import meeting_schedule
from scheduling.models import Service
from tests.factories import MembershipFactory, staff
from tests.scheduling.conftest import scheduled_request, weekday_hours
from tests.support.live import LIVE_MS, login, off_loop
from visits.models import Visit
from waitingroom.models import Role

pytestmark = pytest.mark.browser

# Runs before any page script (and is not subject to the page's policy): records every violation.
COLLECT = """window.cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`);
});"""


class Watch:
    """Every CSP violation one browser context's pages report, events and console alike."""

    def __init__(self, new_page) -> None:
        self.console: list[str] = []
        self.page = new_page()
        self.page.context.add_init_script(COLLECT)
        self.page.on("console", self.note)

    def note(self, message) -> None:
        if "Content Security Policy" in message.text:
            self.console.append(message.text)

    def goto(self, path: str) -> None:
        response = self.page.goto(path)
        assert response is not None and "script-src 'self'" in response.headers["content-security-policy"]

    def violations(self) -> list[str]:
        return self.page.evaluate("() => window.cspViolations") + self.console


def test_the_detector_sees_an_inline_script_and_an_inline_style(new_page, clinic_a):
    """The check below cannot pass by seeing nothing: what an injection would do is reported."""
    watch = Watch(new_page)
    watch.goto(f"/c/{clinic_a.slug}/")
    ran = watch.page.evaluate("""() => {
      const s = document.createElement('script'); s.textContent = 'window.inlineRan = true';
      document.body.append(s);
      document.body.insertAdjacentHTML('beforeend', '<p style="color: red" onclick="x()">hi</p>');
      return window.inlineRan === true; }""")
    assert ran is False
    watch.page.wait_for_function("() => window.cspViolations.length >= 2")
    assert any("script-src" in v for v in watch.violations())
    assert any("style-src" in v for v in watch.violations())


def test_the_main_pages_run_without_a_csp_violation(new_page, sweeper, clinic_a, provider):
    service = Service.objects.create(clinic=clinic_a, name="General consultation", duration_minutes=30)
    weekday_hours(clinic_a, provider)
    staff(username="sam", clinic=clinic_a, role=Role.SCHEDULER)
    soon = timezone.now() + timedelta(minutes=5)
    meeting = off_loop(
        meeting_schedule, clinic=clinic_a, by=provider, provider_id=provider.pk, service=service,
        guest_name="Gina Guest", guest_email="gina@example.com", times=[soon],
    )  # fmt: skip
    slot = next(iter(availability.open_slots(clinic=clinic_a, service=service, provider_id=None, now=soon)))
    off_loop(scheduled_request, clinic_a, service, times=[slot.starts_at])
    pages = []

    # The patient: intake, then the wait screen with its device check (fake camera).
    patient = Watch(new_page)
    pages.append(patient)
    patient.goto(f"/c/{clinic_a.slug}/")
    patient.page.fill("input[name=patient_name]", "Ann Patient")
    patient.page.click("button[type=submit]")
    patient.page.wait_for_selector("[data-patient-status='waiting']", timeout=LIVE_MS)

    # The provider: the dashboard, a call with the patient, the meetings overview.
    host = Watch(new_page)
    pages.append(host)
    login(host.page, username="paula", password="pw-for-tests-1")
    host.page.wait_for_selector("body[data-socket='open']")
    visit = Visit.objects.get(patient_name="Ann Patient")
    host.page.click(f"[data-visit='{visit.id}'] form[data-action='call'] button")
    host.page.wait_for_selector("[data-staff-call] [data-call]:not([hidden])")
    patient.page.wait_for_selector("[data-call]:not([hidden])", timeout=LIVE_MS)
    overview = host.page.context.new_page()
    overview.goto("/meetings/")
    overview.wait_for_selector(f"tr[data-meeting='{meeting.pk}']")
    overview.wait_for_selector("body[data-socket='open']")
    assert overview.evaluate("() => window.cspViolations") == []

    # The scheduler: the dispatch page and its assign dialog (a fragment swapped in).
    scheduler = Watch(new_page)
    pages.append(scheduler)
    login(scheduler.page, username="sam", password="pw-for-tests-1")
    scheduler.page.wait_for_url(lambda url: "/accounts/login/" not in url)
    scheduler.goto("/dispatch/")
    scheduler.page.wait_for_selector("body[data-socket='open']")
    scheduler.page.click("[data-rows] [data-assign]")
    scheduler.page.wait_for_selector("dialog[data-assign-dialog][open] [data-assign-for]")

    # Requesters and guests: the request form, the calendar, guest entry and the meeting's page.
    anyone = Watch(new_page)
    pages.append(anyone)
    anyone.goto(f"/c/{clinic_a.slug}/request/")
    anyone.page.select_option("select[name=service]", str(service.pk))
    # Changing the service reloads the form with it: let that page load before going on (a goto
    # while it is on its way is aborted).
    anyone.page.wait_for_url(f"**/request/?service={service.pk}*")
    anyone.page.wait_for_load_state()
    anyone.goto(f"/c/{clinic_a.slug}/calendar/")
    anyone.goto("/meet/")
    anyone.goto(f"/m/{meeting.join_token}/")

    assert [(watch.page.url, watch.violations()) for watch in pages if watch.violations()] == []


def test_form_behaviour_works_without_inline_handlers(new_page, clinic_a, clinic_b, provider) -> None:
    service = Service.objects.create(clinic=clinic_a, name="General consultation", duration_minutes=30)
    Service.objects.create(clinic=clinic_a, name="Follow-up", duration_minutes=15)
    MembershipFactory(user=provider, clinic=clinic_b, role=Role.PROVIDER)
    meeting = off_loop(
        meeting_schedule, clinic=clinic_a, by=provider, provider_id=provider.pk, service=service,
        guest_name="Gina Guest", guest_email="gina@example.com",
        times=[timezone.now() + timedelta(minutes=5)],
    )  # fmt: skip
    watch = Watch(new_page)
    page = watch.page

    # A filter submits itself when changed.
    follow_up = Service.objects.get(name="Follow-up")
    watch.goto(f"/c/{clinic_a.slug}/calendar/")
    page.select_option("#cal-service", str(follow_up.pk))
    page.wait_for_url(f"**/calendar/?service={follow_up.pk}")

    # A form asking first submits only when the answer is OK.
    asked: list[str] = []

    def answer_no(dialog) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", answer_no)
    watch.goto(f"/m/{meeting.join_token}/")
    page.click("[data-guest-cancel]")
    assert asked == ["Cancel this session?"]
    meeting.refresh_from_db()
    assert meeting.cancelled_at is None

    # The clinic switcher opens the chosen clinic's dashboard.
    login(page, username="paula", password="pw-for-tests-1")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    watch.goto(f"/dashboard/{clinic_a.slug}/")
    page.select_option("#clinic-switch", label=clinic_b.name)
    page.wait_for_url(f"**/dashboard/{clinic_b.slug}/")
    assert watch.violations() == []
