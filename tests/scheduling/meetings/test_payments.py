"""A meeting of a paid service: the guest saves a card on their meeting page before they can join,
staff see whether a card is saved, and once the meeting is completed its host or a clinic admin
charges it (the price by default, less allowed, never more), with Stripe's answer shown live.
Against localstripe, through the card step's endpoints and the pages."""

from __future__ import annotations

from datetime import timedelta
from html import unescape

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from scheduling.meetings import booking, charges, payments, services
from scheduling.meetings.services import MeetingRefused
from scheduling.models import Meeting, MeetingEvent
from tests.conftest import client_for
from tests.factories import staff
from tests.scheduling.conftest import save_card, stripe_payment_intents, tomorrow
from tests.waitingroom.payments.cards import DECLINED_AT_CHARGE, NEEDS_AUTHENTICATION
from visits import services as visit_services
from waitingroom.models import Role
from waitingroom.payments import selectors as pay
from waitingroom.payments.lifecycle import PaymentStatus
from waitingroom.payments.models import Payment, SavedCard
from waitingroom.realtime import groups, publisher

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("localstripe")]


@pytest.fixture
def events(monkeypatch):
    sent = []
    monkeypatch.setattr(publisher, "_deliver", sent.extend)
    return sent


@pytest.fixture
def paid_meeting(frozen, clinic_a, provider, paid_service) -> Meeting:
    """Gina Guest's paid meeting (60.00) with the provider, tomorrow at 10:00, booked by staff."""
    return booking.meeting_schedule(
        clinic=clinic_a, by=provider, provider_id=provider.pk, service=paid_service,
        guest_name="Gina Guest", guest_email="gina@example.com", times=[tomorrow(clinic_a, 10)],
    )  # fmt: skip


def guest_saves_card(client, meeting: Meeting, number: str | None = None, email: str = "gina@example.com"):
    token = save_card(
        client, meeting.clinic, email=email, name="Gina Guest", **({"number": number} if number else {})
    )
    return client.post(f"/m/{meeting.join_token}/", {"action": "card", "card_token": token})


def hold(frozen, meeting: Meeting, host) -> None:
    """The meeting takes place: the guest enters, the host calls them, the call ends."""
    frozen.move_to(meeting.starts_at)
    visit, _token = services.meeting_enter(meeting_id=meeting.pk)
    visit_services.visit_media_result(visit_id=visit.pk, ok=True)
    services.meeting_host_enter(meeting_id=meeting.pk, user=host)
    visit_services.visit_end(visit_id=visit.pk, user=host)


def payment_url(meeting: Meeting) -> str:
    return f"/meetings/{meeting.pk}/payment/"


def charge(client, meeting: Meeting, amount: str):
    return client.post(payment_url(meeting), {"action": "charge", "amount": amount})


@pytest.fixture
def completed(frozen, client, paid_meeting, provider) -> Meeting:
    """The paid meeting with the guest's card (Visa 4242) saved, taken place."""
    assert guest_saves_card(client, paid_meeting).status_code == 302
    hold(frozen, paid_meeting, provider)
    return paid_meeting


# --- The guest's card ----------------------------------------------------------------------------


def test_the_guest_page_of_a_paid_meeting_shows_the_price_and_asks_for_a_card_before_joining(
    frozen, client, paid_meeting
):
    frozen.move_to(paid_meeting.starts_at - timedelta(minutes=5))  # the room is open
    page = client.get(f"/m/{paid_meeting.join_token}/")
    html = page.content.decode()
    assert "$60.00" in html and "charged only after the session" in html
    assert "data-card-step" in html and f'<script src="{settings.STRIPE_JS_URL}"></script>' in html
    assert settings.LOCALSTRIPE_URL in page["Content-Security-Policy"]
    assert "data-join" not in html and "Save a card to join" in html
    with pytest.raises(MeetingRefused, match="save a card"):
        services.meeting_enter(meeting_id=paid_meeting.pk)
    client.post(f"/m/{paid_meeting.join_token}/", {"action": "join"})
    assert Meeting.objects.get(pk=paid_meeting.pk).guest_entered_at is None


