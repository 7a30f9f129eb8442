"""Issue 19's sweep: every page of the product in each state the journeys reach, at a phone's width
(360x740) and a desk's (1366x768), has no WCAG 2.2 A/AA violation that axe-core finds and does not
scroll sideways. The Django admin's own markup is out of scope.

Each test reaches one state the way the journeys do (tests/**/test_browser_*.py) at the phone's
width, checks it, resizes the same page to the desk's width and checks again, and reports both
widths' faults together (reaching a state is most of a test's time: one page for both widths
halves the sweep).
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from scheduling import links
from scheduling.meetings.booking import meeting_schedule
from scheduling.models import Service
from tests.consultations.conftest import make_consultation
from tests.scheduling.conftest import scheduled_request, weekday_hours
from tests.support.axe import describe, violations
from tests.support.live import LIVE_MS, check_in, login, off_loop, open_dashboard
from tests.visits.conftest import ready
from visits import offline
from visits import services as visit_services
from visits.models import Visit
from waitingroom.models import Role
from waitingroom.outbox import sms_backends

pytestmark = pytest.mark.browser

PHONE, DESK = {"width": 360, "height": 740}, {"width": 1366, "height": 768}
ICE_CONNECTED = """() => { const call = window.patientCall;
  return !!call && Object.values((call.mesh || call).peers).some(p => ['connected', 'completed'].includes(p.pc.iceConnectionState)); }"""
# The browser refuses the camera and microphone (the person said no to the permission prompt).
BLOCK_MEDIA = """navigator.mediaDevices.getUserMedia = () =>
  Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));"""
HIDE_PAGE = """() => {
  Object.defineProperty(document, 'hidden', {value: true, configurable: true});
  Object.defineProperty(document, 'visibilityState', {value: 'hidden', configurable: true});
  document.dispatchEvent(new Event('visibilitychange'));
}"""


def widths():
    """The test's page starts at the phone's width (`viewport` argument); sweep() checks the desk's too."""
    return pytest.mark.parametrize("viewport", [pytest.param(PHONE, id="360+1366")])


def sweep(page, label: str) -> None:
    """No axe violation and no sideways scrolling at either width; one message with every fault."""
    faults = []
    for size in (PHONE, DESK):
        page.set_viewport_size(size)
        page.wait_for_timeout(50)  # the layout settles at the new width
        width = size["width"]
        found = violations(page)
        if found:
            faults.append(f"{label} at {width}px, axe:\n{describe(found)}")
        scroll = page.evaluate("() => document.documentElement.scrollWidth")
        if scroll > width:
            faults.append(f"{label} at {width}px scrolls sideways: {scroll}px of content in {width}px")
    page.set_viewport_size(PHONE)
    assert not faults, "\n".join(faults)


# --- Fixtures (the other folders' conftest fixtures are not visible here) ------------------------


@pytest.fixture
def service(clinic_a):
    return Service.objects.create(clinic=clinic_a, name="General consultation", duration_minutes=30)


@pytest.fixture
def paid_service(clinic_a):
    return Service.objects.create(
        clinic=clinic_a, name="Specialist review", duration_minutes=30, payment_required=True, price="60.00"
    )


@pytest.fixture
def phone_service(clinic_a):
    return Service.objects.create(
        clinic=clinic_a, name="Phone consultation", kind=Service.Kind.PHONE, duration_minutes=20
    )


@pytest.fixture
def hours(clinic_a, provider):
    weekday_hours(clinic_a, provider)


@pytest.fixture
def scheduler(clinic_a):
    from tests.factories import staff

    return staff(
        username="sam", clinic=clinic_a, role=Role.SCHEDULER, first_name="Sam", last_name="Scheduler"
    )


def patient_waiting(new_page, clinic, name="Ann Patient", **context):
    page = new_page(**context)
    check_in(page, clinic, name)
    page.wait_for_selector("[data-patient-status='waiting']", timeout=LIVE_MS)
    return page, Visit.objects.get(patient_name=name)


