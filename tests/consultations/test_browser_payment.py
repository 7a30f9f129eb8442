"""Issue 18's consultation journey in Chromium, with localstripe as Stripe (its Stripe.js mock draws
plain inputs for the card, and a modal for the bank's 3-D Secure check): a client books a paid phone
consultation with a test card on the booking page, the expert claims it, marks it completed,
confirms the amount and presses Charge, and both sides see "Paid $45.00" live; the receipt is in
the outbox. Plus a card the bank wants confirmed at booking, confirmed in the page's modal."""

from __future__ import annotations

import time

import pytest
from django.core import mail

from consultations.models import Consultation
from consultations.payments import subject_of
from tests.consultations.booking_support import last_code
from tests.consultations.conftest import CLIENT_EMAIL
from tests.consultations.payment_support import NEEDS_AUTHENTICATION, VISA, payment_intents
from tests.consultations.test_browser_journey import shot
from tests.scheduling.conftest import weekday_hours
from tests.support.announcements import RECORD_SAID, wait_until_said
from tests.support.live import LIVE_MS, open_dashboard
from waitingroom.outbox import sms_backends
from waitingroom.payments.lifecycle import PaymentStatus
from waitingroom.payments.models import Payment, SavedCard

pytestmark = pytest.mark.browser


@pytest.fixture
def paid_clinic(payments_on, clinic_a, provider, paid_service):
    """Clinic A with Paula's hours every day and its paid phone service (45.00)."""
    weekday_hours(clinic_a, provider)
    sms_backends.outbox.clear()
    return clinic_a


def book_paid(client, clinic, service, number: str, *, authenticate: bool = False) -> None:
    """The client's side of the booking page with a card typed into Stripe's field, up to their room."""
    client.goto(f"/c/{clinic.slug}/consult/?service={service.pk}")
    assert "$45.00" in client.inner_text("[data-service-info]")
    assert "charged only after your consultation" in client.inner_text("[data-card-step]")
    client.locator("input[name=when]:not([value=asap])").first.check()
    client.fill("input[name=name]", "Casey Client")
    client.fill("input[name=email]", CLIENT_EMAIL)
    client.fill("input[name=phone]", "(202) 555-0143")
    client.click("[data-send-code]")
    client.wait_for_selector("[data-code-row]:not([hidden])")
    client.fill("[data-code]", last_code())
    client.click("[data-verify-code]")
    client.wait_for_selector("[data-phone-status] >> text=Number verified")
    # localstripe's Elements mock: one plain input per part of the card.
    mount = "[data-card-step] [data-card-mount]"
    client.wait_for_selector(f"{mount} input[placeholder=number]")
    for placeholder, value in [
        ("number", number),
        ("exp_month", "12"),
        ("exp_year", "30"),
        ("cvc", "123"),
        ("postal_code", "12345"),
    ]:
        client.fill(f"{mount} input[placeholder={placeholder}]", value)
    shot(client, f"payment_1_booking_{number[-4:]}")
    client.click("[data-book]")
    if authenticate:
        # The bank's check, in the page (the mock's 3-D Secure modal).
        client.click("button:has-text('Complete authentication')")
    client.wait_for_url("**/consult/room/**", timeout=15_000)
    client.wait_for_selector("body[data-socket='open']")