def test_the_guest_saves_a_card_and_staff_see_it_by_brand_and_last_four(
    frozen, client, paid_meeting, provider, events
):
    response = guest_saves_card(client, paid_meeting)
    assert response.status_code == 302
    card = pay.card_for(subject=f"meeting:{paid_meeting.pk}")
    assert card is not None and card.label == "Visa ending 4242" and card.email == "gina@example.com"
    assert MeetingEvent.objects.filter(meeting=paid_meeting, event="card_saved").exists()
    assert (groups.clinic_meetings_group(paid_meeting.clinic_id), {"type": "meetings"}) in events

    page = client.get(f"/m/{paid_meeting.join_token}/").content.decode()
    assert "Visa ending 4242" in page and "data-card-step" not in page and settings.STRIPE_JS_URL not in page
    frozen.move_to(paid_meeting.starts_at - timedelta(minutes=5))
    assert "data-join" in client.get(f"/m/{paid_meeting.join_token}/").content.decode()

    rows = client_for(provider).get("/meetings/rows/?tab=everyone").content.decode()
    assert "$60.00 · Visa ending 4242 · Not charged" in rows
    assert card.stripe_payment_method_id not in rows and card.stripe_customer_id not in rows


def test_a_card_saved_for_another_email_or_a_second_card_is_refused(frozen, client, paid_meeting):
    guest_saves_card(client, paid_meeting, email="mallory@example.com")
    assert pay.card_for(subject=f"meeting:{paid_meeting.pk}") is None
    guest_saves_card(client, paid_meeting)
    first = pay.card_for(subject=f"meeting:{paid_meeting.pk}")
    with pytest.raises(MeetingRefused, match="already saved"):
        charges.meeting_card_save(
            meeting_id=paid_meeting.pk, token=save_card(client, paid_meeting.clinic, email="gina@example.com")
        )
    assert pay.card_for(subject=f"meeting:{paid_meeting.pk}") == first


def test_a_card_token_with_a_nul_byte_is_refused_with_a_message(frozen, client, paid_meeting):
    client.raise_request_exception = False
    response = client.post(f"/m/{paid_meeting.join_token}/", {"action": "card", "card_token": "ab\x00cd"})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "Save a card to book this paid service." in page
    assert pay.card_for(subject=f"meeting:{paid_meeting.pk}") is None


def test_a_free_meeting_asks_for_no_card(frozen, client, meeting):
    frozen.move_to(meeting.starts_at - timedelta(minutes=5))
    html = client.get(f"/m/{meeting.join_token}/").content.decode()
    assert "data-join" in html and "data-card-step" not in html and settings.STRIPE_JS_URL not in html
    with pytest.raises(MeetingRefused, match="free"):
        charges.meeting_card_save(meeting_id=meeting.pk, token="whatever-token")


# --- Charging ------------------------------------------------------------------------------------


def test_the_host_charges_a_completed_meeting_the_price_and_sees_it_paid(
    frozen, client, completed, provider, events
):
    staff_client = client_for(provider)
    page = staff_client.get(payment_url(completed)).content.decode()
    assert 'name="amount"' in page and 'value="60.00"' in page and "Visa ending 4242" in page
    events.clear()
    response = charge(staff_client, completed, "60.00")
    assert response.status_code == 302
    payment = Payment.objects.get()
    assert (payment.subject, payment.amount, payment.currency, payment.status) == (
        f"meeting:{completed.pk}",
        6000,
        "usd",
        PaymentStatus.SUCCEEDED,
    )
    assert payment.description == "Video appointment: Specialist review, 24 Nov 2026"
    assert (groups.clinic_meetings_group(completed.clinic_id), {"type": "meetings"}) in events
    [intent] = stripe_payment_intents(payment.card.stripe_customer_id)
    assert (intent["amount"], intent["status"]) == (6000, "succeeded")
    part = staff_client.get(f"{payment_url(completed)}part/").content.decode()
    assert "Paid $60.00" in part and 'name="amount"' not in part  # one charge per meeting
    rows = staff_client.get("/meetings/rows/?tab=everyone").content.decode()
    assert "Paid $60.00" in rows
    # The guest's receipt (waitingroom/payments/ sends it) names the meeting.
    [receipt] = [m for m in mail.outbox if m.subject.startswith("Your receipt")]
    assert (
        receipt.to == ["gina@example.com"]
        and "Video appointment: Specialist review, 24 Nov 2026" in receipt.body
    )
    # A second press is refused: the meeting has its charge.
    assert charge(staff_client, completed, "60.00").status_code == 400
    assert Payment.objects.count() == 1