def book_meeting(clinic, provider, service, minutes=5):
    return off_loop(
        meeting_schedule, clinic=clinic, by=provider, provider_id=provider.pk, service=service,
        guest_name="Gina Guest", guest_email="gina@example.com",
        times=[timezone.now() + timedelta(minutes=minutes)],
    )  # fmt: skip


def tomorrow_at_ten(clinic):
    """An open slot of the `hours` fixture (Paula works 09:00-17:00 clinic time, every day)."""
    day = timezone.localdate(timezone=clinic.tzinfo) + timedelta(days=1)
    return datetime.combine(day, time(10), tzinfo=clinic.tzinfo)


# --- Patient -------------------------------------------------------------------------------------


@widths()
def test_patient_intake(new_page, clinic_a, viewport):
    page = new_page(viewport=viewport)
    page.goto(f"/c/{clinic_a.slug}/")
    sweep(page, "intake")


@widths()
def test_patient_device_check(new_page, clinic_a, viewport):
    page = new_page(viewport=viewport)
    # The page's script is held: the device check stays where it begins ("checking").
    page.route("**/static/visits/patient.js*", lambda route: None)
    check_in(page, clinic_a, "Ann Patient")
    page.wait_for_url("**/v/*/", wait_until="commit")
    page.wait_for_selector("[data-screen='checking']", state="attached")
    sweep(page, "device check")


@widths()
def test_patient_waiting(new_page, clinic_a, viewport):
    page, _ = patient_waiting(new_page, clinic_a, viewport=viewport)
    page.wait_for_function("() => document.querySelector('[data-preview]').videoWidth > 0")
    sweep(page, "waiting")


@widths()
def test_patient_blocked_camera(new_page, clinic_a, viewport):
    page = new_page(viewport=viewport)
    page.context.add_init_script(BLOCK_MEDIA)
    check_in(page, clinic_a, "Ann Patient")
    page.wait_for_selector("[data-screen='blocked']", timeout=LIVE_MS)
    sweep(page, "camera blocked")


@widths()
def test_patient_blocked_camera_where_the_clinic_calls(new_page, clinic_a, viewport):
    """ "Call me instead": the offer (asking for the number first), then the request in line."""
    from consultations.models import ConsultationProfile

    ConsultationProfile.objects.create(clinic=clinic_a, voice_number="+15555550100")
    page = new_page(viewport=viewport)
    page.context.add_init_script(BLOCK_MEDIA)
    check_in(page, clinic_a, "Ann Patient")
    page.wait_for_selector("[data-call-me]", timeout=LIVE_MS)
    sweep(page, "camera blocked, call me instead offered")
    Visit.objects.filter(patient_name="Ann Patient").update(verified_phone="+14155550123")
    page.reload()
    page.get_by_role("button", name="Call me instead").click()
    page.wait_for_selector("[data-phone-requested]", timeout=LIVE_MS)
    sweep(page, "waiting for a phone call")


@widths()
def test_patient_called(new_page, clinic_a, provider, viewport):
    page, visit = patient_waiting(new_page, clinic_a, viewport=viewport)
    off_loop(visit_services.visit_call, visit_id=visit.id, user=provider)
    page.wait_for_selector("[data-call]:not([hidden])", timeout=LIVE_MS)
    sweep(page, "called")


def call_from_dashboard(new_page, clinic, viewport):
    """The provider calls the waiting patient from the dashboard (both pages at `viewport`)."""
    dashboard = new_page(viewport=viewport)
    open_dashboard(dashboard)
    page, visit = patient_waiting(new_page, clinic, viewport=viewport)
    dashboard.click(f"[data-visit='{visit.id}'] form[data-action='call'] button")
    dashboard.wait_for_selector("[data-staff-call] [data-call]:not([hidden])")
    return page, dashboard


