"""Booking a paid phone consultation: the card saved on the booking page (through localstripe) is
bound to the new consultation in the booking's transaction. Without a card, with a card saved for
another email or at another clinic, or with a card already used, nothing is booked; a free service
ignores cards; while card payments are off, paid services can't be booked and the page says so."""

from __future__ import annotations

import pytest
import time_machine
from django.core import mail
from django.test import Client

from consultations import slots
from consultations.models import Consultation
from consultations.payments import NO_CARD, subject_of
from consultations.services import ConsultationRefused
from scheduling.models import Requester
from scheduling.times import slot_value
from tests.consultations.booking_support import BOOK_URL, book, verify
from tests.consultations.conftest import CLIENT_EMAIL
from tests.consultations.payment_support import saved_card
from tests.scheduling.conftest import MONDAY_NOON, tomorrow, weekday_hours
from waitingroom.payments.models import SavedCard

pytestmark = pytest.mark.django_db
JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture(autouse=True)
def _stripe(payments_on):
    """Every test here saves cards through localstripe."""


@pytest.fixture
def hours(clinic_a, provider):
    weekday_hours(clinic_a, provider)


def first_slot(service):
    return slots.open_slots(clinic=service.clinic, service=service, expert_id=None)[0].starts_at


def nothing_booked() -> bool:
    return not Consultation.objects.exists() and not Requester.objects.exists() and mail.outbox == []


def test_a_paid_service_is_booked_with_the_card_saved_for_it_which_is_bound_to_the_consultation(
    clinic_a, paid_service, hours, django_capture_on_commit_callbacks
):
    card = saved_card(clinic_a)
    assert (card.status, card.subject) == (SavedCard.Status.SAVED, "")
    with django_capture_on_commit_callbacks(execute=True):
        consultation = book(clinic_a, paid_service, starts_at=first_slot(paid_service), card_token=card.token)
    card.refresh_from_db()
    assert card.subject == subject_of(consultation.pk) == f"consultation:{consultation.pk}"
    assert card.label == "Visa ending 4242"
    (confirmation,) = mail.outbox  # the booking's confirmation, with what the client will pay
    paying = "Price: $45.00, charged to your Visa ending 4242 after the consultation."
    assert paying in confirmation.body
    assert paying in confirmation.alternatives[0][0]


@pytest.mark.parametrize("token", ["", "not-a-token"])
def test_a_paid_service_without_a_saved_card_is_refused_and_books_nothing(
    clinic_a, paid_service, hours, token
):
    with pytest.raises(ConsultationRefused, match=NO_CARD):
        book(clinic_a, paid_service, starts_at=first_slot(paid_service), card_token=token)
    assert nothing_booked()


def test_a_card_saved_for_another_email_or_at_another_clinic_is_refused(
    clinic_a, clinic_b, paid_service, hours
):
    someone_elses = saved_card(clinic_a, email="robin@example.com")
    other_clinics = saved_card(clinic_b)
    for card in (someone_elses, other_clinics):
        with pytest.raises(ConsultationRefused, match="card"):
            book(clinic_a, paid_service, starts_at=first_slot(paid_service), card_token=card.token)
    assert nothing_booked()
    assert set(SavedCard.objects.values_list("subject", flat=True)) == {""}


def test_a_card_is_bound_to_one_booking_only(clinic_a, paid_service, hours):
    card = saved_card(clinic_a)
    first = book(clinic_a, paid_service, starts_at=first_slot(paid_service), card_token=card.token)
    with pytest.raises(ConsultationRefused, match="card"):
        book(clinic_a, paid_service, starts_at=first_slot(paid_service), card_token=card.token)
    assert list(Consultation.objects.all()) == [first]
    card.refresh_from_db()
    assert card.subject == subject_of(first.pk)


def test_a_free_service_ignores_cards(clinic_a, phone_service, hours):
    card = saved_card(clinic_a)
    free = book(clinic_a, phone_service, starts_at=first_slot(phone_service), card_token=card.token)
    assert free.pk is not None
    card.refresh_from_db()
    assert card.subject == ""  # still the client's, unused
    assert all("Price:" not in message.body for message in mail.outbox)
    assert book(clinic_a, phone_service, starts_at=first_slot(phone_service), email="b@example.com")