def test_a_lower_amount_is_allowed_and_a_higher_zero_negative_or_odd_one_is_refused(
    frozen, client, completed, provider
):
    staff_client = client_for(provider)
    for amount, reason in [
        ("60.01", "can't be more than the service's price ($60.00)"),
        ("0", "above zero"),
        ("-5", "above zero"),
        ("abc", "as a number"),
        ("12.345", "whole cents"),
        ("", "Enter the amount"),
        ("NaN", "as a number"),
    ]:
        response = charge(staff_client, completed, amount)
        assert response.status_code == 400 and reason in unescape(response.content.decode()), amount
    assert not Payment.objects.exists()
    assert charge(staff_client, completed, "45.50").status_code == 302
    assert Payment.objects.get().amount == 4550


def test_a_meeting_is_charged_only_once_completed_and_only_with_a_card(
    frozen, client, paid_meeting, provider, clinic_a, paid_service
):
    guest_saves_card(client, paid_meeting)
    with pytest.raises(MeetingRefused, match="completed"):
        charges.meeting_charge(meeting_id=paid_meeting.pk, by=provider, amount=6000)
    page = client_for(provider).get(payment_url(paid_meeting)).content.decode()
    assert 'name="amount"' not in page and "Charge once the meeting has taken place" in page
    assert charge(client_for(provider), paid_meeting, "60.00").status_code == 400

    # A meeting held while payments were off has no card: nothing to charge.
    cardless = booking.meeting_schedule(
        clinic=clinic_a, by=provider, provider_id=provider.pk, service=paid_service,
        guest_name="Nora Nocard", guest_email="nora@example.com", times=[tomorrow(clinic_a, 14)],
    )  # fmt: skip
    with override_settings(PAYMENTS_ENABLED=False):
        hold(frozen, cardless, provider)
    with pytest.raises(MeetingRefused, match="not saved a card"):
        charges.meeting_charge(meeting_id=cardless.pk, by=provider, amount=6000)
    assert (
        "The guest has not saved a card" in client_for(provider).get(payment_url(cardless)).content.decode()
    )
    assert not Payment.objects.exists()


def test_a_free_meeting_has_no_payment_page_and_nothing_to_charge(frozen, meeting, provider):
    hold(frozen, meeting, provider)
    assert client_for(provider).get(payment_url(meeting)).status_code == 404
    assert charge(client_for(provider), meeting, "10.00").status_code == 404
    with pytest.raises(MeetingRefused, match="free"):
        charges.meeting_charge(meeting_id=meeting.pk, by=provider, amount=1000)
    assert "data-payment-link" not in client_for(provider).get("/meetings/rows/").content.decode()


def test_a_declined_card_fails_with_stripes_reason_and_may_be_charged_again(
    frozen, client, paid_meeting, provider
):
    guest_saves_card(client, paid_meeting, number=DECLINED_AT_CHARGE)
    hold(frozen, paid_meeting, provider)
    staff_client = client_for(provider)
    charge(staff_client, paid_meeting, "60.00")
    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.FAILED and payment.failure_message
    part = staff_client.get(f"{payment_url(paid_meeting)}part/").content.decode()
    assert f"Charge failed: {payment.failure_message}" in part
    assert 'name="amount"' in part  # a new attempt is allowed after a failure


def test_a_card_that_needs_authentication_waits_for_the_client(frozen, client, paid_meeting, provider):
    guest_saves_card(client, paid_meeting, number=NEEDS_AUTHENTICATION)
    hold(frozen, paid_meeting, provider)
    staff_client = client_for(provider)
    charge(staff_client, paid_meeting, "60.00")
    assert Payment.objects.get().status == PaymentStatus.NEEDS_AUTHENTICATION
    part = staff_client.get(f"{payment_url(paid_meeting)}part/").content.decode()
    assert "waiting for the client to confirm" in part and 'name="amount"' not in part


# --- Who may charge ------------------------------------------------------------------------------