@widths()
def test_patient_in_call(new_page, clinic_a, provider, viewport):
    page, _ = call_from_dashboard(new_page, clinic_a, viewport)
    page.wait_for_function(ICE_CONNECTED, timeout=20_000)
    sweep(page, "in call (patient)")
    page.click("[data-call-devices]")
    page.wait_for_selector("[data-devices-close]")
    sweep(page, "in call, camera and microphone pickers open")


@widths()
def test_patient_ended(new_page, clinic_a, provider, viewport):
    page, visit = patient_waiting(new_page, clinic_a, viewport=viewport)
    off_loop(visit_services.visit_call, visit_id=visit.id, user=provider)
    page.wait_for_selector("[data-patient-status='in_call']", state="attached", timeout=LIVE_MS)
    off_loop(visit_services.visit_end, visit_id=visit.id, user=provider)
    page.wait_for_selector("[data-patient-status='completed']", timeout=LIVE_MS)
    sweep(page, "ended")


@widths()
def test_patient_offline_queued(new_page, clinic_a, viewport):
    clinic_a.offline_queueing = True
    clinic_a.save(update_fields=["offline_queueing"])
    page, _ = patient_waiting(new_page, clinic_a, viewport=viewport)
    page.fill("input[name=phone]", "(415) 555-0123")
    page.click("form[data-json-form='phone'] button")
    page.wait_for_selector("input[name=code]")
    code = re.search(r"\b(\d{6})\b", sms_backends.outbox[-1].body).group(1)
    page.fill("input[name=code]", code)
    page.click("form[data-json-form='verify'] button")
    page.wait_for_selector("[data-verified]")
    page.evaluate(HIDE_PAGE)
    page.wait_for_function("() => document.body.dataset.status === 'offline'", timeout=LIVE_MS)
    sweep(page, "offline, queued")


@widths()
def test_patient_recalled(new_page, clinic_a, provider, viewport):
    clinic_a.offline_queueing = True
    clinic_a.save(update_fields=["offline_queueing"])
    page, visit = patient_waiting(new_page, clinic_a, viewport=viewport)
    off_loop(offline.phone_verification_start, visit_id=visit.id, raw_phone="(415) 555-0123")
    code = re.search(r"\b(\d{6})\b", sms_backends.outbox[-1].body).group(1)
    off_loop(offline.phone_verification_check, visit_id=visit.id, code=code)
    off_loop(offline.visit_visibility, visit_id=visit.id, hidden=True)
    off_loop(offline.visit_recall, visit_id=visit.id, user=provider)
    page.wait_for_function("() => document.body.dataset.status === 'recalled'", timeout=LIVE_MS)
    sweep(page, "recalled")


# --- Requester, guest, client ----------------------------------------------------------------------


@widths()
def test_request_form_free_service(new_page, clinic_a, provider, service, hours, viewport):
    page = new_page(viewport=viewport)
    page.goto(f"/c/{clinic_a.slug}/request/?service={service.pk}")
    page.wait_for_selector("fieldset[data-slots]")
    sweep(page, "request form (free service)")


@widths()
def test_request_form_paid_service(new_page, localstripe, clinic_a, provider, paid_service, hours, viewport):
    page = new_page(viewport=viewport)
    page.goto(f"/c/{clinic_a.slug}/request/?service={paid_service.pk}")
    page.locator("[data-card-mount] input[placeholder=number]").wait_for()
    sweep(page, "request form (paid service)")


@widths()
def test_requester_home(new_page, clinic_a, provider, service, hours, viewport):
    request = off_loop(scheduled_request, clinic_a, service, times=[tomorrow_at_ten(clinic_a)])
    page = new_page(viewport=viewport)
    page.goto(urlsplit(links.requester_link(request.requester)).path)
    page.wait_for_url("**/requests/")
    sweep(page, "requester home")


