"""Stripe's webhook: only a correctly signed, fresh event is read; it is kept once by its id and
moves the payment it names forward only, so a repeated or late event changes nothing."""

from __future__ import annotations

import json
import time

import pytest
from django.test import Client
from django.utils import timezone

from tests.support.stripe import event_payload, stripe_signature
from tests.waitingroom.payments.conftest import SUBJECT, stripe_answers
from waitingroom.outbox.models import EmailMessage
from waitingroom.payments.lifecycle import PaymentStatus
from waitingroom.payments.models import Payment, StripeEvent

pytestmark = pytest.mark.django_db

URL = "/stripe/webhook/"


def post(payload: bytes, signature: str | None = None) -> int:
    headers = {} if signature is None else {"Stripe-Signature": signature}
    return Client().post(URL, payload, content_type="application/json", headers=headers).status_code


def send(event_type: str, obj: dict, *, event_id: str | None = None) -> int:
    payload = event_payload(event_type, obj, event_id=event_id)
    return post(payload, stripe_signature(payload))


@pytest.fixture
def waiting(card_row, charge, fake_stripe):
    """A charge the bank wants the client to confirm (Stripe answered requires_action)."""
    from tests.waitingroom.payments.conftest import intent_answer

    card_row()
    fake_stripe.default = lambda request: intent_answer(request, status="requires_action")
    payment = charge(4500)
    assert payment.status == PaymentStatus.NEEDS_AUTHENTICATION
    return payment


def intent(payment: Payment, status: str, **extra) -> dict:
    return {
        "id": payment.stripe_payment_intent_id or "pi_lost",
        "object": "payment_intent",
        "status": status,
        "amount": payment.amount,
        "latest_charge": "ch_fake1",
        "metadata": {
            "payment": str(payment.pk),
            "subject": payment.subject,
            "clinic": str(payment.clinic_id),
        },
        **extra,
    }


def test_a_signed_event_moves_the_payment_and_sends_the_receipt(waiting, heard):
    assert send("payment_intent.succeeded", intent(waiting, "succeeded"), event_id="evt_paid") == 200
    waiting.refresh_from_db()
    assert waiting.status == PaymentStatus.SUCCEEDED
    assert heard[-1][:3] == ("updated", "charge", "succeeded")
    assert EmailMessage.objects.filter(reference=f"payment-receipt:{waiting.pk}").count() == 1
    event = StripeEvent.objects.get(event_id="evt_paid")
    assert (event.type, event.object_id, event.applied) == ("payment_intent.succeeded", "pi_fake1", True)


@pytest.mark.parametrize(
    "signature",
    [
        None,  # unsigned
        "",  # an empty header
        "t=1,v1=deadbeef",  # mis-signed
        "garbage",
        "SECRET:whsec_wrong",  # signed with another secret
        "STALE",  # signed, but ten minutes old
    ],
)
def test_an_unsigned_mis_signed_or_stale_event_gets_400_and_changes_nothing(waiting, heard, signature):
    payload = event_payload("payment_intent.succeeded", intent(waiting, "succeeded"))
    if signature == "SECRET:whsec_wrong":
        signature = stripe_signature(payload, secret="whsec_wrong")
    elif signature == "STALE":
        signature = stripe_signature(payload, at=int(time.time()) - 600)
    told = len(heard)
    assert post(payload, signature) == 400
    waiting.refresh_from_db()
    assert waiting.status == PaymentStatus.NEEDS_AUTHENTICATION
    assert not StripeEvent.objects.exists() and len(heard) == told


def test_with_payments_off_an_event_signed_with_the_development_secret_is_refused(waiting, heard, settings):
    # Without a Stripe key (payments off, DEBUG off) the webhook secret is the development one,
    # published in the settings: anyone could sign with it.
    settings.PAYMENTS_ENABLED = False
    told = len(heard)
    assert send("payment_intent.succeeded", intent(waiting, "succeeded")) == 404
    waiting.refresh_from_db()
    assert waiting.status == PaymentStatus.NEEDS_AUTHENTICATION
    assert not StripeEvent.objects.exists() and len(heard) == told
    assert not EmailMessage.objects.filter(reference__startswith="payment-receipt:").exists()


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"[1, 2]",
        b'{"id": "evt_1", "type": "payment_intent.succeeded"}',
        b'{"id": 5, "type": "x", "data": {"object": {}}}',
        b"\xff\xfe",
    ],
)
def test_a_signed_payload_that_is_not_an_event_gets_400(payload):
    assert post(payload, stripe_signature(payload)) == 400
    assert not StripeEvent.objects.exists()


def test_a_repeated_event_changes_nothing(waiting, heard):
    obj = intent(waiting, "succeeded")
    assert send("payment_intent.succeeded", obj, event_id="evt_once") == 200
    told = len(heard)
    assert send("payment_intent.succeeded", obj, event_id="evt_once") == 200
    assert StripeEvent.objects.filter(event_id="evt_once").count() == 1
    assert len(heard) == told
    assert EmailMessage.objects.filter(reference__startswith="payment-receipt:").count() == 1


