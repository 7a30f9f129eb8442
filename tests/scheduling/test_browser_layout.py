"""Staff pages on a 360 px phone and at a 1366 px desk (issue 19): no page scrolls sideways, the
dashboard shows waiting patients before appointment requests, request buttons keep apart, and the
Assign dialog keeps its Close in its header and focus on the provider just picked."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise

import pytest
from django.utils import timezone

from scheduling.meetings.booking import meeting_schedule
from tests.scheduling.conftest import scheduled_request, tomorrow
from tests.support.live import LIVE_MS, login, off_loop
from tests.visits.conftest import arrive, ready

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}
DESK = {"width": 1366, "height": 768}

# The page's width, and what sticks out past the viewport (named, so a failure says what to fix).
OVERFLOW = """() => {
  const vw = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll('body *')].filter((el) => {
    const box = el.getBoundingClientRect();
    return box.width && box.right > vw + 0.5 && getComputedStyle(el).position !== 'fixed';
  }).slice(0, 8).map((el) => `${el.tagName.toLowerCase()}.${el.className} ${Math.round(el.getBoundingClientRect().right)}`);
  return [document.documentElement.scrollWidth, wide];
}"""

PATIENTS_FIRST = """() => {
  const board = document.querySelector('[data-board]'), panel = document.querySelector("[data-panel='requests']");
  const b = board.getBoundingClientRect(), r = panel.getBoundingClientRect();
  return Boolean(board.compareDocumentPosition(panel) & Node.DOCUMENT_POSITION_FOLLOWING)
    && b.height > 0 && (r.top >= b.bottom || r.left >= b.right);
}"""


def assert_fits(page) -> None:
    width, wide = page.evaluate(OVERFLOW)
    assert width <= PHONE["width"], wide


def staff_page(new_page, username: str, viewport=PHONE):
    page = new_page(viewport=viewport)
    login(page, username=username, password="pw-for-tests-1")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    return page


def gina_meeting(clinic, provider, service, n: int = 0):
    """A meeting booked for tomorrow with guest Gina (number `n`), off the browser's event loop."""
    suffix = f" {n}" if n else ""
    return off_loop(
        meeting_schedule,
        clinic=clinic,
        by=provider,
        provider_id=provider.pk,
        service=service,
        guest_name=f"Gina Guest{suffix}",
        guest_email=f"gina{n or ''}@example.com",
        times=[timezone.now() + timedelta(days=1, hours=n)],
    )


def waiting_and_requested(clinic, provider, service) -> None:
    off_loop(ready, clinic, "Tom Ready")
    off_loop(arrive, clinic, "Ann Arriving")
    off_loop(
        scheduled_request,
        clinic,
        service,
        times=[tomorrow(clinic, 10), tomorrow(clinic, 14), tomorrow(clinic, 15)],
        provider=provider,
        note="Mornings suit me best.",
    )


def test_the_dashboard_fits_a_phone_and_puts_patients_before_requests(
    new_page, frozen, clinic_a, provider, service, hours
):
    waiting_and_requested(clinic_a, provider, service)
    for viewport in (PHONE, DESK):
        page = staff_page(new_page, "paula", viewport)
        page.wait_for_selector("body[data-socket='open']")
        page.wait_for_selector("[data-panel='requests'] [data-request]")
        page.wait_for_selector("[data-board] [data-phase]")
        if viewport is PHONE:
            assert_fits(page)
        # Below or beside, never above: in the DOM (reading order) and on screen. Waited for, as the
        # board is re-fetched (and briefly re-laid out) once the socket opens.
        page.wait_for_function(PATIENTS_FIRST)
    # Each Accept and Decline button stands apart from the next (8 px at least).
    # Measured in one go in the page: the panel re-fetches itself when its socket opens, and a
    # button measured one at a time may be replaced (detached: no box) between two reads.
    buttons = "[data-panel='requests'] .actions button"
    page.wait_for_function(f'document.querySelectorAll("{buttons}").length === 4')
    boxes = page.locator(buttons).evaluate_all(
        "els => els.map(e => { const r = e.getBoundingClientRect();"
        " return {x: r.x, y: r.y, width: r.width, height: r.height}; })"
    )
    assert len(boxes) == 4 and all(box["width"] > 0 for box in boxes)
    for a, b in pairwise(boxes):
        apart_x = b["x"] - (a["x"] + a["width"]) if abs(a["y"] - b["y"]) < 1 else None
        apart_y = b["y"] - (a["y"] + a["height"])
        assert (apart_x if apart_x is not None else apart_y) >= 8


def test_the_nav_fits_a_phone_with_log_out_on_screen(new_page, clinic_a, provider):
    page = staff_page(new_page, "paula")
    assert_fits(page)
    box = page.get_by_role("button", name="Log out").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]


def test_dispatch_fits_a_phone_and_its_rows_keep_their_labels(
    new_page, frozen, clinic_a, provider, scheduler, service, hours
):
    waiting_and_requested(clinic_a, provider, service)
    page = staff_page(new_page, "sam")
    page.goto("/dispatch/")
    # The rows re-fetch themselves when the page's socket opens: a cell read while its row is being
    # replaced has no computed style (once, in CI, every label read "").
    page.wait_for_selector("body[data-socket='open'] tbody[data-rows] tr[data-request]")
    assert_fits(page)
    # Each shown under its column's name, with an empty alternative text: the column header is
    # what a screen reader says (tests/scheduling/test_browser_table_semantics.py).
    wanted = [f'"{label}" / ""' for label in ("Requestor", "Request Pending For", "Request Time(s)")]
    page.wait_for_function(
        """(wanted) => {
          const cells = [...document.querySelectorAll("tbody[data-rows] tr[data-request] td")];
          const labels = cells.map((c) => getComputedStyle(c, "::before").content);
          return wanted.every((w) => labels.includes(w));
        }""",
        arg=wanted,
        timeout=5000,
    )