@widths()
def test_guest_meeting_entry(new_page, clinic_a, viewport):
    page = new_page(viewport=viewport)
    page.goto("/meet/")
    sweep(page, "meeting entry")


@widths()
def test_guest_meeting_page(new_page, clinic_a, provider, service, viewport):
    meeting = book_meeting(clinic_a, provider, service, minutes=60 * 24)
    page = new_page(viewport=viewport)
    page.goto(urlsplit(links.join_link(meeting)).path)
    sweep(page, "guest meeting page")


@widths()
def test_consultation_client_room(new_page, clinic_a, provider, phone_service, viewport):
    consultation = off_loop(make_consultation, clinic_a, phone_service, expert=provider)
    page = new_page(viewport=viewport)
    page.goto(f"/consult/room/{consultation.client_token}/")
    page.wait_for_selector("body[data-socket='open']")
    sweep(page, "consultation client room")


@widths()
def test_booking_page(new_page, clinic_a, provider, phone_service, hours, viewport):
    page = new_page(viewport=viewport)
    page.goto(f"/c/{clinic_a.slug}/consult/")
    sweep(page, "booking page")


@widths()
def test_error_page_not_found(new_page, clinic_a, viewport):
    page = new_page(viewport=viewport)
    page.goto("/no-such-page/")
    sweep(page, "404")


@widths()
def test_error_page_bad_patient_token(new_page, clinic_a, viewport):
    page = new_page(viewport=viewport)
    page.goto("/v/not-a-real-token/")
    sweep(page, "bad patient link")


# --- Staff -----------------------------------------------------------------------------------------


@widths()
def test_staff_login(new_page, provider, viewport):
    page = new_page(viewport=viewport)
    page.goto("/accounts/login/")
    sweep(page, "login")


@widths()
def test_staff_dashboard_with_waiting_patients(new_page, clinic_a, provider, viewport):
    for name in ["Ann Patient", "Bo Patient"]:
        off_loop(ready, clinic_a, name)
    page = new_page(viewport=viewport)
    open_dashboard(page)
    page.wait_for_selector("[data-phase='ready'] [data-visit]")
    sweep(page, "dashboard, patients waiting")


@widths()
def test_staff_dashboard_call_panel_open(new_page, clinic_a, provider, viewport):
    _, dashboard = call_from_dashboard(new_page, clinic_a, viewport)
    sweep(dashboard, "dashboard, call panel open")


@widths()
def test_staff_dispatch_assign_dialog(new_page, clinic_a, provider, scheduler, service, hours, viewport):
    request = off_loop(scheduled_request, clinic_a, service, times=[tomorrow_at_ten(clinic_a)])
    page = new_page(viewport=viewport)
    login(page, username="sam", password="pw-for-tests-1")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    page.goto("/dispatch/")
    page.wait_for_selector("body[data-socket='open']")
    page.click(f"tbody[data-rows] tr[data-request='{request.pk}'] button[data-assign]")
    page.wait_for_selector(f"dialog[data-assign-dialog][open] [data-assign-for='{request.pk}']")
    sweep(page, "dispatch, Assign dialog open")


@widths()
def test_staff_meetings_overview(new_page, clinic_a, provider, service, viewport):
    book_meeting(clinic_a, provider, service)
    page = new_page(viewport=viewport)
    login(page, username="paula", password="pw-for-tests-1")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    page.goto("/meetings/")
    page.wait_for_selector("body[data-socket='open']")
    sweep(page, "meetings overview")


@widths()
def test_staff_consultation_room(new_page, clinic_a, provider, phone_service, viewport):
    consultation = off_loop(make_consultation, clinic_a, phone_service, expert=provider)
    page = new_page(viewport=viewport)
    login(page, username="paula", password="pw-for-tests-1")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    page.goto(f"/consultations/{consultation.pk}/")
    page.wait_for_selector("body[data-socket='open']")
    sweep(page, "consultation staff room")