def test_the_host_and_a_clinic_admin_charge_a_csr_and_another_provider_only_see_it(
    frozen, client, completed, provider, csr, clinic_a, clinic_admin
):
    colleague = staff(
        username="pia", clinic=clinic_a, role=Role.PROVIDER, first_name="Pia", last_name="Second"
    )
    for viewer in (csr, colleague):
        page = client_for(viewer).get(payment_url(completed))
        assert page.status_code == 200 and "Visa ending 4242" in page.content.decode()
        assert 'name="amount"' not in page.content.decode()
        refused = charge(client_for(viewer), completed, "60.00")
        assert refused.status_code == 403 and "host or a clinic admin" in refused.content.decode()
    assert not Payment.objects.exists()
    assert 'name="amount"' in client_for(clinic_admin).get(payment_url(completed)).content.decode()
    assert charge(client_for(clinic_admin), completed, "30.00").status_code == 302
    assert Payment.objects.get().created_by == clinic_admin


def test_schedulers_and_other_clinics_staff_get_404(frozen, client, completed, scheduler, outsider):
    for viewer in (scheduler, outsider):
        for url in (payment_url(completed), f"{payment_url(completed)}part/"):
            assert client_for(viewer).get(url).status_code == 404
        assert charge(client_for(viewer), completed, "60.00").status_code == 404
    assert client.get(payment_url(completed)).status_code == 302  # to the login page
    assert not Payment.objects.exists()


# --- What waitingroom/payments/ tells the meetings ------------------------------------------------


def test_a_meeting_payment_change_tells_the_clinics_open_pages_and_a_request_payment_is_ignored(
    clinic_a, events
):
    now = timezone.now()
    common = {"clinic": clinic_a, "amount": 100, "currency": "usd", "created_at": now, "updated_at": now}
    payments.payment_changed(Payment(subject="meeting:7", **common), what="updated")
    assert events == [(groups.clinic_meetings_group(clinic_a.pk), {"type": "meetings"})]
    events.clear()
    payments.payment_changed(Payment(subject="request:7", **common), what="updated")
    assert events == []
    assert (
        settings.PAYMENT_SUBJECTS["meeting"]
        == settings.PAYMENT_SUBJECTS["request"]
        == ("scheduling.meetings.payments.payment_changed")
    )


def test_no_card_data_is_stored_only_stripes_ids_and_the_label(frozen, client, paid_meeting):
    guest_saves_card(client, paid_meeting)
    stored = SavedCard.objects.values().get()
    assert "4242424242424242" not in str(stored) and stored["last4"] == "4242"


def test_a_charge_stripe_could_not_reach_stays_pending_and_retry_sends_it_once(
    frozen, paid_meeting, provider, csr, fake_stripe
):
    card = SavedCard.objects.create(
        clinic=paid_meeting.clinic, subject=f"meeting:{paid_meeting.pk}", status=SavedCard.Status.SAVED,
        email="gina@example.com", stripe_customer_id="cus_fake", stripe_setup_intent_id="seti_fake",
        stripe_payment_method_id="pm_fake", brand="visa", last4="4242", created_at=timezone.now(),
    )  # fmt: skip
    hold(frozen, paid_meeting, provider)
    fake_stripe.fail = 10  # every try of the send, the SDK's own retries included
    staff_client = client_for(provider)
    assert charge(staff_client, paid_meeting, "60.00").status_code == 302
    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.PENDING and payment.failure_message
    part = staff_client.get(f"{payment_url(paid_meeting)}part/").content.decode()
    assert "not charged yet" in part and "data-retry" in part and 'name="amount"' not in part
    assert "data-retry" not in client_for(csr).get(f"{payment_url(paid_meeting)}part/").content.decode()
    assert client_for(csr).post(payment_url(paid_meeting), {"action": "retry"}).status_code == 403

    fake_stripe.fail = 0
    fake_stripe.default = lambda request: (
        200,
        {"id": "pi_fake", "object": "payment_intent", "status": "succeeded", "amount": 6000, "currency": "usd",
         "customer": card.stripe_customer_id, "latest_charge": "ch_fake"},
    )  # fmt: skip
    assert staff_client.post(payment_url(paid_meeting), {"action": "retry"}).status_code == 302
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    sent = fake_stripe.posts("/v1/payment_intents")
    assert {request.headers.get("Idempotency-Key") for request in sent} == {payment.idempotency_key}
    assert "Paid $60.00" in staff_client.get(f"{payment_url(paid_meeting)}part/").content.decode()


