"""The card step in Chromium, with localstripe's Stripe.js: static/waitingroom/lib/card.js saves a
card (the bank's check included) under the pages' Content-Security-Policy with Stripe's origins,
fills the form's card_token and shows the card. The page around it is a stand-in served by the
browser test itself (Playwright answers its address): the product's booking pages wire the step
the same way, and their own journeys cover them."""

from __future__ import annotations

import pytest
from csp.utils import build_policy
from django.conf import settings

from tests.support.live import CHROMIUM, CHROMIUM_ARGS
from tests.waitingroom.payments import cards
from waitingroom.fragments import render_fragment
from waitingroom.payments.models import SavedCard
from waitingroom.payments.web import card_step

pytestmark = pytest.mark.browser

HARNESS_JS = """
import {cardStep} from "/static/waitingroom/lib/card.js";
const form = document.querySelector("[data-form]");
const card = cardStep(form.querySelector("[data-card-step]"));
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const answer = await card.ensureSaved({email: form.email.value, name: form.elements.name.value});
  document.querySelector("[data-answer]").textContent = JSON.stringify(answer);
});
"""
BAD = "rgb(201, 42, 42)"  # app.css --bad, #c92a2a
COLLECT = """window.cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => window.cspViolations.push(e.violatedDirective));"""


@pytest.fixture(scope="module")
def harness_browser(browser):
    """Chromium that lets a page Playwright answered (an address with no server behind it, so
    "public" to Chromium's local network checks) load Stripe.js from localstripe on 127.0.0.1.
    The product's pages are served from the app's own address and need no such flag."""
    chromium = browser.browser_type.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[*CHROMIUM_ARGS, "--disable-features=LocalNetworkAccessChecks"],
    )
    yield chromium
    chromium.close()


@pytest.fixture
def booking_page(harness_browser, live_url, localstripe, clinic_a):
    context = harness_browser.new_context(base_url=live_url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.context.add_init_script(COLLECT)
    page.goto("/accounts/login/")  # a real page of the app: its CSRF cookie
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    step = render_fragment(
        "waitingroom/payments/_card_step.html", {"step": card_step(clinic=clinic_a, price=4500)}
    )
    html = f"""<!doctype html><html><head><meta name="csrf-token" content="{csrf}">
<link rel="stylesheet" href="/static/waitingroom/app.css"></head><body>
<form data-form><input name="email" value="rosa@example.test"><input name="name" value="Rosa Client">
{step}<button type="submit">Book</button></form><p data-answer></p>
<script type="module" src="/__card_step_harness__.js"></script></body></html>"""
    policy = build_policy(update=settings.STRIPE_CSP)  # what stripe_page gives a page
    page.route(
        "**/__card_step__/",
        lambda route: route.fulfill(
            body=html, content_type="text/html", headers={"Content-Security-Policy": policy}
        ),
    )
    page.route(
        "**/__card_step_harness__.js",
        lambda route: route.fulfill(body=HARNESS_JS, content_type="text/javascript"),
    )
    page.goto("/__card_step__/")
    page.wait_for_selector("[data-card-mount] input[placeholder=number]")
    yield page
    context.close()


def type_card(page, number: str) -> None:
    mount = page.locator("[data-card-mount]")
    mount.locator("input[placeholder=number]").fill(number)
    mount.locator("input[placeholder=exp_month]").fill("12")
    mount.locator("input[placeholder=exp_year]").fill("31")
    mount.locator("input[placeholder=cvc]").fill("123")
    mount.locator("input[placeholder=postal_code]").fill("10001")


def test_a_card_is_saved_in_the_page_and_the_form_gets_its_token(booking_page):
    page = booking_page
    type_card(page, cards.OK)
    page.click("button[type=submit]")
    page.wait_for_selector("[data-card-label]:has-text('Visa ending 4242 saved')")
    token = page.input_value("input[name=card_token]")
    assert token and SavedCard.objects.get(token=token).status == SavedCard.Status.SAVED
    assert '"ok":true' in page.text_content("[data-answer]")
    assert page.is_hidden("[data-card-entry]")
    assert page.evaluate("() => window.cspViolations") == []


def test_the_banks_check_happens_in_the_page(booking_page):
    page = booking_page
    type_card(page, cards.NEEDS_AUTHENTICATION)
    page.click("button[type=submit]")
    page.click("text=Complete authentication")  # localstripe's 3-D Secure modal
    page.wait_for_selector("[data-card-label]:has-text('Visa ending 3155 saved')")
    assert SavedCard.objects.get(token=page.input_value("input[name=card_token]")).last4 == "3155"


def test_a_declined_card_is_said_plainly_and_another_card_can_be_saved(booking_page):
    page = booking_page
    type_card(page, cards.DECLINED_AT_SAVE)
    page.click("button[type=submit]")
    page.wait_for_selector("[data-card-status]:has-text('Your card was declined.')")
    assert page.input_value("input[name=card_token]") == ""
    # Said in the error colour (app.css's --bad), though the status line is muted otherwise.
    assert page.eval_on_selector("[data-card-status]", "e => getComputedStyle(e).color") == BAD

    type_card(page, cards.OK)
    page.click("button[type=submit]")
    page.wait_for_selector("[data-card-label]:has-text('Visa ending 4242 saved')")
    assert page.evaluate("() => window.cspViolations") == []