@widths()
def test_staff_meeting_payment(new_page, clinic_a, provider, paid_service, viewport):
    meeting = book_meeting(clinic_a, provider, paid_service, minutes=60 * 24)
    page = new_page(viewport=viewport)
    login(page, username="paula", password="pw-for-tests-1")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    page.goto(f"/meetings/{meeting.pk}/payment/")
    sweep(page, "meeting payment")


def test_the_sweep_catches_a_violation_and_sideways_scrolling(new_page, clinic_a):
    """The detector itself: an image without alt text and a too-wide block fail the sweep."""
    page = new_page(viewport=PHONE)
    page.goto(f"/c/{clinic_a.slug}/")
    page.evaluate("""() => {
      const img = document.createElement('img'); img.src = '/static/none.png'; document.body.append(img);
      const wide = document.createElement('div'); wide.style.width = '900px'; wide.textContent = 'wide';
      document.body.append(wide);
    }""")
    with pytest.raises(AssertionError) as failed:
        sweep(page, "intake, broken on purpose")
    assert "image-alt" in str(failed.value) and "img" in str(failed.value)
    assert "scrolls sideways: 9" in str(failed.value)


# --- Reports (/reports/, a clinic admin's) ---------------------------------------------------------


@pytest.fixture
def clinic_admin(clinic_a):
    from tests.factories import staff

    return staff(username="ada", clinic=clinic_a, role=Role.CLINIC_ADMIN, first_name="Ada", last_name="Admin")


def report_data(clinic) -> None:
    """A month of visits with their events (the benchmark's bulk rows) up to today."""
    from bench.reports import fill_visits

    end = timezone.now()
    fill_visits(clinic.pk, count=600, start=end - timedelta(days=40), end=end)


@widths()
def test_staff_reports_with_figures_and_tables_open(new_page, clinic_a, clinic_admin, viewport):
    off_loop(report_data, clinic_a)
    page = new_page(viewport=viewport)
    login(page, username="ada", password="pw-for-tests-1")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    page.goto("/reports/?preset=last_30")
    page.wait_for_selector("svg.report-svg[role='img']")
    page.evaluate("() => document.querySelectorAll('details.report-table').forEach(d => { d.open = true; })")
    sweep(page, "reports, tables open")


@widths()
def test_staff_reports_bad_period(new_page, clinic_a, clinic_admin, viewport):
    page = new_page(viewport=viewport)
    login(page, username="ada", password="pw-for-tests-1")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    page.goto("/reports/?start=2026-03-08&end=2026-03-01")
    page.wait_for_selector(".report-period [role='alert']")
    sweep(page, "reports, period refused")


# --- Opening hours (issue 20): the closed and full pages, the wait screen's notice, the banner -----


def close_now(clinic, message: str = "Closed early today: call 555-0100 if it is urgent.") -> None:
    from tests.factories import staff
    from waitingroom import opening

    admin = staff(username="dana", clinic=clinic, role=Role.CLINIC_ADMIN, first_name="Dana")
    off_loop(opening.clinic_close_now, clinic_id=clinic.pk, user=admin, message=message)


@widths()
def test_patient_closed_page(new_page, clinic_a, viewport):
    from waitingroom.models import OpeningHours

    # Open only on a weekday that is not today: the page says when it opens and the clinic's message.
    clinic_a.closed_message = "For urgent help call 911, or request an appointment for another day."
    clinic_a.save(update_fields=["closed_message"])
    other_day = (timezone.localdate(timezone=clinic_a.tzinfo).weekday() + 3) % 7
    OpeningHours.objects.create(clinic=clinic_a, weekday=other_day, opens=time(8), closes=time(17))
    page = new_page(viewport=viewport)
    page.goto(f"/c/{clinic_a.slug}/")
    page.wait_for_selector("[data-opens]")
    sweep(page, "closed page (outside the hours)")
    close_now(clinic_a)
    page.goto(f"/c/{clinic_a.slug}/")
    page.wait_for_selector("[data-closed-message]")
    sweep(page, "closed page (closed now)")