def test_the_overviews_payment_column_costs_the_same_queries_for_any_number_of_paid_meetings(
    frozen, clinic_a, provider, paid_service
):
    def paid_meeting_with_card(n: int) -> None:
        meeting = booking.meeting_schedule(
            clinic=clinic_a, by=provider, provider_id=provider.pk, service=paid_service,
            guest_name=f"G{n} X", guest_email=f"g{n}@example.com", times=[tomorrow(clinic_a, 9) + timedelta(days=n)],
        )  # fmt: skip
        SavedCard.objects.create(
            clinic=clinic_a, subject=f"meeting:{meeting.pk}", status=SavedCard.Status.SAVED,
            email=f"g{n}@example.com", stripe_customer_id=f"cus_{n}", stripe_setup_intent_id=f"seti_{n}",
            brand="visa", last4="4242", created_at=timezone.now(),
        )  # fmt: skip

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            rows = client_for(provider).get("/meetings/rows/").content.decode()
        assert "Visa ending 4242" in rows
        return len(captured)

    for n in range(2):
        paid_meeting_with_card(n)
    few = queries()
    for n in range(2, 20):
        paid_meeting_with_card(n)
    assert queries() == few


def test_a_charge_whose_send_never_finished_offers_retry_after_the_send_claim(frozen, paid_meeting, provider):
    card = SavedCard.objects.create(
        clinic=paid_meeting.clinic, subject=f"meeting:{paid_meeting.pk}", status=SavedCard.Status.SAVED,
        email="gina@example.com", stripe_customer_id="cus_lost", stripe_setup_intent_id="seti_lost",
        stripe_payment_method_id="pm_lost", brand="visa", last4="4242", created_at=timezone.now(),
    )  # fmt: skip
    hold(frozen, paid_meeting, provider)
    Payment.objects.create(
        clinic=paid_meeting.clinic,
        subject=card.subject,
        card=card,
        amount=6000,
        currency="usd",
        description="Video appointment",
        idempotency_key="charge:lost:1",
        created_at=timezone.now(),
        updated_at=timezone.now(),
    )  # fmt: skip
    # (stored, and its send task lost)
    part_url = f"{payment_url(paid_meeting)}part/"
    assert "data-retry" not in client_for(provider).get(part_url).content.decode()
    frozen.shift(timedelta(minutes=3))
    assert "data-retry" in client_for(provider).get(part_url).content.decode()


# --- Cancelling a charge that waits for the guest -------------------------------------------------


def test_the_host_cancels_a_charge_waiting_for_the_guest_and_may_charge_again(
    frozen, client, paid_meeting, provider, csr
):
    guest_saves_card(client, paid_meeting, number=NEEDS_AUTHENTICATION)
    hold(frozen, paid_meeting, provider)
    host = client_for(provider)
    charge(host, paid_meeting, "60.00")
    waiting = Payment.objects.get()
    assert waiting.status == PaymentStatus.NEEDS_AUTHENTICATION
    assert "data-cancel-charge" in host.get(f"{payment_url(paid_meeting)}part/").content.decode()
    # A CSR sees the payment but may not cancel it.
    assert "data-cancel-charge" not in client_for(csr).get(payment_url(paid_meeting)).content.decode()
    cancel = {"action": "cancel", "payment": waiting.pk}
    refused = client_for(csr).post(payment_url(paid_meeting), cancel)
    assert refused.status_code == 403
    waiting.refresh_from_db()
    assert waiting.status == PaymentStatus.NEEDS_AUTHENTICATION

    done = host.post(payment_url(paid_meeting), cancel, follow=True)
    page = unescape(done.content.decode())
    assert "Charge of $60.00 cancelled: you may charge again." in page
    waiting.refresh_from_db()
    assert waiting.status == PaymentStatus.CANCELED
    assert [pi["status"] for pi in stripe_payment_intents(waiting.card.stripe_customer_id)] == ["canceled"]
    assert MeetingEvent.objects.filter(meeting=paid_meeting, event="charge_cancel", user=provider).exists()
    assert 'name="amount"' in page and "data-cancel-charge" not in page

    again = host.post(payment_url(paid_meeting), cancel, follow=True)
    assert "This charge is already cancelled." in unescape(again.content.decode())
    assert charge(host, paid_meeting, "50.00").status_code == 302
    assert Payment.objects.order_by("-id").first().attempt == 2


