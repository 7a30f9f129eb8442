"""The consultation rooms on a 360 px phone (issue 19): neither the expert's nor the client's
room scrolls sideways."""

from __future__ import annotations

import pytest

from tests.scheduling.test_browser_layout import assert_fits, staff_page

pytestmark = pytest.mark.browser


def test_the_experts_room_fits_a_phone(new_page, clinic_a, claimed):
    page = staff_page(new_page, "paula")
    page.goto(f"/consultations/{claimed.pk}/")
    page.wait_for_selector("body[data-socket='open']")
    assert_fits(page)


def test_the_clients_room_fits_a_phone(new_page, clinic_a, claimed):
    page = new_page(viewport={"width": 360, "height": 740})
    page.goto(f"/consult/room/{claimed.client_token}/")
    page.wait_for_selector("body[data-socket='open']")
    assert_fits(page)