@widths()
def test_patient_full_page(new_page, clinic_a, service, phone_service, viewport):
    clinic_a.max_waiting = 1
    clinic_a.save(update_fields=["max_waiting"])
    off_loop(ready, clinic_a, "Ann Patient")
    page = new_page(viewport=viewport)
    page.goto(f"/c/{clinic_a.slug}/")
    page.wait_for_selector("[data-full-page] .opening-offers")
    sweep(page, "room full, book instead")


@widths()
def test_patient_waiting_when_the_clinic_closes(new_page, clinic_a, viewport):
    page, _ = patient_waiting(new_page, clinic_a, viewport=viewport)
    close_now(clinic_a)
    page.wait_for_selector("[data-opening]:not([hidden])", timeout=LIVE_MS)
    sweep(page, "waiting, the clinic closed")


@widths()
def test_staff_dashboard_closed_banner_and_reopen(new_page, clinic_a, provider, viewport):
    off_loop(ready, clinic_a, "Ann Patient")
    close_now(clinic_a)
    page = new_page(viewport=viewport)
    login(page, username="dana", password="pw-for-tests-1")
    page.wait_for_selector("body[data-socket='open']")
    page.wait_for_selector("[data-opening-banner]:not([hidden])")
    page.wait_for_selector("[data-reopen-form]:not([hidden])")
    sweep(page, "dashboard, closed now (clinic admin)")
    page.get_by_role("button", name="Reopen the waiting room").click()
    page.wait_for_selector("[data-close-form]:not([hidden])")
    sweep(page, "dashboard, Close now form (clinic admin)")


# --- Call guests (issue 20) ---------------------------------------------------------------------


@widths()
def test_call_guest_pages_and_the_call_panel_with_a_request(new_page, clinic_a, provider, viewport):
    """The guest's page before asking, waiting to be let in, in the call and removed; a link opened
    in another browser (the dead end); the provider's call panel with the guest's request showing."""
    from tests.visits.test_browser_call_guest import invite_guest, provider_calls_patient

    dashboard, _patient, _visit = provider_calls_patient(new_page, clinic_a, viewport=viewport)
    dashboard.click("[data-call-guest] summary")
    sweep(dashboard, "staff call panel, guest invitation form open")
    dashboard.click("[data-call-guest] summary")  # folded again: invite_guest opens it
    link = invite_guest(dashboard)
    sweep(dashboard, "staff call panel, guest invited")

    guest = new_page(viewport=viewport)
    guest.goto(link)
    guest.wait_for_selector(
        "[data-device-result]:has-text('Camera and microphone are working.')", timeout=LIVE_MS
    )
    sweep(guest, "call guest, before asking")
    dead = new_page(viewport=viewport)
    dead.goto(link)
    sweep(dead, "call guest link opened in another browser (dead end)")

    guest.wait_for_selector("body[data-socket='open']", timeout=LIVE_MS)
    guest.click("[data-guest-ask]")
    guest.wait_for_selector("[data-guest-screen='asking']", timeout=LIVE_MS)
    sweep(guest, "call guest, waiting to be let in")
    dashboard.wait_for_selector("[data-call-guest] .guest-request", timeout=LIVE_MS)
    sweep(dashboard, "staff call panel, a guest asking to join")

    dashboard.click("[data-call-guest] button:has-text('Admit')")
    guest.wait_for_selector("body.in-call [data-call]:not([hidden])", timeout=LIVE_MS)
    sweep(guest, "call guest, in the call")
    sweep(dashboard, "staff call panel, guest in the call")

    dashboard.click("[data-call-guest] button:has-text('Remove Alex')")
    guest.wait_for_selector("[data-guest-screen='ended']", timeout=LIVE_MS)
    sweep(guest, "call guest, removed")