def test_a_cancel_pressed_while_a_colleagues_is_under_way_is_told_and_records_nothing(
    frozen, client, paid_meeting, provider, clinic_admin
):
    """The clinic admin's cancel holds the charge's claim (its request is at Stripe): the host's
    press is told so, reaches no Stripe and records no MeetingEvent; once the claim is cleared the
    host's cancel goes through, recorded once, and the guest is emailed once."""
    guest_saves_card(client, paid_meeting, number=NEEDS_AUTHENTICATION)
    hold(frozen, paid_meeting, provider)
    host = client_for(provider)
    charge(host, paid_meeting, "60.00")
    waiting = Payment.objects.get()
    Payment.objects.filter(pk=waiting.pk).update(cancelling_since=timezone.now())
    cancel = {"action": "cancel", "payment": waiting.pk}

    told = host.post(payment_url(paid_meeting), cancel, follow=True)
    assert "This charge is already being cancelled." in unescape(told.content.decode())
    assert [pi["status"] for pi in stripe_payment_intents(waiting.card.stripe_customer_id)] == [
        "requires_action"
    ]
    assert not MeetingEvent.objects.filter(meeting=paid_meeting, event="charge_cancel").exists()

    Payment.objects.filter(pk=waiting.pk).update(cancelling_since=None)
    host.post(payment_url(paid_meeting), cancel)
    assert MeetingEvent.objects.filter(meeting=paid_meeting, event="charge_cancel").count() == 1
    cancelled = [m for m in mail.outbox if "cancelled its charge of $60.00" in m.subject]
    assert [m.to for m in cancelled] == [[paid_meeting.guest_email]]


def test_a_cancel_charge_button_left_open_cancels_only_the_charge_it_was_shown_for(
    frozen, client, paid_meeting, provider, clinic_admin
):
    """The host cancels and charges again; a clinic admin's page still shows the first charge's
    Cancel charge. Pressing it must not cancel the host's new charge."""
    guest_saves_card(client, paid_meeting, number=NEEDS_AUTHENTICATION)
    hold(frozen, paid_meeting, provider)
    host = client_for(provider)
    charge(host, paid_meeting, "60.00")
    first = Payment.objects.get()
    host.post(payment_url(paid_meeting), {"action": "cancel", "payment": first.pk})
    charge(host, paid_meeting, "50.00")
    second = Payment.objects.order_by("-id").first()
    assert second.status == PaymentStatus.NEEDS_AUTHENTICATION

    stale = client_for(clinic_admin).post(
        payment_url(paid_meeting), {"action": "cancel", "payment": first.pk}, follow=True
    )
    assert "This charge is already cancelled." in unescape(stale.content.decode())
    second.refresh_from_db()
    assert second.status == PaymentStatus.NEEDS_AUTHENTICATION


@pytest.mark.parametrize("which", [None, "", "x", "0", "99999999999", "-1"])
def test_a_cancel_naming_no_charge_or_another_meetings_is_refused_with_words(
    frozen, client, paid_meeting, provider, which
):
    guest_saves_card(client, paid_meeting, number=NEEDS_AUTHENTICATION)
    hold(frozen, paid_meeting, provider)
    host = client_for(provider)
    charge(host, paid_meeting, "60.00")
    data = {"action": "cancel"} if which is None else {"action": "cancel", "payment": which}
    answer = host.post(payment_url(paid_meeting), data, follow=True)
    assert answer.status_code == 200
    assert "Which charge? Reload the page and try again." in unescape(answer.content.decode())
    assert Payment.objects.get().status == PaymentStatus.NEEDS_AUTHENTICATION


def test_a_cancel_naming_a_charge_of_another_meeting_changes_nothing(frozen, client, paid_meeting, provider):
    guest_saves_card(client, paid_meeting, number=NEEDS_AUTHENTICATION)
    hold(frozen, paid_meeting, provider)
    host = client_for(provider)
    charge(host, paid_meeting, "60.00")
    waiting = Payment.objects.get()
    answer = host.post(
        payment_url(paid_meeting), {"action": "cancel", "payment": waiting.pk + 1}, follow=True
    )
    assert "This charge is not one of this meeting's." in unescape(answer.content.decode())
    waiting.refresh_from_db()
    assert waiting.status == PaymentStatus.NEEDS_AUTHENTICATION
