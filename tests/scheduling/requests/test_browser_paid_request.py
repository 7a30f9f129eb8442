"""A request of a paid service in Chromium, with localstripe's Stripe.js: the form shows the price,
the requester types their card into Stripe's field, Send saves the card first (request.js through
lib/card.js) and then posts the request with the card's token, which the server binds to it. No
Content-Security-Policy violation on the way."""

from __future__ import annotations

import pytest

from scheduling.models import AppointmentRequest
from waitingroom.payments import selectors as pay

pytestmark = pytest.mark.browser

COLLECT = """window.cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => window.cspViolations.push(e.violatedDirective));"""


def test_a_paid_request_saves_the_card_in_the_page_then_is_sent(
    new_page, localstripe, clinic_a, provider, paid_service, hours
):
    page = new_page()
    page.context.add_init_script(COLLECT)
    page.goto(f"/c/{clinic_a.slug}/request/?service={paid_service.pk}")
    assert "$60.00" in page.inner_text("[data-card-price]")
    mount = page.locator("[data-card-mount]")
    mount.locator("input[placeholder=number]").wait_for()

    page.check("input[name=kind][value=scheduled]")
    page.locator("fieldset[data-slots] input[type=checkbox][name=slots]").first.check()
    page.fill("input[name=name]", "Rita Requester")
    page.fill("input[name=email]", "rita@example.com")
    mount.locator("input[placeholder=number]").fill("4242424242424242")
    mount.locator("input[placeholder=exp_month]").fill("12")
    mount.locator("input[placeholder=exp_year]").fill("30")
    mount.locator("input[placeholder=cvc]").fill("123")
    mount.locator("input[placeholder=postal_code]").fill("12345")
    page.click("button:has-text('Send request')")

    page.wait_for_selector("[data-request-sent]")
    request = AppointmentRequest.objects.get(email="rita@example.com")
    card = pay.card_for(subject=f"request:{request.pk}")
    assert card is not None and card.label == "Visa ending 4242"
    assert page.evaluate("() => window.cspViolations") == []
