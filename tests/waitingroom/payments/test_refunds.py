"""Refunds: a clinic admin refunds a paid charge in full or in part, with a reason; never more than
is left; the client is emailed; a refund of a clinic's connected-account charge takes the money
back from that account and returns the platform's fee."""

from __future__ import annotations

import re

import pytest

from tests.support.stripe import local_api
from tests.waitingroom.payments.conftest import SUBJECT, stripe_answers
from waitingroom.outbox.models import EmailMessage
from waitingroom.payments import selectors, services
from waitingroom.payments.lifecycle import PaymentKind, PaymentStatus
from waitingroom.payments.models import Payment

pytestmark = pytest.mark.django_db


def refused(message: str):
    return pytest.raises(services.PaymentRefused, match=re.escape(message))


@pytest.fixture
def refund(provider, django_capture_on_commit_callbacks):
    def make(charge: Payment, amount: int, reason: str = "The call was cut short."):
        with django_capture_on_commit_callbacks(execute=True):
            made = services.refund_request(charge=charge, amount=amount, reason=reason, by=provider)
        made.refresh_from_db()
        return made

    return make


@pytest.fixture
def paid(save_card, charge):
    save_card(subject=SUBJECT)
    return charge(4500)


def test_a_full_refund_goes_back_to_the_card_and_the_client_gets_a_refund_receipt(
    paid, refund, heard, provider
):
    made = refund(paid, 4500, reason="Clinic cancelled  the\nsession.")

    assert made.kind == PaymentKind.REFUND and made.parent == paid and made.status == PaymentStatus.SUCCEEDED
    assert made.stripe_refund_id.startswith("re_") and made.created_by == provider
    assert made.reason == "Clinic cancelled the session." and made.idempotency_key == f"refund:{SUBJECT}:1:1"
    at_stripe = local_api("GET", f"/v1/refunds/{made.stripe_refund_id}")
    assert at_stripe["amount"] == 4500 and at_stripe["payment_intent"] == paid.stripe_payment_intent_id
    assert at_stripe["metadata"] == {
        "reason": "Clinic cancelled the session.",
        "payment": str(made.pk),
        "subject": SUBJECT,
        "clinic": str(paid.clinic_id),
    }
    assert [(what, kind, status) for what, kind, status, _ in heard[-2:]] == [
        ("started", "refund", "pending"),
        ("updated", "refund", "succeeded"),
    ]
    (email,) = EmailMessage.objects.filter(reference=f"payment-refund:{made.pk}")
    assert email.subject == "Clinic A refunded $45.00" and email.to == ["rosa@example.test"]
    assert "Reason: Clinic cancelled the session." in email.body
    assert selectors.refundable_amount(charge=paid) == 0
    assert selectors.status_text(made) == "Refunded $45.00"


def test_partial_refunds_add_up_to_the_charge_and_no_more(paid, refund):
    first = refund(paid, 1000)
    assert first.status == PaymentStatus.SUCCEEDED
    assert selectors.refundable_amount(charge=paid) == 3500
    with refused("At most $35.00 of this charge can be refunded."):
        refund(paid, 3501)
    second = refund(paid, 3500)
    assert second.idempotency_key == f"refund:{SUBJECT}:1:2"
    with refused("This charge is refunded in full already."):
        refund(paid, 1)
    assert Payment.objects.filter(kind=PaymentKind.REFUND).count() == 2
    assert (
        sum(
            r["amount"]
            for r in local_api("GET", f"/v1/refunds?payment_intent={paid.stripe_payment_intent_id}")["data"]
        )
        == 4500
    )


@pytest.mark.parametrize(
    ("amount", "reason", "message"),
    [
        (0, "Cut short", "Enter an amount above zero."),
        (-5, "Cut short", "Enter an amount above zero."),
        (100, "   ", "Give a reason for the refund."),
        (100, "x" * 301, "Keep the reason under 300 characters."),
    ],
)
def test_a_refund_with_a_bad_amount_or_no_reason_is_refused(paid, refund, amount, reason, message):
    with refused(message):
        refund(paid, amount, reason=reason)
    assert not Payment.objects.filter(kind=PaymentKind.REFUND).exists()