def test_events_out_of_order_change_nothing_backwards(waiting, heard):
    assert send("payment_intent.succeeded", intent(waiting, "succeeded"), event_id="evt_a") == 200
    told = len(heard)
    # Stripe delivered the earlier requires_action, and a failure, after the success.
    assert send("payment_intent.requires_action", intent(waiting, "requires_action"), event_id="evt_b") == 200
    assert (
        send(
            "payment_intent.payment_failed",
            intent(waiting, "requires_payment_method", last_payment_error={"code": "card_declined"}),
            event_id="evt_c",
        )
        == 200
    )
    waiting.refresh_from_db()
    assert waiting.status == PaymentStatus.SUCCEEDED and waiting.failure_message == ""
    assert len(heard) == told
    assert list(StripeEvent.objects.order_by("event_id").values_list("event_id", "applied")) == [
        ("evt_a", True),
        ("evt_b", False),
        ("evt_c", False),
    ]


def test_a_failed_authentication_event_fails_the_charge(waiting):
    error = {
        "code": "payment_intent_authentication_failure",
        "message": "The provided PaymentMethod has failed authentication.",
    }
    obj = intent(waiting, "requires_payment_method", last_payment_error=error)
    assert send("payment_intent.payment_failed", obj) == 200
    waiting.refresh_from_db()
    assert waiting.status == PaymentStatus.FAILED
    assert waiting.failure_message == "The payment was not confirmed with your bank."


def test_an_event_finds_a_charge_whose_answer_was_lost_by_its_metadata(
    card_row, clinic_a, provider, fake_stripe
):
    card_row()
    from waitingroom.payments import services

    payment = services.charge_request(
        clinic=clinic_a, subject=SUBJECT, amount=4500, price=4500, description="x", by=provider
    )  # stored; the answer to the send never came
    assert send("payment_intent.succeeded", intent(payment, "succeeded")) == 200
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED and payment.stripe_payment_intent_id == "pi_lost"


def test_an_event_naming_another_subject_or_no_payment_of_ours_is_ignored(
    card_row, clinic_a, provider, fake_stripe
):
    card_row()
    from waitingroom.payments import services

    payment = services.charge_request(
        clinic=clinic_a, subject=SUBJECT, amount=4500, price=4500, description="x", by=provider
    )
    other = intent(payment, "succeeded")
    other["metadata"]["subject"] = "consultation:999"  # another deployment's payment of that number
    assert send("payment_intent.succeeded", other) == 200
    assert (
        send("payment_intent.succeeded", {"id": "pi_unknown", "status": "succeeded", "metadata": {}}) == 200
    )
    assert send("payment_intent.succeeded", {"id": "pi_unknown2", "status": "succeeded"}) == 200
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    assert not StripeEvent.objects.filter(applied=True).exists()


def test_an_event_type_we_do_not_handle_is_kept_and_ignored():
    assert send("customer.created", {"id": "cus_1", "object": "customer"}, event_id="evt_cus") == 200
    assert StripeEvent.objects.get(event_id="evt_cus").applied is False


@pytest.fixture
def pending_refund(card_row, charge, fake_stripe, provider, django_capture_on_commit_callbacks):
    """A paid charge (pi_fake1, ch_fake1) and its refund Stripe answered pending (re_fake1)."""
    from tests.waitingroom.payments.conftest import refund_answer
    from waitingroom.payments import services

    card_row()
    fake_stripe.default = stripe_answers
    paid = charge(4500)
    fake_stripe.default = lambda request: refund_answer(request, status="pending")
    with django_capture_on_commit_callbacks(execute=True):
        refund = services.refund_request(charge=paid, amount=1500, reason="Short call", by=provider)
    refund.refresh_from_db()
    assert refund.status == PaymentStatus.PENDING and refund.stripe_refund_id == "re_fake1"
    return refund


def test_charge_refunded_moves_the_refunds_it_lists(pending_refund):
    refund = pending_refund
    charge_obj = {
        "id": "ch_fake1",
        "object": "charge",
        "payment_intent": "pi_fake1",
        "refunds": {
            "object": "list",
            "data": [{"id": "re_fake1", "object": "refund", "status": "succeeded", "amount": 1500}],
        },
    }
    assert send("charge.refunded", charge_obj) == 200
    refund.refresh_from_db()
    assert refund.status == PaymentStatus.SUCCEEDED
    assert EmailMessage.objects.filter(reference=f"payment-refund:{refund.pk}").exists()
    # A refund failing later (the card was closed) can't undo a final status.
    failed = {
        "id": "re_fake1",
        "object": "refund",
        "status": "failed",
        "failure_reason": "expired_or_canceled_card",
        "charge": "ch_fake1",
        "payment_intent": "pi_fake1",
    }
    assert send("charge.refund.updated", failed) == 200
    refund.refresh_from_db()
    assert refund.status == PaymentStatus.SUCCEEDED