def test_while_card_payments_are_off_paid_services_cant_be_booked_and_the_page_says_so(
    clinic_a, paid_service, phone_service, hours, settings
):
    card = saved_card(clinic_a)  # saved while they were on
    settings.PAYMENTS_ENABLED = False
    with pytest.raises(ConsultationRefused, match="not available"):
        book(clinic_a, paid_service, starts_at=first_slot(paid_service), card_token=card.token)
    assert nothing_booked()
    page = Client().get(f"{BOOK_URL}?service={paid_service.pk}")
    html = page.content.decode()
    assert "Card payments are not available at the moment" in html
    assert settings.STRIPE_JS_URL not in html and "data-card-mount" not in html
    assert settings.LOCALSTRIPE_URL not in page["Content-Security-Policy"]
    assert "data-book disabled" in html
    # The free service is booked as before.
    assert book(clinic_a, phone_service, starts_at=first_slot(phone_service))


# --- The booking page ----------------------------------------------------------------------------


@pytest.fixture
def monday(hours):
    with time_machine.travel(MONDAY_NOON, tick=True):
        yield


def test_the_page_of_a_paid_service_shows_its_price_and_the_card_step_with_stripe_js_allowed(
    monday, clinic_a, paid_service, phone_service, settings
):
    page = Client().get(f"{BOOK_URL}?service={paid_service.pk}")
    html = page.content.decode()
    assert "$45.00" in html and "charged only after the consultation" in html
    assert "data-card-step" in html
    # Stripe.js is a classic script loaded before the page's module (it reads currentScript).
    stripe_js = html.index(f'<script src="{settings.STRIPE_JS_URL}"></script>')
    assert stripe_js < html.index("consultations/book.js")
    assert settings.LOCALSTRIPE_URL in page["Content-Security-Policy"]
    # A free service's page has neither.
    free = Client().get(f"{BOOK_URL}?service={phone_service.pk}").content.decode()
    assert "data-card-step" not in free and settings.STRIPE_JS_URL not in free and "$45.00" not in free


@pytest.mark.django_db(transaction=True)
def test_the_booking_post_binds_the_card_and_refuses_a_paid_booking_without_one(
    monday, clinic_a, paid_service
):
    browser = Client()
    verify(browser)
    fields = {
        "service": paid_service.pk,
        "expert": "",
        "when": slot_value(tomorrow(clinic_a, 10)),
        "name": "Casey Client",
        "email": CLIENT_EMAIL,
        "phone": "(202) 555-0143",
    }
    refused = browser.post(BOOK_URL, fields, **JSON)
    assert refused.status_code == 409 and refused.json()["error"] == NO_CARD
    assert not Consultation.objects.exists()

    card = saved_card(clinic_a)
    booked = browser.post(BOOK_URL, {**fields, "card_token": card.token}, **JSON)
    assert booked.status_code == 200 and booked.json()["ok"]
    consultation = Consultation.objects.get()
    card.refresh_from_db()
    assert card.subject == subject_of(consultation.pk)
    # The client's room shows the price and the card, and that nothing is charged yet.
    room = browser.get(booked.json()["room_url"]).content.decode()
    assert "$45.00" in room and "Your card: <span data-payment-card>Visa ending 4242</span>" in room
    assert "charged only after the consultation" in room


@pytest.mark.django_db(transaction=True)
def test_a_booking_posted_with_a_nul_byte_for_a_card_is_a_form_error_and_books_nothing(
    monday, clinic_a, paid_service
):
    browser = Client(raise_request_exception=False)
    verify(browser)
    fields = {
        "service": paid_service.pk,
        "expert": "",
        "when": slot_value(tomorrow(clinic_a, 10)),
        "name": "Casey Client",
        "email": CLIENT_EMAIL,
        "phone": "(202) 555-0143",
        "card_token": "ab\x00cd",
    }
    page = browser.post(BOOK_URL, fields)  # without JavaScript: the page comes back
    assert page.status_code == 400 and "data-card-step" in page.content.decode()
    assert not Consultation.objects.exists()
