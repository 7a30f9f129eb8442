"""Saving a card at booking: the SetupIntent confirmed in the page (as Stripe.js does it) is read
back by the server before the card counts; a declined card or one the bank wants confirmed is not
saved; a saved card is bound to one booking of its clinic, for the email it was saved for, once.
The card step's endpoints answer JSON and a clear 4xx for every refusal."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from tests.support.stripe import local_api
from tests.waitingroom.payments import cards
from waitingroom.fragments import render_fragment
from waitingroom.models import ClientAttempt
from waitingroom.payments import services
from waitingroom.payments.models import SavedCard
from waitingroom.payments.web import card_step, stripe_page

pytestmark = pytest.mark.django_db


def refused(message: str):
    return pytest.raises(services.PaymentRefused, match=re.escape(message))


def setup_url(clinic) -> str:
    return reverse("payments_card_setup", args=[clinic.slug])


def finish_url(clinic) -> str:
    return reverse("payments_card_finish", args=[clinic.slug])


def test_a_card_confirmed_in_the_page_is_saved_with_brand_and_last_four_only(localstripe, clinic_a):
    client = Client()
    started = client.post(setup_url(clinic_a), {"email": "rosa@example.test", "name": "Rosa Client"}).json()
    assert started["ok"] is True and started["client_secret"].startswith("seti_")

    status, _ = cards.confirm_setup(started["client_secret"])
    assert status == 200
    finished = client.post(finish_url(clinic_a), {"token": started["token"]}).json()

    assert finished == {"ok": True, "label": "Visa ending 4242", "token": started["token"]}
    card = SavedCard.objects.get(token=started["token"])
    assert card.status == SavedCard.Status.SAVED and card.subject == ""
    assert (card.brand, card.last4, card.exp_month, card.exp_year) == ("visa", "4242", 12, 2031)
    assert card.stripe_payment_method_id.startswith("pm_") and card.stripe_customer_id.startswith("cus_")
    # Stripe has the customer with the client's email; we keep no card number anywhere.
    customer = local_api("GET", f"/v1/customers/{card.stripe_customer_id}")
    assert customer["email"] == "rosa@example.test"
    assert "4242424242424242" not in str(SavedCard.objects.filter(pk=card.pk).values().get())
    # Finishing twice changes nothing.
    assert (
        client.post(finish_url(clinic_a), {"token": started["token"]}).json()["label"] == "Visa ending 4242"
    )


def test_finishing_before_stripe_confirmed_the_card_is_refused(localstripe, clinic_a):
    card, _ = services.card_setup_start(clinic=clinic_a, email="rosa@example.test", name="")
    response = Client().post(finish_url(clinic_a), {"token": card.token})
    assert response.status_code == 409
    assert response.json() == {"ok": False, "error": "Your card was not saved yet. Enter it and try again."}
    card.refresh_from_db()
    assert card.status == SavedCard.Status.PENDING


def test_a_card_declined_when_saving_is_not_saved(localstripe, clinic_a):
    card, secret = services.card_setup_start(clinic=clinic_a, email="rosa@example.test", name="")
    status, body = cards.confirm_setup(secret, cards.DECLINED_AT_SAVE)
    assert status == 402 and body["error"]["message"] == "Your card was declined."  # what the page shows

    with refused("Your card was declined. Enter another card."):
        services.card_setup_finish(clinic=clinic_a, token=card.token)
    card.refresh_from_db()
    assert card.status == SavedCard.Status.FAILED and card.last4 == ""
    with refused("Save a card"):
        services.card_bind(
            clinic=clinic_a, token=card.token, subject="consultation:1", email="rosa@example.test"
        )


def test_a_card_the_bank_wants_confirmed_is_saved_only_once_the_client_confirmed_it(localstripe, clinic_a):
    card, secret = services.card_setup_start(clinic=clinic_a, email="rosa@example.test", name="")
    status, body = cards.confirm_setup(secret, cards.NEEDS_AUTHENTICATION)
    assert (status, body["status"]) == (200, "requires_action")  # Stripe.js shows the bank's check
    with refused("Your bank asks you to confirm this card"):
        services.card_setup_finish(clinic=clinic_a, token=card.token)

    cards.complete_setup_authentication(secret)  # the client passed the check in the page
    card = services.card_setup_finish(clinic=clinic_a, token=card.token)
    assert card.status == SavedCard.Status.SAVED and card.label == "Visa ending 3155"


def test_another_clinics_card_token_is_not_found(localstripe, clinic_a, clinic_b):
    card, secret = services.card_setup_start(clinic=clinic_a, email="rosa@example.test", name="")
    cards.confirm_setup(secret)
    response = Client().post(finish_url(clinic_b), {"token": card.token})
    assert response.status_code == 409
    assert response.json()["error"] == "This card was not found. Enter it again."


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"name": "Rosa"}, "Enter your email address."),
        ({"email": "not-an-email"}, "Enter a valid email address."),
        ({"email": "rosa@example.test", "name": "x" * 121}, "Ensure this value has at most 120 characters"),
        ({"email": "rosa@example.test", "name": "Rosa\x00"}, "Null characters are not allowed."),
    ],
)
def test_setup_with_bad_input_is_refused_with_a_message_and_asks_stripe_nothing(
    clinic_a, fake_stripe, data, error
):
    response = Client().post(setup_url(clinic_a), data)
    assert response.status_code == 400
    assert response.json()["ok"] is False and error in response.json()["error"]
    assert fake_stripe.requests == [] and not SavedCard.objects.exists()


def test_finish_with_a_malformed_token_is_refused(clinic_a, fake_stripe):
    response = Client().post(finish_url(clinic_a), {"token": "<script>"})
    assert response.status_code == 400 and response.json()["ok"] is False


def test_the_card_endpoints_answer_post_only_and_404_for_an_unknown_clinic(clinic_a):
    assert Client().get(setup_url(clinic_a)).status_code == 405
    assert Client().post("/pay/cards/no-such-clinic/setup/", {"email": "a@b.test"}).status_code == 404


def test_a_client_who_starts_too_many_card_setups_is_told_to_wait(localstripe, clinic_a, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "card-setup": (2, 3600)}
    client = Client()
    answers = [client.post(setup_url(clinic_a), {"email": "rosa@example.test"}) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].json()["error"].startswith("Too many requests from your network.")
    assert SavedCard.objects.count() == 2
    assert ClientAttempt.objects.filter(action="card-setup").count() == 3


def test_a_client_who_asks_to_finish_a_card_too_often_is_told_to_wait_and_stripe_is_not_asked(
    clinic_a, card_row, fake_stripe, settings
):
    # Each finish of a card still being saved reads its SetupIntent from Stripe: a script posting
    # one token in a loop would spend the platform's Stripe rate limit, every clinic's charges.
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "card-finish": (2, 3600)}
    card = card_row(subject="")
    SavedCard.objects.filter(pk=card.pk).update(status=SavedCard.Status.PENDING)
    fake_stripe.default = lambda request: (
        200,
        {"id": card.stripe_setup_intent_id, "status": "requires_payment_method"},
    )
    client = Client()
    answers = [client.post(finish_url(clinic_a), {"token": card.token}) for _ in range(3)]
    assert [a.status_code for a in answers] == [409, 409, 429]
    assert answers[2].json()["error"].startswith("Too many requests from your network.")
    assert len(fake_stripe.requests) == 2


def test_stripe_unreachable_when_saving_is_a_clear_message(clinic_a, fake_stripe):
    fake_stripe.fail = 10
    response = Client().post(setup_url(clinic_a), {"email": "rosa@example.test"})
    assert response.status_code == 409
    assert response.json()["error"] == services.UNREACHABLE_CARD
    assert not SavedCard.objects.exists()


def test_payments_turned_off_saves_no_card(clinic_a, fake_stripe, settings):
    settings.PAYMENTS_ENABLED = False
    response = Client().post(setup_url(clinic_a), {"email": "rosa@example.test"})
    assert response.status_code == 409 and "not available" in response.json()["error"]
    assert fake_stripe.requests == []


# --- Binding a saved card to the booking ---------------------------------------------------------


def test_a_saved_card_is_bound_to_one_booking_once(save_card, clinic_a):
    card = save_card(subject="")
    bound = services.card_bind(
        clinic=clinic_a, token=card.token, subject="consultation:7", email="ROSA@example.test"
    )
    assert bound.subject == "consultation:7"
    with refused("Save a card to book this paid service."):
        services.card_bind(
            clinic=clinic_a, token=card.token, subject="consultation:8", email="rosa@example.test"
        )
    assert SavedCard.objects.get(pk=card.pk).subject == "consultation:7"


def test_a_card_is_not_bound_for_another_clinic_or_another_email(save_card, clinic_a, clinic_b):
    card = save_card(subject="")
    for clinic, email in ((clinic_b, "rosa@example.test"), (clinic_a, "someone@example.test")):
        with refused("Save a card to book this paid service."):
            services.card_bind(clinic=clinic, token=card.token, subject="consultation:7", email=email)
    with pytest.raises(services.PaymentRefused):
        services.card_bind(clinic=clinic_a, token="", subject="consultation:7", email="rosa@example.test")
    assert SavedCard.objects.get(pk=card.pk).subject == ""


def test_a_booking_can_hold_only_one_card(save_card, clinic_a):
    save_card(subject="consultation:7")
    second = save_card(subject="")
    with refused("This booking has a card already."):
        services.card_bind(
            clinic=clinic_a, token=second.token, subject="consultation:7", email="rosa@example.test"
        )


def test_an_accepted_requests_card_follows_it_to_the_meeting(save_card):
    card = save_card(subject="request:5")
    moved = services.card_move(from_subject="request:5", to_subject="meeting:9")
    assert moved is not None and moved.pk == card.pk
    assert SavedCard.objects.get(pk=card.pk).subject == "meeting:9"
    assert services.card_move(from_subject="request:6", to_subject="meeting:10") is None


@pytest.mark.parametrize("token", ["ab\x00cd", "\x00", "a b", "<script>", "x" * 41])
def test_an_odd_card_token_is_no_card_and_no_error(save_card, clinic_a, token):
    # Booking pages post card_token as typed (a NUL byte reached PostgreSQL, which refuses it: a 500).
    card = save_card(subject="")
    with refused("Save a card to book this paid service."):
        services.card_bind(clinic=clinic_a, token=token, subject="consultation:7", email="rosa@example.test")
    step = card_step(clinic=clinic_a, price=4500, token=token)
    assert step["card_token"] == "" and step["card_label"] == ""
    assert SavedCard.objects.get(pk=card.pk).subject == ""


# --- The card step in a page ---------------------------------------------------------------------


def test_the_card_step_shows_the_price_and_that_the_card_is_charged_after_the_consultation(clinic_a):
    from decimal import Decimal

    html = render_fragment(
        "waitingroom/payments/_card_step.html", {"step": card_step(clinic=clinic_a, price=Decimal("45.00"))}
    )
    assert "Price: $45.00. Your card is saved now and charged only after your consultation." in html
    assert 'name="card_token" value=""' in html and 'role="status"' in html and "data-card-mount" in html
    assert "hidden>" not in html.split("<legend>")[0]  # shown: the service is paid


def test_the_card_step_shown_again_keeps_the_saved_card(save_card, clinic_a, clinic_b):
    card = save_card(subject="")
    html = render_fragment(
        "waitingroom/payments/_card_step.html",
        {"step": card_step(clinic=clinic_a, price=4500, token=card.token)},
    )
    assert "Visa ending 4242 saved" in html and f'value="{card.token}"' in html
    # Another clinic's page, or a token that is not a saved card, shows no card.
    other = card_step(clinic=clinic_b, price=4500, token=card.token)
    assert other["card_label"] == "" and other["card_token"] == ""


def test_a_free_service_hides_the_card_step(clinic_a):
    step = card_step(clinic=clinic_a, price=None)
    assert step["needed"] is False and step["price_text"] == ""
    html = render_fragment("waitingroom/payments/_card_step.html", {"step": step})
    assert html.split(">")[0].rstrip().endswith("hidden")


def test_stripe_pages_get_stripes_origins_in_their_csp_read_at_request_time(settings, rf):
    from django.http import HttpResponse

    @stripe_page
    def page(request):
        return HttpResponse("ok")

    settings.STRIPE_CSP = {"script-src": ["https://js.example"], "connect-src": ["https://api.example"]}
    response = page(rf.get("/"))
    assert response._csp_update == {
        "script-src": ["https://js.example"],
        "connect-src": ["https://api.example"],
    }
    settings.PAYMENTS_ENABLED = False
    assert not hasattr(page(rf.get("/")), "_csp_update")