def test_a_pending_refund_that_fails_says_why(pending_refund):
    refund = pending_refund
    failed = {
        "id": "re_fake1",
        "object": "refund",
        "status": "failed",
        "failure_reason": "expired_or_canceled_card",
        "charge": "ch_fake1",
        "payment_intent": "pi_fake1",
    }
    assert send("refund.updated", failed) == 200
    refund.refresh_from_db()
    assert refund.status == PaymentStatus.FAILED
    assert (
        refund.failure_message == "The card has expired or was cancelled, so the money can't go back to it."
    )


def test_a_body_over_the_limit_is_refused_before_it_is_read():
    payload = json.dumps({"id": "evt_big", "pad": "x" * 600_000}).encode()
    assert post(payload, stripe_signature(payload)) == 413
    assert not StripeEvent.objects.exists()


def test_the_webhook_answers_post_only():
    assert Client().get(URL).status_code == 405


def test_an_event_id_is_kept_once(db):
    from waitingroom.payments import services

    assert services.event_apply(event_id="evt_x", event_type="customer.created", obj={"id": "cus_1"}) is False
    assert services.event_apply(event_id="evt_x", event_type="customer.created", obj={"id": "cus_1"}) is False
    assert StripeEvent.objects.filter(event_id="evt_x").count() == 1
    assert StripeEvent.objects.get().received_at <= timezone.now()


# --- A refund event applies only to the refund it belongs to -----------------------------------


def refund_obj(refund: Payment, **extra) -> dict:
    """The refund as Stripe sends it in an event: its charge, its intent and the metadata we sent."""
    return {
        "id": "re_fake1",
        "object": "refund",
        "status": "succeeded",
        "amount": refund.amount,
        "charge": "ch_fake1",
        "payment_intent": "pi_fake1",
        "metadata": {"payment": str(refund.pk), "subject": refund.subject, "clinic": str(refund.clinic_id)},
        **extra,
    }


def test_refunds_are_created_with_their_subject_and_payment_in_the_metadata(pending_refund, fake_stripe):
    (sent,) = fake_stripe.posts("/v1/refunds")
    assert sent.params["metadata[payment]"] == str(pending_refund.pk)
    assert sent.params["metadata[subject]"] == SUBJECT
    assert sent.params["metadata[clinic]"] == str(pending_refund.clinic_id)


def test_a_refund_event_of_its_own_charge_and_subject_is_applied(pending_refund):
    assert send("refund.updated", refund_obj(pending_refund), event_id="evt_ok") == 200
    pending_refund.refresh_from_db()
    assert pending_refund.status == PaymentStatus.SUCCEEDED
    assert StripeEvent.objects.get(event_id="evt_ok").applied is True


@pytest.mark.parametrize(
    "mismatch",
    [
        {"charge": "ch_other", "payment_intent": "pi_other"},
        {"payment_intent": "pi_other"},
        {"charge": None, "payment_intent": None},  # names no charge at all
        {"metadata": {"payment": "999999", "subject": SUBJECT}},
        {"metadata": {"subject": "consultation:999"}},
    ],
    ids=["other-charge", "other-intent", "no-charge", "other-payment", "other-subject"],
)
def test_a_refund_event_of_another_charge_or_subject_is_kept_logged_and_changes_nothing(
    pending_refund, mismatch, caplog
):
    before = (pending_refund.status, pending_refund.updated_at)
    obj = {
        key: value for key, value in {**refund_obj(pending_refund), **mismatch}.items() if value is not None
    }
    with caplog.at_level("WARNING", logger="waitingroom.payments.services"):
        assert send("refund.updated", obj, event_id="evt_mismatch") == 200
    pending_refund.refresh_from_db()
    assert (pending_refund.status, pending_refund.updated_at) == before
    event = StripeEvent.objects.get(event_id="evt_mismatch")
    assert event.applied is False and event.object_id == "re_fake1"
    assert any(
        "evt_mismatch" in record.getMessage() and f"payment {pending_refund.pk}" in record.getMessage()
        for record in caplog.records
    )


def test_a_charge_refunded_event_of_another_charge_changes_none_of_our_refunds(pending_refund, caplog):
    other_charge = {
        "id": "ch_other",
        "object": "charge",
        "payment_intent": "pi_other",
        "refunds": {
            "object": "list",
            "data": [
                # Even a listed refund that claims our charge: the event is another charge's.
                {
                    "id": "re_fake1",
                    "object": "refund",
                    "status": "succeeded",
                    "charge": "ch_fake1",
                    "payment_intent": "pi_fake1",
                },
            ],
        },
    }
    with caplog.at_level("WARNING", logger="waitingroom.payments.services"):
        assert send("charge.refunded", other_charge, event_id="evt_other_charge") == 200
    pending_refund.refresh_from_db()
    assert pending_refund.status == PaymentStatus.PENDING
    assert StripeEvent.objects.get(event_id="evt_other_charge").applied is False
    assert any("evt_other_charge" in record.getMessage() for record in caplog.records)
