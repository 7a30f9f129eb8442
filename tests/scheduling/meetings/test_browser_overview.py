"""The meetings journey in Chromium: a meeting booked a few minutes ahead (inside the join window)
shows on its host's overview with a grey "?" (the guest has not entered). The guest types their
guest key on /meet/ and lands in the waiting room; without a reload, the host's row turns yellow
(entered, camera and microphone check not done) and then green once the fake camera passes the
check. The host presses Enter room, which calls the guest in and opens the call on the dashboard;
both decode each other's video. The host ends the visit from the call panel, and the meeting is
completed: live on an open overview, and in the database.

The yellow state lasts as long as the guest's device check, which with a fake camera is a blink.
To see it every time, the guest's wait-page script (which runs the check) is held back until the
host's row shows yellow, and every indicator value the row takes is recorded on the host's page,
so the exact grey -> yellow -> green sequence is asserted, not just the final colour."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from scheduling.meetings.booking import meeting_schedule
from scheduling.meetings.status import MeetingStatus
from scheduling.models import Meeting
from tests.support.live import LIVE_MS, login, off_loop
from tests.visits.test_browser_video import CONNECT, ICE_CONNECTED, REMOTE_VIDEO_DECODES
from visits.models import Visit

pytestmark = pytest.mark.browser

SCREENSHOT = "/tmp/meetings-overview.png"

# Records each distinct indicator the meeting's row shows, with its background colour then (rows
# are re-rendered by replacing the table body, so the observer watches the whole body).
RECORD_INDICATOR = """(id) => {
  const rows = document.querySelector('[data-rows]');
  const current = () => { const el = rows.querySelector(`[data-meeting='${id}'] [data-indicator]`);
                          return el && [el.dataset.indicator, getComputedStyle(el).backgroundColor]; };
  window.seenIndicators = [current()];
  new MutationObserver(() => {
    const value = current();
    if (value && value[0] !== window.seenIndicators.at(-1)[0]) window.seenIndicators.push(value);
  }).observe(rows, {childList: true, subtree: true, attributes: true, attributeFilter: ['data-indicator']});
}"""


def colour(css: str) -> str:
    """A CSS rgb() colour by name, as a person would call it (the exact shades are the CSS's)."""
    r, g, b = (int(part) for part in css[css.index("(") + 1 : css.index(")")].split(",")[:3])
    if max(r, g, b) - min(r, g, b) < 40:
        return "grey"
    if r > 180 and g > 130 and b < 100:
        return "yellow"
    if g > r + 40 and g > b + 40:
        return "green"
    if r > g + 80 and r > b + 80:
        return "red"
    return css


def book_meeting(clinic, provider, service) -> Meeting:
    """Booked as staff do, starting in five minutes: the guest may already enter."""
    return off_loop(
        meeting_schedule,
        clinic=clinic,
        by=provider,
        provider_id=provider.pk,
        service=service,
        guest_name="Gina Guest",
        guest_email="gina@example.com",
        times=[timezone.now() + timedelta(minutes=5)],
    )


def open_overview(page, meeting: Meeting) -> str:
    page.goto("/meetings/")
    page.wait_for_selector("body[data-socket='open']")
    return f"tbody[data-rows] tr[data-meeting='{meeting.pk}']"


def test_guest_enters_with_the_key_and_the_host_sees_the_check_then_holds_the_meeting(
    new_page, clinic_a, provider, service
):
    meeting = book_meeting(clinic_a, provider, service)

    host = new_page()
    login(host, username="paula", password="pw-for-tests-1")
    host.wait_for_url(lambda url: "/accounts/login/" not in url)
    row = open_overview(host, meeting)
    assert host.get_attribute(row, "data-status") == "starting_soon"
    assert host.get_attribute(f"{row} [data-indicator]", "data-indicator") == "absent"
    assert host.inner_text(f"{row} [data-indicator]") == "?"
    assert host.inner_text(f"{row} [data-guest-key]") == meeting.guest_key_display
    host.evaluate(RECORD_INDICATOR, meeting.pk)
    host.evaluate("() => { window.sameOverview = true; }")  # gone if the page reloads
    # The plus sign opens the details (they stay open while the row updates live, below).
    details = f"tr[data-details-for='{meeting.pk}']"
    assert host.is_hidden(details)
    host.click(f"{row} [data-toggle-details]")
    assert host.is_visible(details) and host.inner_text(f"{row} [data-toggle-details]") == "\u2212"  # minus

    # The guest enters with the key; their wait page's script is held until the host saw yellow.
    guest = new_page()
    held = []
    guest.route("**/static/visits/patient.js*", lambda route: held.append(route))
    guest.goto("/meet/")
    guest.fill("input[name=key]", meeting.guest_key_display)
    with guest.expect_request("**/static/visits/patient.js*"):
        guest.click("button[data-enter]")
    guest.wait_for_url("**/v/*/", wait_until="commit")
    meeting.refresh_from_db()
    visit = meeting.visit
    assert visit is not None and visit.patient_name == "Gina Guest"
    assert visit.media_check == Visit.MediaCheck.NOT_STARTED

    indicator = f"{row}[data-visit='{visit.pk}'] [data-indicator]"
    host.wait_for_selector(f"{indicator}[data-indicator='checking']", timeout=LIVE_MS)
    assert host.inner_text(indicator) == "?"
    assert host.get_attribute(indicator, "title") == "Entered; camera and microphone check not completed"

    # Released: the guest's page checks the fake camera and microphone, and the row turns green.
    assert len(held) == 1
    held[0].continue_()
    guest.wait_for_selector("[data-patient-status='waiting']", timeout=LIVE_MS)
    host.wait_for_selector(f"{indicator}[data-indicator='passed']", timeout=LIVE_MS)
    assert host.inner_text(indicator) == "✓"
    seen = host.evaluate("() => window.seenIndicators")
    assert [(value, colour(css)) for value, css in seen] == [
        ("absent", "grey"),
        ("checking", "yellow"),
        ("passed", "green"),
    ]
    assert host.evaluate("() => window.sameOverview") is True
    # The details stayed open through the re-fetched rows; the minus sign closes them.
    assert host.is_visible(details)
    host.click(f"{row} [data-toggle-details]")
    assert host.is_hidden(details) and host.inner_text(f"{row} [data-toggle-details]") == "+"
    visit.refresh_from_db()
    assert visit.media_check == Visit.MediaCheck.PASSED
    host.screenshot(path=SCREENSHOT, full_page=True)

    # Enter room: the guest is called in and the dashboard opens the call at once.
    host.click(f"{row} button[data-enter-room]")
    host.wait_for_url(lambda url: url.endswith(f"/dashboard/{clinic_a.slug}/?room={visit.pk}"))
    host.wait_for_selector("[data-staff-call] [data-call]:not([hidden])")
    guest.wait_for_selector("[data-call]:not([hidden])", timeout=LIVE_MS)
    guest.wait_for_function(ICE_CONNECTED, arg="patientCall", timeout=CONNECT)
    host.wait_for_function(ICE_CONNECTED, arg="staffCall", timeout=CONNECT)
    guest.wait_for_function(REMOTE_VIDEO_DECODES, timeout=CONNECT)
    host.wait_for_function(REMOTE_VIDEO_DECODES, timeout=CONNECT)

    # An overview open in another tab shows the meeting in progress, and completed once it ends.
    overview = host.context.new_page()
    row = open_overview(overview, meeting)
    assert overview.get_attribute(row, "data-status") == "in_progress"
    assert overview.inner_text(f"{row} [data-status-label]") == "In progress"

    host.once("dialog", lambda dialog: dialog.accept())
    host.click("[data-call-end]")
    host.wait_for_selector("[data-staff-call]", state="detached", timeout=LIVE_MS)
    guest.wait_for_selector("[data-patient-status='completed']", timeout=LIVE_MS)
    overview.wait_for_selector(f"{row}[data-status='completed']", timeout=LIVE_MS)
    assert overview.inner_text(f"{row} [data-status-label]") == "Completed"
    assert overview.locator(f"{row} [data-enter-room]").count() == 0

    meeting = Meeting.objects.select_related("visit").get(pk=meeting.pk)
    assert meeting.visit.status == "completed"
    assert meeting.current_status(timezone.now()) == MeetingStatus.COMPLETED
