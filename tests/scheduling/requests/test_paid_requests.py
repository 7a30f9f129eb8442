"""Requests of a paid service: the form shows the price and the card step, a request is stored only
with a card saved for the requester's email (bound to it in the same transaction), the card follows
an accepted request to its meeting, and a declined, expired or withdrawn request charges nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings

from scheduling.models import AppointmentRequest, Requester
from scheduling.requests import services
from scheduling.times import slot_value
from tests.scheduling.conftest import save_card, scheduled_request, stripe_payment_intents, tomorrow
from tests.scheduling.requests.test_request_form import form_data
from waitingroom.payments import selectors as pay
from waitingroom.payments.models import Payment, SavedCard

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("localstripe")]


def request_url(clinic) -> str:
    return f"/c/{clinic.slug}/request/"


def charged(*tokens: str) -> list[dict]:
    """Stripe's PaymentIntents on the cards saved with these tokens."""
    return stripe_payment_intents(
        *SavedCard.objects.filter(token__in=tokens).values_list("stripe_customer_id", flat=True)
    )


def test_a_paid_service_shows_its_price_and_the_card_step_with_stripe_js_allowed(
    client, frozen, clinic_a, provider, paid_service, hours
):
    page = client.get(request_url(clinic_a), {"service": paid_service.pk})
    html = page.content.decode()
    assert page.status_code == 200
    assert "$60.00" in html and "charged only after your appointment" in html
    assert "data-card-step" in html and f'<script src="{settings.STRIPE_JS_URL}"></script>' in html
    # Stripe.js is a classic script read before the page's module.
    assert html.index(settings.STRIPE_JS_URL) < html.index("scheduling/request.js")
    assert settings.LOCALSTRIPE_URL in page["Content-Security-Policy"]


def test_a_free_service_has_no_card_step_and_loads_no_stripe_js(
    client, frozen, clinic_a, provider, service, hours
):
    page = client.get(request_url(clinic_a), {"service": service.pk})
    html = page.content.decode()
    # Stripe.js is not even loaded.
    assert settings.STRIPE_JS_URL not in html and "charged only after" not in html


def test_a_paid_request_without_a_card_is_refused_and_nothing_is_stored(
    client, frozen, clinic_a, provider, paid_service, hours
):
    response = client.post(request_url(clinic_a), form_data(clinic_a, paid_service))
    assert response.status_code == 400
    assert "Save a card to book this paid service." in response.content.decode()
    assert not AppointmentRequest.objects.exists() and not Requester.objects.exists()
    # The service refuses it too, whatever the form did.
    with pytest.raises(services.RequestRefused, match="Save a card"):
        scheduled_request(clinic_a, paid_service, times=[tomorrow(clinic_a, 10)])
    assert not AppointmentRequest.objects.exists()


def test_a_paid_request_with_a_nul_byte_for_a_card_is_a_form_error_and_stores_nothing(
    client, frozen, clinic_a, provider, paid_service, hours
):
    client.raise_request_exception = False
    response = client.post(request_url(clinic_a), form_data(clinic_a, paid_service, card_token="ab\x00cd"))
    assert response.status_code == 400
    assert not AppointmentRequest.objects.exists() and not Requester.objects.exists()


def test_a_paid_request_with_a_saved_card_binds_the_card_to_the_request(
    client, frozen, clinic_a, provider, paid_service, hours
):
    token = save_card(client, clinic_a, email="rita@example.com")
    response = client.post(request_url(clinic_a), form_data(clinic_a, paid_service, card_token=token))
    assert response.status_code == 302, response.content.decode()
    request = AppointmentRequest.objects.get()
    card = pay.card_for(subject=f"request:{request.pk}")
    assert card is not None and card.label == "Visa ending 4242"
    assert not Payment.objects.exists() and charged(token) == []  # saved, not charged


def test_a_card_saved_for_another_email_or_already_used_is_refused(
    client, frozen, clinic_a, provider, paid_service, hours
):
    token = save_card(client, clinic_a, email="someone-else@example.com")
    response = client.post(request_url(clinic_a), form_data(clinic_a, paid_service, card_token=token))
    assert response.status_code == 400 and not AppointmentRequest.objects.exists()
    assert SavedCard.objects.get(token=token).subject == ""

    token = save_card(client, clinic_a, email="rita@example.com")
    first = form_data(clinic_a, paid_service, card_token=token, slots=[slot_value(tomorrow(clinic_a, 10))])
    assert client.post(request_url(clinic_a), first).status_code == 302
    again = form_data(clinic_a, paid_service, card_token=token, slots=[slot_value(tomorrow(clinic_a, 14))])
    assert client.post(request_url(clinic_a), again).status_code == 400
    assert AppointmentRequest.objects.count() == 1


def test_the_form_shown_again_keeps_the_card_already_saved(
    client, frozen, clinic_a, provider, paid_service, hours
):
    token = save_card(client, clinic_a, email="rita@example.com")
    response = client.post(
        request_url(clinic_a), form_data(clinic_a, paid_service, card_token=token, slots=[])
    )
    html = response.content.decode()
    assert response.status_code == 400 and "Choose at least one time." in html
    assert f'value="{token}"' in html and "Visa ending 4242" in html


def test_accepting_a_paid_request_moves_its_card_to_the_meeting(
    client, frozen, clinic_a, provider, paid_service, hours, scheduler
):
    token = save_card(client, clinic_a, email="rita@example.com")
    request = scheduled_request(clinic_a, paid_service, times=[tomorrow(clinic_a, 10)], card_token=token)
    meeting = services.request_accept(
        request_id=request.pk, by=scheduler, provider_id=provider.pk, starts_at=tomorrow(clinic_a, 10)
    )
    assert pay.card_for(subject=f"request:{request.pk}") is None
    card = pay.card_for(subject=f"meeting:{meeting.pk}")
    assert card is not None and card.token == token
    # The guest needs nothing more before joining.
    page = client.get(f"/m/{meeting.join_token}/").content.decode()
    assert "Visa ending 4242" in page and "data-card-step" not in page
    assert not Payment.objects.exists() and charged(token) == []


def test_declined_expired_or_withdrawn_paid_requests_charge_nothing(
    client, frozen, clinic_a, provider, paid_service, hours, scheduler
):
    def paid_request(hour: int) -> AppointmentRequest:
        token = save_card(client, clinic_a, email=f"r{hour}@example.com")
        return scheduled_request(
            clinic_a,
            paid_service,
            times=[tomorrow(clinic_a, hour)],
            email=f"r{hour}@example.com",
            card_token=token,
        )

    declined, expired, withdrawn = paid_request(10), paid_request(11), paid_request(12)
    services.request_decline(request_id=declined.pk, by=scheduler, response="Fully booked")
    services.request_withdraw(request_id=withdrawn.pk, requester=withdrawn.requester)
    frozen.move_to(tomorrow(clinic_a, 11) + timedelta(minutes=1))
    assert services.requests_expire_due() == 1
    statuses = {r.pk: r.status for r in AppointmentRequest.objects.all()}
    assert statuses == {declined.pk: "declined", expired.pk: "expired", withdrawn.pk: "withdrawn"}
    assert not Payment.objects.exists() and charged(*SavedCard.objects.values_list("token", flat=True)) == []
    # Nothing detached either: each card is still its request's.
    assert all(pay.card_for(subject=f"request:{r.pk}") for r in (declined, expired, withdrawn))
