"""Cancelling a charge that waits for the client's bank confirmation (needs_authentication): staff
who may charge cancel the PaymentIntent at Stripe, the charge moves forward to cancelled under its
row lock, its subject hears of it, the client's page says so, and a new charge may be asked for. A
cancel racing the client's confirmation ends in whichever Stripe applied first; a bad or repeated
cancel is refused and changes nothing."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.support.stripe import event_payload, local_api, stripe_signature
from tests.waitingroom.payments import cards
from tests.waitingroom.payments.conftest import SUBJECT, intent_answer
from waitingroom.outbox.models import EmailMessage
from waitingroom.payments import services
from waitingroom.payments.lifecycle import PaymentStatus
from waitingroom.payments.models import Payment

pytestmark = pytest.mark.django_db


def snapshot(payment: Payment) -> tuple:
    payment.refresh_from_db()
    return (payment.status, payment.updated_at, payment.failure_message, payment.stripe_payment_intent_id)


def test_staff_cancel_a_waiting_charge_at_stripe_and_the_subject_hears_it(waiting, provider, heard):
    heard.clear()
    cancelled = services.charge_cancel(payment=waiting, by=provider)
    assert cancelled.status == PaymentStatus.CANCELED
    intent = local_api("GET", f"/v1/payment_intents/{waiting.stripe_payment_intent_id}")
    assert intent["status"] == "canceled"
    assert heard == [("updated", "charge", PaymentStatus.CANCELED, True)]


def test_after_a_cancel_a_new_charge_may_be_asked_for(waiting, provider, charge):
    services.charge_cancel(payment=waiting, by=provider)
    second = charge(4000)
    assert (second.attempt, second.amount) == (2, 4000)
    assert second.status == PaymentStatus.NEEDS_AUTHENTICATION  # the same card asks again
    assert Payment.objects.get(pk=waiting.pk).status == PaymentStatus.CANCELED


def test_a_repeated_cancel_is_refused_and_changes_nothing(waiting, provider, heard):
    services.charge_cancel(payment=waiting, by=provider)
    before = snapshot(waiting)
    heard.clear()
    with pytest.raises(services.PaymentRefused, match=r"This charge is already cancelled\."):
        services.charge_cancel(payment=waiting, by=provider)
    assert snapshot(waiting) == before and heard == []


def test_a_paid_or_refund_payment_is_not_cancelled(save_card, charge, provider, heard):
    save_card(subject=SUBJECT)
    paid = charge(4500)
    assert paid.status == PaymentStatus.SUCCEEDED
    before = snapshot(paid)
    heard.clear()
    with pytest.raises(services.PaymentRefused, match="Only a charge waiting for the client"):
        services.charge_cancel(payment=paid, by=provider)
    assert snapshot(paid) == before and heard == []
    assert local_api("GET", f"/v1/payment_intents/{paid.stripe_payment_intent_id}")["status"] == "succeeded"
    refund = services.refund_request(charge=paid, amount=1000, reason="Short call", by=provider)
    before = snapshot(refund)
    heard.clear()
    with pytest.raises(services.PaymentRefused, match="A refund can't be cancelled here"):
        services.charge_cancel(payment=refund, by=provider)
    assert snapshot(refund) == before and heard == []


def test_the_client_confirming_first_leaves_it_paid_and_the_cancel_says_so(waiting, provider):
    # The client finished the bank's check at Stripe; our row has not heard yet.
    cards.authenticate_payment(services.client_secret(payment=waiting))
    with pytest.raises(services.PaymentRefused, match="The client confirmed the payment before"):
        services.charge_cancel(payment=waiting, by=provider)
    waiting.refresh_from_db()
    assert waiting.status == PaymentStatus.SUCCEEDED
    assert EmailMessage.objects.filter(reference=f"payment-receipt:{waiting.pk}").count() == 1


def test_the_clients_confirmation_after_a_cancel_leaves_it_cancelled(waiting, provider):
    secret = services.client_secret(payment=waiting)
    services.charge_cancel(payment=waiting, by=provider)
    # The client's page was open: Stripe refuses its confirmation, and the read-back applies forward.
    cards.authenticate_payment(secret)
    response = Client().post(reverse("payments_pay_confirmed", args=[waiting.client_token]), follow=True)
    assert (
        "The clinic cancelled this charge, so nothing was taken from your card." in response.content.decode()
    )
    waiting.refresh_from_db()
    assert waiting.status == PaymentStatus.CANCELED
    # A late requires_action event (sent before the cancel) does not move it back.
    payload = event_payload(
        "payment_intent.requires_action",
        {
            "id": waiting.stripe_payment_intent_id,
            "object": "payment_intent",
            "status": "requires_action",
            "metadata": {"payment": str(waiting.pk), "subject": waiting.subject},
        },
    )
    answer = Client().post(
        "/stripe/webhook/",
        payload,
        content_type="application/json",
        headers={"Stripe-Signature": stripe_signature(payload)},
    )
    assert answer.status_code == 200
    waiting.refresh_from_db()
    assert waiting.status == PaymentStatus.CANCELED
    assert not EmailMessage.objects.filter(reference=f"payment-receipt:{waiting.pk}").exists()


def test_the_clients_page_says_the_charge_was_cancelled_with_no_card_form(waiting, provider):
    services.charge_cancel(payment=waiting, by=provider)
    html = Client().get(reverse("payments_pay", args=[waiting.client_token])).content.decode()
    assert "The charge of $45.00 was cancelled" in html
    assert "Clinic A cancelled this charge: nothing was taken from your card" in html
    assert "data-pay-form" not in html and "Confirm payment" not in html and "data-client-secret" not in html


def test_stripe_unreachable_refuses_the_cancel_and_changes_nothing(card_row, charge, provider, fake_stripe):
    card_row()
    fake_stripe.default = lambda request: intent_answer(request, status="requires_action")
    waiting = charge(4500)
    assert waiting.status == PaymentStatus.NEEDS_AUTHENTICATION
    before = snapshot(waiting)
    fake_stripe.fail = 3  # the request and the SDK's two retries
    with pytest.raises(
        services.PaymentRefused, match="Stripe could not be reached, so the charge was not cancelled"
    ):
        services.charge_cancel(payment=waiting, by=provider)
    assert snapshot(waiting) == before
    cancels = fake_stripe.posts("/v1/payment_intents/pi_fake1/cancel")
    assert len(cancels) == 3
    # The SDK's retries carry one key, ours: Stripe applies the cancel once.
    assert {r.headers.get("Idempotency-Key") for r in cancels} == {f"cancel:{waiting.idempotency_key}"}


def test_a_cancel_whose_event_arrives_before_its_answer_is_still_a_success(
    card_row, charge, provider, fake_stripe
):
    card_row()
    fake_stripe.default = lambda request: intent_answer(request, status="requires_action")
    waiting = charge(4500)

    def cancel_answer(request):
        _, cancelled = intent_answer(request, status="canceled", amount=4500)
        # Stripe's payment_intent.canceled reaches the webhook before the answer reaches us.
        assert services.event_apply(
            event_id="evt_cancel_first", event_type="payment_intent.canceled", obj=cancelled
        )
        return 200, cancelled

    fake_stripe.default = cancel_answer
    assert services.charge_cancel(payment=waiting, by=provider).status == PaymentStatus.CANCELED


# --- One cancel at a time (the claim) ----------------------------------------------------------------


def test_a_press_while_a_cancel_is_under_way_is_told_and_changes_nothing(waiting, provider, heard):
    from django.utils import timezone

    Payment.objects.filter(pk=waiting.pk).update(cancelling_since=timezone.now())
    before = snapshot(waiting)
    heard.clear()
    with pytest.raises(services.PaymentRefused, match=r"^This charge is already being cancelled\.$"):
        services.charge_cancel(payment=waiting, by=provider)
    assert snapshot(waiting) == before and heard == []
    intent = local_api("GET", f"/v1/payment_intents/{waiting.stripe_payment_intent_id}")
    assert intent["status"] == "requires_action"  # never sent to Stripe
    assert not EmailMessage.objects.filter(reference=f"payment-cancelled:{waiting.pk}").exists()


def test_a_cancel_claim_left_by_a_process_that_died_is_taken_over_after_the_claim_time(waiting, provider):
    from django.utils import timezone

    stale = timezone.now() - services.CANCEL_CLAIM - timezone.timedelta(seconds=1)
    Payment.objects.filter(pk=waiting.pk).update(cancelling_since=stale)
    assert services.charge_cancel(payment=waiting, by=provider).status == PaymentStatus.CANCELED
    waiting.refresh_from_db()
    assert waiting.cancelling_since is None


def test_a_cancel_stripe_could_not_be_reached_for_clears_its_claim_so_a_later_one_goes_through(
    card_row, charge, provider, fake_stripe
):
    card_row()
    fake_stripe.default = lambda request: intent_answer(request, status="requires_action")
    waiting = charge(4500)
    fake_stripe.fail = 3  # the request and the SDK's two retries
    with pytest.raises(services.PaymentRefused, match="Stripe could not be reached"):
        services.charge_cancel(payment=waiting, by=provider)
    waiting.refresh_from_db()
    assert waiting.cancelling_since is None and waiting.status == PaymentStatus.NEEDS_AUTHENTICATION
    fake_stripe.default = lambda request: intent_answer(request, status="canceled", amount=4500)
    assert services.charge_cancel(payment=waiting, by=provider).status == PaymentStatus.CANCELED
    assert len(fake_stripe.posts("/v1/payment_intents/pi_fake1/cancel")) == 4


# --- The client's email ------------------------------------------------------------------------------


def test_the_client_is_emailed_once_after_commit_that_nothing_was_taken_and_the_link_asks_nothing(
    waiting, provider, django_capture_on_commit_callbacks
):
    from django.core import mail
    from django.utils import timezone

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=False) as on_commit:
        services.charge_cancel(payment=waiting, by=provider)
    assert mail.outbox == []  # stored in the outbox; sent only once the cancel commits
    (email,) = EmailMessage.objects.filter(reference=f"payment-cancelled:{waiting.pk}")
    waiting.refresh_from_db()
    # The cancel's time in Clinic A's zone (New York), named as the receipts name it.
    local = timezone.localtime(waiting.updated_at, waiting.clinic.tzinfo)
    when = f"{local.day} {local:%b %Y, %H:%M %Z}"
    assert when.endswith(("EST", "EDT"))
    assert email.to == ["rosa@example.test"]
    assert email.subject == "Clinic A cancelled its charge of $45.00: nothing was taken"
    for fact in (
        "Hello Rosa Client,",
        "Clinic A cancelled the charge of $45.00 to your Visa ending 3155 for "
        "Phone consultation: Medication review, 7 Dec 2026, which your bank had asked you to confirm.",
        "Nothing was taken from your card",
        "the link we sent you to confirm this payment no longer asks for anything",
        f"Cancelled: {when}",
        f"Reference: CHARGE-{waiting.pk}",
        "contact Clinic A",
    ):
        assert fact in email.body, fact
    assert "Nothing was taken from your card" in email.html_body and when in email.html_body
    for callback in on_commit:
        callback()
    (sent,) = [m for m in mail.outbox if m.subject.startswith("Clinic A cancelled")]
    assert sent.to == ["rosa@example.test"]

    # A repeated cancel, and Stripe's payment_intent.canceled event for it, send no second one.
    with pytest.raises(services.PaymentRefused, match=r"This charge is already cancelled\."):
        services.charge_cancel(payment=waiting, by=provider)
    intent = local_api("GET", f"/v1/payment_intents/{waiting.stripe_payment_intent_id}")
    assert not services.event_apply(
        event_id="evt_cancelled_late", event_type="payment_intent.canceled", obj=intent
    )
    assert (
        EmailMessage.objects.filter(to__contains=["rosa@example.test"])
        .exclude(reference__startswith="payment-confirm:")
        .count()
        == 1
    )


def test_a_charge_cancelled_before_it_waited_for_the_client_sends_no_cancel_email(
    card_row, charge, fake_stripe
):
    card_row()
    fake_stripe.default = lambda request: intent_answer(request, status="processing")
    pending = charge(4500)
    assert pending.status == PaymentStatus.PENDING
    cancelled = {"id": "pi_fake1", "object": "payment_intent", "status": "canceled", "metadata": {}}
    assert services.event_apply(
        event_id="evt_pending_cancelled", event_type="payment_intent.canceled", obj=cancelled
    )
    assert Payment.objects.get(pk=pending.pk).status == PaymentStatus.CANCELED
    assert not EmailMessage.objects.filter(reference=f"payment-cancelled:{pending.pk}").exists()
