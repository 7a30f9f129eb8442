"""The staff tables that become one card per row on a phone (the dashboard's Upcoming Appointments,
dispatch, the meetings overview) stay tables to a screen reader at 360 px as at 1366 px: Chromium
drops a table's roles once CSS changes its display, so the markup says them (role="table", "row",
"columnheader", "cell"), read here from Chromium's accessibility tree. A card's visible column
name (data-label, CSS generated content) is for the eye only: the cell is read without it, its
column header says it."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Error as PlaywrightError

from scheduling.models import Service
from tests.consultations.conftest import make_consultation
from tests.scheduling.test_browser_layout import DESK, PHONE, gina_meeting, staff_page, waiting_and_requested
from tests.support.live import off_loop

pytestmark = pytest.mark.browser

TABLE_ROLES = {"table", "rowgroup", "row", "columnheader", "cell"}


def roles_of(snapshot: str) -> set[str]:
    return set(re.findall(r"^\s*- '?(\w+)", snapshot, re.MULTILINE))


def assert_a_table(page, selector: str, cell_text: str, *, seconds: float = 5) -> None:
    """As `_assert_a_table`, retried for a few seconds: a panel re-fetched when its socket opens is
    swapped, and Chromium builds the new table's accessibility tree a moment later."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            _assert_a_table(page, selector, cell_text)
            return
        except (AssertionError, PlaywrightError):
            if time.monotonic() > deadline:
                raise
            page.wait_for_timeout(200)


def _assert_a_table(page, selector: str, cell_text: str) -> None:
    """Each table the selector finds is a table to the accessibility tree, with a row holding
    `cell_text` in a cell, and no cell read with its card label in front."""
    tables = page.locator(selector)
    assert tables.count() > 0
    for n in range(tables.count()):
        table = tables.nth(n)
        snapshot = table.aria_snapshot()
        assert roles_of(snapshot) >= TABLE_ROLES, snapshot
        assert snapshot.lstrip().startswith("- table"), snapshot
        # Said in the markup, not left to the layout: WebKit (VoiceOver on iPhones) drops a table's
        # roles when CSS changes its display, as Chromium once did.
        unsaid = table.evaluate(
            """t => [...t.querySelectorAll('thead, tbody, tr, th, td')]
                 .filter((el) => el.getAttribute('role') !== {THEAD: 'rowgroup', TBODY: 'rowgroup',
                   TR: 'row', TH: 'columnheader', TD: 'cell'}[el.tagName]).map((el) => el.outerHTML.slice(0, 80))"""
        )
        assert table.get_attribute("role") == "table" and unsaid == [], unsaid
        labels = table.locator("td[data-label]").evaluate_all("cells => cells.map(c => c.dataset.label)")
        for label in set(labels):
            assert not re.search(rf'- cell "{re.escape(label)}\b', snapshot), (label, snapshot)
    assert any(cell_text in tables.nth(n).aria_snapshot() for n in range(tables.count()))


def assert_cards(page, selector: str, *, cards: bool) -> None:
    """The cells are laid out as cards (display: block) or not, read in one go in the page and
    waited for: a panel that re-fetches itself when its socket opens replaces its cells, and a cell
    read while it is replaced has no computed style."""
    page.wait_for_function(
        """([s, cards]) => {
          const cells = [...document.querySelectorAll(s + " td")];
          return cells.length > 0 && cells.every((td) => getComputedStyle(td).display === "block") === cards;
        }""",
        arg=[selector, cards],
        timeout=5000,
    )


@pytest.mark.parametrize("viewport", [PHONE, DESK], ids=["360px", "1366px"])
def test_the_dashboards_upcoming_appointments_stay_tables(new_page, clinic_a, provider, viewport):
    phone = off_loop(
        Service.objects.create,
        clinic=clinic_a,
        name="Phone consultation",
        kind=Service.Kind.PHONE,
        duration_minutes=20,
    )
    off_loop(make_consultation, clinic_a, phone, name="Casey Client")
    off_loop(make_consultation, clinic_a, phone, name="Carl Claimed", expert=provider)
    page = staff_page(new_page, "paula", viewport)
    page.wait_for_selector("body[data-socket='open']")
    page.wait_for_selector("[data-panel='consultations'] table[data-available] tr[data-consultation]")
    page.wait_for_selector("[data-panel='consultations'] table[data-claimed] tr[data-consultation]")
    selector = "[data-panel='consultations'] table"
    assert_cards(page, selector, cards=viewport is PHONE)
    assert_a_table(page, selector, "Casey Client")


@pytest.mark.parametrize("viewport", [PHONE, DESK], ids=["360px", "1366px"])
def test_dispatch_stays_a_table(new_page, frozen, clinic_a, provider, scheduler, service, hours, viewport):
    waiting_and_requested(clinic_a, provider, service)
    page = staff_page(new_page, "sam", viewport)
    page.goto("/dispatch/")
    page.wait_for_selector("tbody[data-rows] tr[data-request]")
    assert_cards(page, "table[data-dispatch]", cards=viewport is PHONE)
    assert_a_table(page, "table[data-dispatch]", "Mornings suit me best.")


@pytest.mark.parametrize("viewport", [PHONE, DESK], ids=["360px", "1366px"])
def test_the_meetings_overview_stays_a_table(new_page, frozen, clinic_a, provider, service, hours, viewport):
    gina_meeting(clinic_a, provider, service)
    page = staff_page(new_page, "paula", viewport)
    page.goto("/meetings/")
    page.wait_for_selector("tbody[data-rows] tr[data-meeting]")
    assert_cards(page, "table[data-meetings]", cards=viewport is PHONE)
    assert_a_table(page, "table[data-meetings]", "Gina Guest")


@pytest.mark.parametrize("viewport", [PHONE, DESK], ids=["360px", "1366px"])
def test_the_assign_dialogs_providers_stay_a_table(
    new_page, frozen, clinic_a, provider, scheduler, service, hours, viewport
):
    """One card per provider at 360 px (tests/scheduling/test_browser_layout.py), still a table."""
    waiting_and_requested(clinic_a, provider, service)
    page = staff_page(new_page, "sam", viewport)
    page.goto("/dispatch/")
    page.wait_for_selector("body[data-socket='open'] tbody[data-rows] tr[data-request]")
    page.click("tbody[data-rows] button[data-assign]")
    selector = "dialog[data-assign-dialog][open] table[data-providers]"
    page.wait_for_selector(f"{selector} tr[data-provider]")
    assert_cards(page, selector, cards=viewport is PHONE)
    assert_a_table(page, selector, "Paula Provider")