def test_only_a_paid_charge_is_refunded(save_card, charge, refund):
    from tests.waitingroom.payments import cards

    save_card(cards.DECLINED_AT_CHARGE, subject=SUBJECT)
    failed = charge(4500)
    with refused("Only a paid charge can be refunded."):
        refund(failed, 100)


def test_a_refund_of_a_connected_accounts_charge_reverses_the_transfer_and_the_fee(
    card_row, charge, refund, clinic_a, fake_stripe, settings
):
    clinic_a.stripe_account_id = "acct_1ClinicA"
    clinic_a.save(update_fields=["stripe_account_id"])
    settings.PAYMENTS_PLATFORM_FEE_BPS = 250
    card_row()
    fake_stripe.default = stripe_answers
    paid = charge(4500)
    made = refund(paid, 2000)

    (request,) = fake_stripe.posts("/v1/refunds")
    assert request.params["payment_intent"] == "pi_fake1" and request.params["amount"] == "2000"
    assert request.params["reverse_transfer"] == "true" and request.params["refund_application_fee"] == "true"
    assert request.params["metadata[reason]"] == "The call was cut short."
    assert request.headers["Idempotency-Key"] == made.idempotency_key
    assert made.destination_account == "acct_1ClinicA" and made.status == PaymentStatus.SUCCEEDED


def test_a_refund_of_the_platforms_charge_sends_no_connect_parameters(card_row, charge, refund, fake_stripe):
    card_row()
    fake_stripe.default = stripe_answers
    refund(charge(4500), 2000)
    (request,) = fake_stripe.posts("/v1/refunds")
    assert "reverse_transfer" not in request.params and "refund_application_fee" not in request.params


def test_stripe_unreachable_leaves_the_refund_pending_and_counted_until_retried(
    card_row, charge, refund, fake_stripe, provider, django_capture_on_commit_callbacks
):
    card_row()
    fake_stripe.default = stripe_answers
    paid = charge(4500)
    fake_stripe.fail = 3
    made = refund(paid, 4500)
    assert made.status == PaymentStatus.PENDING
    assert made.failure_message == "Stripe could not be reached; the refund was not made yet. Try again."
    with refused("This charge is refunded in full already."):
        refund(paid, 1)  # the pending refund holds its amount
    with django_capture_on_commit_callbacks(execute=True):
        services.charge_retry(payment=made, by=provider)
    made.refresh_from_db()
    assert made.status == PaymentStatus.SUCCEEDED
    assert {r.headers["Idempotency-Key"] for r in fake_stripe.posts("/v1/refunds")} == {made.idempotency_key}


def test_a_refund_stripe_answers_pending_waits_for_its_event(card_row, charge, refund, fake_stripe):
    card_row()
    fake_stripe.default = stripe_answers
    paid = charge(4500)
    from tests.waitingroom.payments.conftest import refund_answer

    fake_stripe.default = lambda request: refund_answer(request, status="pending")
    made = refund(paid, 4500)
    assert made.status == PaymentStatus.PENDING and made.stripe_refund_id == "re_fake1"
    assert not EmailMessage.objects.filter(reference=f"payment-refund:{made.pk}").exists()
    changed = services.event_apply(
        event_id="evt_refund_done",
        event_type="refund.updated",
        obj={
            "id": "re_fake1",
            "object": "refund",
            "status": "succeeded",
            "payment_intent": "pi_fake1",
            "metadata": {"payment": str(made.pk)},
        },
    )
    assert changed is True
    made.refresh_from_db()
    assert made.status == PaymentStatus.SUCCEEDED
    assert EmailMessage.objects.filter(reference=f"payment-refund:{made.pk}").exists()
