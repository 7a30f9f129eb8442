"""The request form's open times on a phone (360 px): one day at a time with Previous/Next day,
every time a target of at least 24 x 24 px, the day list wide enough to read its day, and times
chosen on two days all sent."""

from __future__ import annotations

import pytest

from scheduling.models import AppointmentRequest

pytestmark = pytest.mark.browser


def test_times_on_two_days_are_picked_one_day_at_a_time_and_sent(new_page, clinic_a, service, hours):
    page = new_page(viewport={"width": 360, "height": 740})
    page.goto(f"/c/{clinic_a.slug}/request/?service={service.pk}")
    page.check("input[name=kind][value=scheduled]")

    visible = page.locator("fieldset[data-slots] input[name=slots]:visible")
    all_boxes = page.locator("fieldset[data-slots] input[name=slots]")
    assert 0 < visible.count() < all_boxes.count()  # one day shown, not all of them
    for i in range(visible.count()):
        target = visible.nth(i).locator("xpath=..").bounding_box()
        box = visible.nth(i).bounding_box()
        assert target and target["width"] >= 24 and target["height"] >= 24
        assert box and box["width"] >= 24 and box["height"] >= 24
    for name in ("Previous day", "Next day"):
        step = page.get_by_role("button", name=name).bounding_box()
        assert step and step["width"] >= 24 and step["height"] >= 24
    # The day list shows its day (it was squeezed to 20 px between the two buttons), on screen.
    day_list = page.get_by_role("combobox", name="Day")
    day = day_list.bounding_box()
    assert day and day["width"] >= 120 and day["x"] + day["width"] <= 360
    assert day_list.evaluate("(s) => s.scrollWidth <= s.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth") == 360

    first_day = visible.first.get_attribute("value")
    visible.first.locator("xpath=..").click()
    page.get_by_role("button", name="Next day").click()
    second_day = visible.first.get_attribute("value")
    assert second_day != first_day
    visible.first.locator("xpath=..").click()

    page.fill("input[name=name]", "Rita Requester")
    page.fill("input[name=email]", "rita@example.com")
    page.click("button:has-text('Send request')")
    page.wait_for_selector("[data-request-sent]")
    request = AppointmentRequest.objects.get(email="rita@example.com")
    assert request.times.count() == 2
    days = {t.starts_at.astimezone(clinic_a.tzinfo).date() for t in request.times.all()}
    assert len(days) == 2