def test_the_assign_dialog_has_close_in_its_header_and_keeps_focus_on_the_pick(
    new_page, frozen, clinic_a, provider, scheduler, service, hours
):
    waiting_and_requested(clinic_a, provider, service)
    page = staff_page(new_page, "sam", DESK)
    page.goto("/dispatch/")
    page.wait_for_selector("body[data-socket='open']")
    page.click("tbody[data-rows] button[data-assign]")
    dialog = "dialog[data-assign-dialog]"
    page.wait_for_selector(f"{dialog}[open] [data-assign-for]")
    close = page.locator(f"{dialog} [data-assign-close]").bounding_box()
    heading = page.locator(f"{dialog} h2").bounding_box()
    frame = page.locator(dialog).bounding_box()
    # Top right: on the heading's line, at the dialog's right edge.
    assert (
        abs((close["y"] + close["height"] / 2) - (heading["y"] + heading["height"] / 2)) < heading["height"]
    )
    assert close["x"] + close["width"] > frame["x"] + frame["width"] * 0.8

    pick = f"{dialog} tr[data-provider='{provider.pk}'] input[data-pick]"
    # The provider's radio button is a target of at least 24 x 24 px (WCAG 2.2, 2.5.8).
    target = page.locator(pick).bounding_box()
    assert target["width"] >= 24 and target["height"] >= 24, target
    page.focus(pick)
    page.keyboard.press("Space")
    page.wait_for_selector(f"{dialog} button[data-accept]:not([disabled])")
    assert page.evaluate("() => document.activeElement.matches('[data-pick]:checked')")

    # Accepting shows a success message in the success colour, not the error colour.
    page.click(f"{dialog} button[data-accept] >> nth=0")
    toast = page.locator("[data-toast]:not([hidden])")
    toast.wait_for(timeout=LIVE_MS)
    colour = toast.evaluate("el => getComputedStyle(el).color")
    error = page.evaluate("() => getComputedStyle(document.documentElement).getPropertyValue('--bad').trim()")
    assert "ok" in toast.get_attribute("class") and colour != error


def test_the_meetings_overview_fits_a_phone(new_page, frozen, clinic_a, provider, service, hours):
    for n in range(2):
        gina_meeting(clinic_a, provider, service, n)
    page = staff_page(new_page, "paula")
    page.goto("/meetings/")
    page.wait_for_selector("tbody[data-rows] tr[data-meeting]")
    assert_fits(page)


def test_a_paid_meetings_payment_page_fits_a_phone(new_page, frozen, clinic_a, provider, paid_service, hours):
    meeting = gina_meeting(clinic_a, provider, paid_service)
    page = staff_page(new_page, "paula")
    page.goto(f"/meetings/{meeting.pk}/payment/")
    page.wait_for_selector("main h1")
    assert_fits(page)


# The Assign dialog's width, what it scrolls, and the provider table's cells with their label.
DIALOG_FITS = """() => {
  const dialog = document.querySelector('dialog[data-assign-dialog][open]');
  const row = dialog && dialog.querySelector('table[data-providers] tr[data-provider]');
  if (!row) return null;
  const edge = dialog.getBoundingClientRect().right;
  const wide = [...dialog.querySelectorAll('*')].filter((el) => el.getBoundingClientRect().right > edge + 0.5)
    .slice(0, 6).map((el) => `${el.tagName.toLowerCase()}.${el.className} ${Math.round(el.getBoundingClientRect().right)}`);
  const pick = row.querySelector('input[data-pick]').getBoundingClientRect();
  const labels = [...row.querySelectorAll('td[data-label]')].map((c) => getComputedStyle(c, '::before').content);
  return {scroll: dialog.scrollWidth, client: dialog.clientWidth, wide, pick: [pick.width, pick.height], labels};
}"""


def test_the_assign_dialog_fits_a_phone_without_scrolling_sideways(
    new_page, frozen, clinic_a, provider, scheduler, service, hours
):
    """At 360 px the provider table (a radio button, the name, one column per requested time) is one
    card per provider, each time under its own label, so the dialog never scrolls sideways."""
    waiting_and_requested(clinic_a, provider, service)
    page = staff_page(new_page, "sam")
    page.goto("/dispatch/")
    page.wait_for_selector("body[data-socket='open'] tbody[data-rows] tr[data-request]")
    page.click("tbody[data-rows] button[data-assign]")
    page.wait_for_selector("dialog[data-assign-dialog][open] [data-assign-for]")
    # Read in one go in the page, once laid out (the rows behind may re-fetch themselves).
    fits = page.wait_for_function(
        f"() => {{ const m = ({DIALOG_FITS})(); return m && m.labels.length && m; }}"
    )
    measured = fits.json_value()
    assert measured["scroll"] <= measured["client"], measured
    assert not measured["wide"], measured
    assert measured["pick"][0] >= 24 and measured["pick"][1] >= 24, measured  # still a 24 px target
    assert len(measured["labels"]) == 3 and all(label.startswith('"') for label in measured["labels"])