def wait_for(predicate, timeout: float = LIVE_MS / 1000) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_paid_consultation_booked_with_a_card_is_charged_after_it_and_paid_shows_live(
    new_page, paid_clinic, paid_service, provider
):
    client = new_page()
    client.add_init_script(RECORD_SAID)  # what the client's room reads out
    book_paid(client, paid_clinic, paid_service, VISA)
    consultation = Consultation.objects.get()
    card = SavedCard.objects.get()
    assert (card.subject, card.label) == (subject_of(consultation.pk), "Visa ending 4242")
    client_payment = "[data-part='payment']"
    assert "Price $45.00 · Your card: Visa ending 4242" in client.inner_text(client_payment)
    assert "charged only after the consultation" in client.inner_text(client_payment)
    assert payment_intents(card) == []  # saved, not charged

    # The expert claims it in the room, marks it completed, confirms the price and charges.
    expert = new_page()
    asked: list[str] = []

    def answer_yes(dialog) -> None:
        asked.append(dialog.message)
        dialog.accept()

    expert.on("dialog", answer_yes)
    expert.add_init_script(RECORD_SAID)  # what the expert's room reads out
    open_dashboard(expert)
    expert.goto(f"/consultations/{consultation.pk}/")
    expert.wait_for_selector("body[data-socket='open']")
    assert "Nobody has claimed this consultation yet" in expert.inner_text("[data-part='payment']")
    expert.click("[data-action='claim']")
    expert.wait_for_selector("[data-action='complete']", timeout=LIVE_MS)
    expert.click("[data-action='complete']")
    expert.wait_for_selector("[data-part='payment'] [data-charge]", timeout=LIVE_MS)
    shot(expert, "payment_2_room_staff_charge")
    assert expert.input_value("[data-charge-amount]") == "45.00"
    assert "Visa ending 4242" in expert.inner_text("[data-part='payment']")
    expert.click("[data-part='payment'] [data-charge]")
    expert.wait_for_selector("[data-part='payment'] [data-payment-paid] >> text=Paid $45.00", timeout=LIVE_MS)
    # The charge's outcome is news to the expert who pressed Charge: said, and in the tab's title.
    wait_until_said(expert, "Paid $45.00")
    assert expert.title().startswith("Payment update · ")
    client.wait_for_selector("[data-part='payment'] [data-payment-paid] >> text=Paid $45.00", timeout=LIVE_MS)
    wait_until_said(client, "Paid $45.00")  # and read out to the client
    assert "Charge $45.00 to the client's Visa ending 4242?" in asked
    shot(expert, "payment_3_room_staff_paid")
    shot(client, "payment_4_room_client_paid")
    assert expert.locator("[data-part='payment'] [data-charge]").count() == 0

    payment = Payment.objects.get()
    assert (payment.status, payment.amount, payment.created_by) == (PaymentStatus.SUCCEEDED, 4500, provider)
    assert [pi["amount"] for pi in payment_intents(card)] == [4500]
    wait_for(lambda: any(m.to == [CLIENT_EMAIL] and "$45.00" in m.body for m in mail.outbox))


def test_a_card_the_bank_wants_confirmed_is_confirmed_in_the_booking_page(
    new_page, paid_clinic, paid_service
):
    client = new_page()
    book_paid(client, paid_clinic, paid_service, NEEDS_AUTHENTICATION, authenticate=True)
    consultation = Consultation.objects.get()
    card = SavedCard.objects.get()
    assert (card.status, card.subject, card.last4) == (
        SavedCard.Status.SAVED,
        subject_of(consultation.pk),
        "3155",
    )
    assert "Your card: Visa ending 3155" in client.inner_text("[data-part='payment']")


# The payment part's state and buttons, read in the page in one go (the part re-fetches itself when
# the socket opens, and on every push: never read element by element while it may be replaced).
CANCELLED_SHOWN = """(side) => {
  const part = document.querySelector("[data-part='payment']");
  const state = part && part.querySelector("[data-payment-cancelled]");
  if (!state) return false;
  const text = state.textContent.trim();
  if (side === "client") return !part.querySelector("[data-payment-confirm]") && text;
  return !part.querySelector("[data-charge-cancel]") && !!part.querySelector("[data-charge]") && text;
}"""


def test_the_expert_cancels_a_charge_waiting_for_the_client_and_both_rooms_show_it_live(
    new_page, paid_clinic, paid_service, provider
):
    from consultations import payments
    from consultations.lifecycle import Status
    from tests.consultations.conftest import make_consultation
    from tests.consultations.payment_support import with_card

    consultation = make_consultation(paid_clinic, paid_service, expert=provider, status=Status.COMPLETED)
    with_card(consultation, number=NEEDS_AUTHENTICATION)
    waiting = payments.charge(consultation_id=consultation.pk, by=provider, amount=4500)
    waiting.refresh_from_db()
    assert waiting.status == PaymentStatus.NEEDS_AUTHENTICATION

    client = new_page()
    client.goto(f"/consult/room/{consultation.client_token}/")
    client.wait_for_selector("body[data-socket='open']")
    expert = new_page()
    expert.on("dialog", lambda dialog: dialog.accept())
    open_dashboard(expert)
    expert.goto(f"/consultations/{consultation.pk}/")
    expert.wait_for_selector("body[data-socket='open']")
    expert.wait_for_selector("[data-part='payment'] [data-charge-cancel]", timeout=LIVE_MS)
    expert.click("[data-part='payment'] [data-charge-cancel]")

    said = expert.wait_for_function(CANCELLED_SHOWN, arg="staff", timeout=LIVE_MS).json_value()
    assert said == "Charge of $45.00 cancelled: nothing was taken from the card."
    said = client.wait_for_function(CANCELLED_SHOWN, arg="client", timeout=LIVE_MS).json_value()
    assert said == "The clinic cancelled the charge of $45.00: nothing was taken from your card."
    waiting.refresh_from_db()
    assert waiting.status == PaymentStatus.CANCELED
