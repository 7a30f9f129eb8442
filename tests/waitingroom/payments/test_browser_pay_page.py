"""The client's payment page in Chromium with localstripe's Stripe.js: "Confirm payment" opens the
bank's check (localstripe's 3-D Secure modal), and once the client completes it the page shows the
charge paid, with no Content-Security-Policy violation."""

from __future__ import annotations

import pytest

from tests.support.live import off_loop
from tests.waitingroom.payments import cards
from waitingroom.payments import services
from waitingroom.payments.lifecycle import PaymentStatus
from waitingroom.payments.models import Payment

pytestmark = pytest.mark.browser

COLLECT = """window.cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => window.cspViolations.push(e.violatedDirective));"""


def charge_needing_authentication(clinic, provider) -> Payment:
    card, secret = services.card_setup_start(clinic=clinic, email="rosa@example.test", name="Rosa Client")
    cards.confirm_setup(secret, cards.NEEDS_AUTHENTICATION)
    cards.complete_setup_authentication(secret)
    services.card_setup_finish(clinic=clinic, token=card.token)
    services.card_bind(clinic=clinic, token=card.token, subject="consultation:51", email="rosa@example.test")
    payment = services.charge_request(
        clinic=clinic,
        subject="consultation:51",
        amount=4500,
        price=4500,
        description="Nutrition call",
        by=provider,
    )
    return Payment.objects.get(pk=payment.pk)  # the task ran on commit


@pytest.mark.parametrize(
    ("button", "state"),
    [("Complete authentication", "Paid $45.00"), ("Fail authentication", "Charge failed")],
)
def test_the_client_confirms_the_payment_with_their_bank_in_the_page(
    new_page, localstripe, clinic_a, provider, button, state
):
    payment = off_loop(charge_needing_authentication, clinic_a, provider)
    assert payment.status == PaymentStatus.NEEDS_AUTHENTICATION
    page = new_page()
    page.context.add_init_script(COLLECT)
    page.goto(f"/pay/{payment.client_token}/")
    page.click("text=Confirm payment")
    page.click(f"text={button}")  # localstripe's 3-D Secure modal
    page.wait_for_selector(f"[data-pay-state]:has-text('{state}')")
    assert page.evaluate("() => window.cspViolations") == []
    payment.refresh_from_db()
    assert payment.status == (PaymentStatus.SUCCEEDED if state.startswith("Paid") else PaymentStatus.FAILED)
