"""The scheduling journey in Chromium: a requester asks for up to three times on the public form,
the request reaches an open dispatch page live, its "pending for" counter turns red after five
minutes, and the scheduler assigns it to a provider at one of the times, which books the meeting
and emails the requester a calendar invitation."""

from __future__ import annotations

import re
from datetime import UTC

import icalendar
import pytest
from django.core import mail

from scheduling import links
from scheduling.models import AppointmentRequest, Meeting
from scheduling.times import parse_slot
from tests.support.live import LIVE_MS, login
from waitingroom.outbox.models import EmailMessage

pytestmark = pytest.mark.browser

HEADERS = [
    "Request #",
    "Requestor",
    "Request Type",
    "Patient Group",
    "Host Group",
    "Request To",
    "Service",
    "Request Pending For",
    "Request Time(s)",
    "Request Note",
]


def open_dispatch(new_page, username: str):
    """The scheduler's Requests page, its clock under the test's control (it still runs on its own
    until the test fast-forwards it)."""
    page = new_page()
    login(page, username=username, password="pw-for-tests-1")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    page.clock.install()
    page.goto("/dispatch/")
    page.wait_for_selector("body[data-socket='open']")
    return page


def send_request(new_page, clinic, service) -> tuple[list[str], AppointmentRequest]:
    """The public form, no login: Scheduled, three open slots for anyone available."""
    page = new_page()
    page.goto(f"/c/{clinic.slug}/request/")
    page.select_option("select[name=service]", str(service.pk))
    assert page.input_value("select[name=provider]") == ""
    assert page.locator("select[name=provider] option:checked").inner_text() == "Anyone available"
    page.check("input[name=kind][value=scheduled]")
    boxes = page.locator("fieldset[data-slots] input[type=checkbox][name=slots]")
    assert boxes.count() > 3
    for n in range(3):
        boxes.nth(n).check()
    # Three are ticked: the others can't be.
    assert boxes.nth(3).is_disabled()
    assert all(boxes.nth(n).is_enabled() for n in range(3))
    chosen = [boxes.nth(n).get_attribute("value") for n in range(3)]
    page.fill("input[name=name]", "Rita Requester")
    page.fill("input[name=email]", "rita@example.com")
    page.click("button:has-text('Send request')")
    page.wait_for_selector("[data-request-sent]")
    assert page.url.endswith(f"/c/{clinic.slug}/request/sent/")
    return chosen, AppointmentRequest.objects.get(email="rita@example.com")


def test_a_request_reaches_dispatch_live_and_is_assigned_with_an_invitation(
    new_page, clinic_a, provider, scheduler, service, hours
):
    dispatch = open_dispatch(new_page, "sam")
    assert dispatch.locator("table[data-dispatch] thead th").all_inner_texts() == HEADERS

    slots, request = send_request(new_page, clinic_a, service)
    assert request.kind == AppointmentRequest.Kind.SCHEDULED and request.provider is None
    assert sorted(t.starts_at for t in request.times.all()) == sorted(parse_slot(v) for v in slots)
    staff_mail = [m for m in mail.outbox if m.subject.startswith("Video Session Request")]
    assert len(staff_mail) == 1
    assert sorted(staff_mail[0].to) == sorted([provider.email, scheduler.email])

    # The row arrives over the socket on the page that was already open.
    row = f"tbody[data-rows] tr[data-request='{request.pk}']"
    dispatch.wait_for_selector(row, timeout=LIVE_MS)
    cells = dispatch.locator(f"{row} td").all_inner_texts()
    assert cells[1].startswith("Rita Requester") and "rita@example.com" in cells[1]
    assert cells[2:7] == ["Scheduled", "Patients", "Providers", "Providers", "General consultation"]

    # Green while fresh; red once five minutes have passed by the page's (server-synced) clock.
    pending = f"{row} td[data-pending]"
    assert "pending-fresh" in dispatch.get_attribute(pending, "class")
    # The server sends the start time alone; the page fills the counter as it arrives.
    assert re.fullmatch(r"0:\d\d", dispatch.inner_text(pending))
    dispatch.clock.fast_forward("04:00")
    dispatch.wait_for_function(f"() => document.querySelector(\"{pending}\").textContent.startsWith('4:')")
    assert "pending-fresh" in dispatch.get_attribute(pending, "class")
    dispatch.clock.fast_forward("01:01")
    dispatch.wait_for_selector(f"{pending}.pending-late")
    assert "pending-fresh" not in dispatch.get_attribute(pending, "class")
    assert dispatch.inner_text(pending).startswith("5:0")

    # Assign: the dialog lists the providers with their availability at each requested time.
    dispatch.click(f"{row} button[data-assign]")
    dialog = "dialog[data-assign-dialog]"
    dispatch.wait_for_selector(f"{dialog}[open] [data-assign-for='{request.pk}']")
    paula = f"{dialog} table[data-providers] tr[data-provider='{provider.pk}']"
    assert dispatch.locator(f"{paula} td").all_inner_texts()[2:] == ["Available"] * 3
    assert dispatch.is_visible(f"{dialog} [data-conflicts]")
    assert dispatch.is_visible(f"{dialog} textarea[name=response]")
    assert dispatch.is_visible(f"{dialog} button[name=decision][value=decline]")
    accepts = dispatch.locator(f"{dialog} button[data-accept]")
    assert sorted(accepts.evaluate_all("buttons => buttons.map(b => b.dataset.accept)")) == sorted(slots)
    assert accepts.first.is_disabled()  # nobody picked yet

    # Picking Paula re-fetches the dialog: her sessions near each time, Accept enabled.
    dispatch.check(f"{paula} input[data-pick]")
    dispatch.wait_for_selector(f"{paula}.chosen")
    assert dispatch.locator(f"{dialog} [data-conflicts] .muted").all_inner_texts() == ["none"] * 3
    accepted = slots[1]
    dispatch.fill(f"{dialog} textarea[name=response]", "See you then, Rita.")
    dispatch.click(f"{dialog} button[data-accept='{accepted}']")

    dispatch.wait_for_selector(row, state="detached", timeout=LIVE_MS)
    meeting = Meeting.objects.get(request=request)
    assert (meeting.provider, meeting.starts_at) == (provider, parse_slot(accepted))
    request.refresh_from_db()
    assert (request.status, request.response) == ("accepted", "See you then, Rita.")

    # The in-process server sends through the test's locmem outbox (and records each as sent).
    assert EmailMessage.objects.filter(status="sent").count() == 3  # staff, received, invitation
    invitation = next(m for m in mail.outbox if m.to == ["rita@example.com"] and "Invitation" in m.subject)
    ((filename, content, mimetype),) = invitation.attachments
    assert filename == "invite.ics" and mimetype.startswith("text/calendar")
    event = icalendar.Calendar.from_ical(content).walk("VEVENT")[0]
    starts = event.decoded("DTSTART")
    assert starts.utcoffset().total_seconds() == 0
    assert starts.astimezone(UTC) == parse_slot(accepted)
    link = links.join_link(meeting)
    assert str(event.get("URL")) == link
    assert link in str(event.get("DESCRIPTION")) and "See you then, Rita." in str(event.get("DESCRIPTION"))
