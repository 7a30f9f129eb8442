"""Charging a saved card after the consultation: the expert's amount is checked against the price,
one press (or two, or a task run twice) makes one PaymentIntent, and each of Stripe's answers
(paid, declined, needs the client's authentication, unreachable) leaves a consistent record, a
plain-words message, and what the subject's app hears."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from tests.support.stripe import local_api
from tests.waitingroom.payments import cards
from tests.waitingroom.payments.conftest import SUBJECT, intent_answer, stripe_answers
from waitingroom.outbox.models import EmailMessage
from waitingroom.payments import selectors, services, tasks
from waitingroom.payments.lifecycle import PaymentStatus
from waitingroom.payments.models import Payment

pytestmark = pytest.mark.django_db


def refused(message: str):
    return pytest.raises(services.PaymentRefused, match=re.escape(message))


def intents_for(payment: Payment) -> list[dict]:
    listed = local_api("GET", "/v1/payment_intents?limit=100")["data"]
    return [
        pi
        for pi in listed
        if pi["metadata"].get("subject") == payment.subject
        and pi["metadata"].get("payment") == str(payment.pk)
    ]


def test_a_charge_makes_one_payment_intent_for_the_clinic_and_emails_a_receipt(
    save_card, charge, heard, clinic_a
):
    card = save_card(subject=SUBJECT)
    payment = charge(4500)

    assert payment.status == PaymentStatus.SUCCEEDED and payment.succeeded_at is not None
    (intent,) = intents_for(payment)
    assert intent["id"] == payment.stripe_payment_intent_id
    assert (intent["amount"], intent["currency"], intent["customer"]) == (
        4500,
        "usd",
        card.stripe_customer_id,
    )
    assert intent["payment_method"] == card.stripe_payment_method_id
    assert intent["metadata"] == {"payment": str(payment.pk), "subject": SUBJECT, "clinic": str(clinic_a.pk)}
    assert payment.stripe_charge_id.startswith("ch_")
    assert payment.idempotency_key == f"charge:{SUBJECT}:1" and payment.attempt == 1
    assert payment.destination_account == "" and payment.application_fee_amount is None
    assert [(what, status) for what, _kind, status, _atomic in heard] == [
        ("started", "pending"),
        ("updated", "succeeded"),
    ]
    assert all(inside for *_, inside in heard)  # told inside the transaction that made the change

    (receipt,) = EmailMessage.objects.filter(reference=f"payment-receipt:{payment.pk}")
    assert receipt.to == ["rosa@example.test"]
    assert receipt.subject == "Your receipt from Clinic A: $45.00"
    assert "Clinic A charged $45.00 to your Visa ending 4242." in receipt.body
    assert "Phone consultation: Medication review, 7 Dec 2026" in receipt.body
    assert payment.receipt_sent_at is not None
    assert selectors.status_text(payment) == "Paid $45.00"


def test_a_lower_amount_than_the_price_may_be_charged(save_card, charge):
    save_card(subject=SUBJECT)
    payment = charge(3000)
    assert payment.status == PaymentStatus.SUCCEEDED
    assert intents_for(payment)[0]["amount"] == 3000


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        (4501, "The amount can't be more than the price, $45.00."),
        (0, "Enter an amount above zero."),
        (-100, "Enter an amount above zero."),
    ],
)
def test_an_amount_above_the_price_or_not_above_zero_is_refused(
    card_row, charge, fake_stripe, heard, amount, message
):
    card_row()
    with refused(message):
        charge(amount)
    assert not Payment.objects.exists() and fake_stripe.requests == [] and heard == []


def test_no_saved_card_means_no_charge(charge, fake_stripe):
    with refused("The client saved no card for this consultation, so it can't be charged."):
        charge(4500)
    assert not Payment.objects.exists() and fake_stripe.requests == []


def test_another_clinics_card_is_not_charged(card_row, charge, clinic_b, fake_stripe):
    card_row(clinic=clinic_b)
    with refused("The client saved no card for this consultation"):
        charge(4500)


def test_payments_turned_off_charge_nothing(card_row, charge, settings, fake_stripe):
    card_row()
    settings.PAYMENTS_ENABLED = False
    with refused("Card payments are turned off here, so nothing was charged."):
        charge(4500)
    assert fake_stripe.requests == []


def test_pressing_charge_twice_makes_one_payment_intent(save_card, charge):
    save_card(subject=SUBJECT)
    payment = charge(4500)
    with refused("This consultation is already being charged or paid, so nothing more was charged."):
        charge(4500)
    assert Payment.objects.filter(subject=SUBJECT).count() == 1
    assert len(intents_for(payment)) == 1


def test_a_declined_card_fails_with_the_reason_and_a_new_attempt_is_allowed(save_card, charge, heard):
    save_card(cards.DECLINED_AT_CHARGE, subject=SUBJECT)
    first = charge(4500)
    assert first.status == PaymentStatus.FAILED
    assert (first.failure_code, first.failure_message) == ("card_declined", "Your card was declined.")
    assert first.stripe_charge_id.startswith("ch_")
    assert heard[-1][:3] == ("updated", "charge", "failed")
    assert selectors.status_text(first) == "Charge failed: Your card was declined."
    assert not EmailMessage.objects.exists()

    second = charge(4500)  # the failed charge does not hold the consultation
    assert (second.attempt, second.idempotency_key) == (2, f"charge:{SUBJECT}:2")
    assert selectors.current_charge(subject=SUBJECT) == second


def test_a_charge_the_bank_wants_confirmed_emails_the_client_a_link_and_succeeds_once_they_do(
    save_card, charge, heard, settings
):
    save_card(cards.NEEDS_AUTHENTICATION, subject=SUBJECT)
    payment = charge(4500)
    assert payment.status == PaymentStatus.NEEDS_AUTHENTICATION
    assert payment.failure_code == "" and payment.stripe_payment_intent_id.startswith("pi_")
    assert heard[-1][:3] == ("updated", "charge", "needs_authentication")

    (email,) = EmailMessage.objects.filter(reference=f"payment-confirm:{payment.pk}")
    link = f"{settings.PUBLIC_BASE_URL}/pay/{payment.client_token}/"
    assert link in email.body and link in email.html_body
    assert email.subject == "Please confirm your payment of $45.00 to Clinic A"

    # The client's page: Stripe.js confirms it with the client secret read from Stripe.
    secret = services.client_secret(payment=payment)
    status, body = cards.authenticate_payment(secret)
    assert status == 200 and body["status"] == "succeeded"
    payment = services.client_confirmed(payment=payment)
    assert payment.status == PaymentStatus.SUCCEEDED
    assert EmailMessage.objects.filter(reference=f"payment-receipt:{payment.pk}").count() == 1
    # The page posted twice (or an event came too): one receipt, no move.
    services.client_confirmed(payment=payment)
    assert EmailMessage.objects.filter(reference__startswith="payment-receipt:").count() == 1
    assert len(intents_for(payment)) == 1


def test_a_client_who_fails_the_banks_check_leaves_the_charge_failed(save_card, charge):
    save_card(cards.NEEDS_AUTHENTICATION, subject=SUBJECT)
    payment = charge(4500)
    cards.authenticate_payment(services.client_secret(payment=payment), success=False)
    payment = services.client_confirmed(payment=payment)
    assert payment.status == PaymentStatus.FAILED
    assert payment.failure_message == "The payment was not confirmed with your bank."


def test_stripe_unreachable_leaves_the_charge_pending_and_a_retry_sends_the_same_key(
    card_row, charge, fake_stripe, heard, provider, django_capture_on_commit_callbacks
):
    card_row()
    fake_stripe.fail = 3  # the first request and the SDK's two retries
    fake_stripe.default = stripe_answers
    payment = charge(4500)

    assert payment.status == PaymentStatus.PENDING and payment.sending_since is None
    assert payment.failure_message == "Stripe could not be reached; the charge was not made yet. Try again."
    assert heard[-1][:3] == ("updated", "charge", "pending")
    assert selectors.status_text(payment) == (
        "$45.00 not charged yet: Stripe could not be reached; the charge was not made yet. Try again."
    )
    with refused("This consultation is already being charged or paid"):
        charge(4500)  # a pending charge holds the consultation: Retry, not Charge

    with django_capture_on_commit_callbacks(execute=True):
        services.charge_retry(payment=payment, by=provider)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED and payment.failure_message == ""
    sent = fake_stripe.posts("/v1/payment_intents")
    assert len(sent) == 4
    assert {r.headers.get("Idempotency-Key") for r in sent} == {payment.idempotency_key}
    with refused("This payment is not waiting to be sent again."):
        services.charge_retry(payment=payment, by=provider)


def test_the_send_task_run_twice_makes_one_request(card_row, charge, fake_stripe):
    card_row()
    fake_stripe.default = stripe_answers
    payment = charge(4500)
    tasks.payments_charge_send(payment.pk)
    tasks.payments_charge_send(payment.pk)
    assert len(fake_stripe.posts("/v1/payment_intents")) == 1


def test_a_send_under_way_is_not_sent_again_by_a_second_task(card_row, clinic_a, provider, fake_stripe):
    card_row()
    fake_stripe.default = stripe_answers
    payment = services.charge_request(
        clinic=clinic_a, subject=SUBJECT, amount=4500, price=4500, description="x", by=provider
    )  # not committed: the task has not run
    from django.utils import timezone

    Payment.objects.filter(pk=payment.pk).update(sending_since=timezone.now())  # another worker sends it
    services.charge_send(payment_id=payment.pk)
    assert fake_stripe.requests == []
    with refused("This payment is not waiting to be sent again."):
        services.charge_retry(payment=payment, by=provider)


def test_a_refused_request_fails_with_stripes_words(card_row, charge, fake_stripe):
    card_row()
    fake_stripe.responses = [
        (
            400,
            {
                "error": {
                    "type": "invalid_request_error",
                    "message": "No such customer: 'cus_fake'",
                    "code": "resource_missing",
                }
            },
        )
    ]
    payment = charge(4500)
    assert payment.status == PaymentStatus.FAILED
    assert payment.failure_message == "Stripe refused it: No such customer: 'cus_fake'"


def test_stripes_authentication_required_error_is_waiting_for_the_client(card_row, charge, fake_stripe):
    """Stripe (unlike localstripe) answers an off-session charge that needs authentication with a
    402 naming the intent, left requires_payment_method."""
    card_row()
    intent = {
        "id": "pi_auth",
        "object": "payment_intent",
        "status": "requires_payment_method",
        "latest_charge": "ch_auth",
    }
    fake_stripe.responses = [
        (
            402,
            {
                "error": {
                    "type": "card_error",
                    "code": "authentication_required",
                    "message": "This payment requires authentication.",
                    "payment_intent": intent,
                }
            },
        )
    ]
    payment = charge(4500)
    assert payment.status == PaymentStatus.NEEDS_AUTHENTICATION
    assert payment.stripe_payment_intent_id == "pi_auth"
    assert EmailMessage.objects.filter(reference=f"payment-confirm:{payment.pk}").exists()


@pytest.mark.parametrize(
    ("code", "decline_code", "message"),
    [
        ("expired_card", None, "Your card has expired."),
        ("card_declined", "insufficient_funds", "Your card has insufficient funds."),
        ("card_declined", "generic_decline", "Your card was declined."),
    ],
)
def test_card_errors_are_said_in_plain_words(card_row, charge, fake_stripe, code, decline_code, message):
    card_row()
    error = {"type": "card_error", "code": code, "message": "Stripe's words", "charge": "ch_x"}
    if decline_code:
        error["decline_code"] = decline_code
    fake_stripe.responses = [(402, {"error": error})]
    payment = charge(4500)
    assert (payment.status, payment.failure_message) == (PaymentStatus.FAILED, message)


# --- Connect: a clinic's own Stripe account ------------------------------------------------------


def test_a_clinics_connected_account_gets_the_charge_less_the_platform_fee(
    card_row, charge, clinic_a, fake_stripe, settings
):
    clinic_a.stripe_account_id = "acct_1ClinicA"
    clinic_a.save(update_fields=["stripe_account_id"])
    settings.PAYMENTS_PLATFORM_FEE_BPS = 250
    card_row()
    fake_stripe.default = stripe_answers
    payment = charge(4500)

    (request,) = fake_stripe.posts("/v1/payment_intents")
    assert request.params["transfer_data[destination]"] == "acct_1ClinicA"
    assert request.params["application_fee_amount"] == "112"  # 2.5 % of $45.00, rounded down
    assert request.params["off_session"] == "true" and request.params["confirm"] == "true"
    assert request.params["metadata[payment]"] == str(payment.pk)
    assert request.headers["Idempotency-Key"] == f"charge:{SUBJECT}:1"
    assert (payment.destination_account, payment.application_fee_amount) == ("acct_1ClinicA", 112)
    assert payment.status == PaymentStatus.SUCCEEDED


def test_without_a_platform_fee_the_connected_account_gets_it_all(
    card_row, charge, clinic_a, fake_stripe, settings
):
    clinic_a.stripe_account_id = "acct_1ClinicA"
    clinic_a.save(update_fields=["stripe_account_id"])
    settings.PAYMENTS_PLATFORM_FEE_BPS = 0
    card_row()
    fake_stripe.default = stripe_answers
    payment = charge(4500)
    (request,) = fake_stripe.posts("/v1/payment_intents")
    assert request.params["transfer_data[destination]"] == "acct_1ClinicA"
    assert "application_fee_amount" not in request.params
    assert payment.application_fee_amount is None


def test_without_a_connected_account_the_platform_takes_the_charge(card_row, charge, fake_stripe, settings):
    settings.PAYMENTS_PLATFORM_FEE_BPS = 250
    card_row()
    fake_stripe.default = stripe_answers
    charge(4500)
    (request,) = fake_stripe.posts("/v1/payment_intents")
    assert not [key for key in request.params if key.startswith(("transfer_data", "application_fee"))]
    assert urlsplit(request.url).path == "/v1/payment_intents"


def test_an_answer_for_another_intent_changes_nothing(card_row, charge, fake_stripe):
    card_row()
    fake_stripe.default = lambda request: intent_answer(request, status="requires_action")
    payment = charge(4500)
    assert payment.status == PaymentStatus.NEEDS_AUTHENTICATION
    fake_stripe.default = lambda request: intent_answer(request, id="pi_other")
    assert services.client_confirmed(payment=payment).status == PaymentStatus.NEEDS_AUTHENTICATION


# --- Sends that never happened -------------------------------------------------------------------


def test_a_charge_whose_send_was_lost_is_sent_again_by_the_sweep_once(
    card_row, clinic_a, provider, fake_stripe, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    card_row()
    fake_stripe.default = stripe_answers
    lost = services.charge_request(
        clinic=clinic_a, subject=SUBJECT, amount=4500, price=4500, description="x", by=provider
    )
    # Its task message was lost: nothing was sent, and nobody is sending it.
    Payment.objects.filter(pk=lost.pk).update(updated_at=timezone.now() - timedelta(minutes=3))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.sends_sweep(now=timezone.now()) == 1
    lost.refresh_from_db()
    assert lost.status == PaymentStatus.SUCCEEDED
    assert len(fake_stripe.posts("/v1/payment_intents")) == 1
    assert services.sends_sweep(now=timezone.now()) == 0


def test_the_sweep_leaves_sends_under_way_recent_ones_and_those_waiting_for_a_person(
    card_row, clinic_a, provider, fake_stripe
):
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    for n, fields in enumerate(
        [
            {"updated_at": now},  # just stored: its task is on its way
            {"updated_at": now - timedelta(minutes=3), "sending_since": now - timedelta(seconds=30)},
            {"updated_at": now - timedelta(minutes=3), "failure_message": services.UNREACHABLE},
            {"updated_at": now - timedelta(hours=30), "created_at": now - timedelta(hours=30)},
        ]
    ):
        subject = f"consultation:{70 + n}"
        card_row(subject=subject)
        payment = services.charge_request(
            clinic=clinic_a, subject=subject, amount=100, price=100, description="x", by=provider
        )
        Payment.objects.filter(pk=payment.pk).update(**fields)
    assert services.sends_sweep(now=now) == 0
    assert fake_stripe.requests == []


def test_a_send_that_never_finished_may_be_retried(
    card_row, clinic_a, provider, fake_stripe, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    card_row()
    fake_stripe.default = stripe_answers
    payment = services.charge_request(
        clinic=clinic_a, subject=SUBJECT, amount=4500, price=4500, description="x", by=provider
    )
    with refused("This payment is not waiting to be sent again."):
        services.charge_retry(payment=payment, by=provider)  # its task is on its way
    old = timezone.now() - timedelta(minutes=3)
    Payment.objects.filter(pk=payment.pk).update(updated_at=old, sending_since=old)  # its worker died
    with django_capture_on_commit_callbacks(execute=True):
        services.charge_retry(payment=payment, by=provider)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED


def test_a_charge_names_the_card_so_neither_stripe_nor_localstripe_needs_a_return_url(
    card_row, charge, fake_stripe
):
    card_row()
    fake_stripe.default = stripe_answers
    charge(4500)
    (request,) = fake_stripe.posts("/v1/payment_intents")
    assert request.params["payment_method_types[0]"] == "card"
    assert "return_url" not in request.params


def test_a_charge_sent_again_after_the_clinics_account_and_fee_changed_is_the_same_request(
    card_row, charge, clinic_a, fake_stripe, provider, settings, django_capture_on_commit_callbacks
):
    """Stripe refuses an idempotency key reused with other parameters: a resend must repeat the
    first request, whatever a superuser changed meanwhile."""
    clinic_a.stripe_account_id = "acct_1ClinicA"
    clinic_a.save(update_fields=["stripe_account_id"])
    settings.PAYMENTS_PLATFORM_FEE_BPS = 250
    card_row()
    fake_stripe.fail = 3  # the first send is lost
    fake_stripe.default = stripe_answers
    payment = charge(4500)
    assert payment.status == PaymentStatus.PENDING

    clinic_a.stripe_account_id = "acct_1Other"
    clinic_a.save(update_fields=["stripe_account_id"])
    settings.PAYMENTS_PLATFORM_FEE_BPS = 500
    with django_capture_on_commit_callbacks(execute=True):
        services.charge_retry(payment=payment, by=provider)

    first, *_, last = fake_stripe.posts("/v1/payment_intents")
    assert last.params == first.params
    assert last.headers["Idempotency-Key"] == first.headers["Idempotency-Key"]
    assert (last.params["transfer_data[destination]"], last.params["application_fee_amount"]) == (
        "acct_1ClinicA",
        "112",
    )
