"""Two experts pressing Charge at the same moment, in two real transactions on two connections: the
live-charge index lets one charge in; the other is told, and Stripe sees one PaymentIntent."""

from __future__ import annotations

import pytest

from tests.factories import staff
from tests.support.races import at_once, meet_at
from tests.support.stripe import local_api
from waitingroom.models import Role
from waitingroom.payments import services
from waitingroom.payments.lifecycle import PaymentStatus
from waitingroom.payments.models import Payment

pytestmark = pytest.mark.django_db(transaction=True)

SUBJECT = "consultation:977"


def test_two_experts_charging_at_once_make_one_payment_intent(
    save_card, clinic_a, provider, heard, monkeypatch
):
    save_card(subject=SUBJECT)
    colleague = staff(username="pete", clinic=clinic_a, role=Role.PROVIDER, first_name="Pete", last_name="P")
    # Both threads have counted the attempts (1) before either inserts: each waits at the barrier
    # right before its insert, so the second really meets the first's uncommitted row.
    meet_at(Payment.objects, "create", monkeypatch)
    outcomes = at_once(
        lambda user: services.charge_request(
            clinic=clinic_a, subject=SUBJECT, amount=4500, price=4500, description="Nutrition call", by=user
        ),
        (provider, colleague),
        refused=services.PaymentRefused,
    )

    assert sorted(outcomes.values()) == [
        "This consultation is already being charged or paid, so nothing more was charged.",
        "done",
    ]
    (payment,) = Payment.objects.filter(subject=SUBJECT)
    assert payment.status == PaymentStatus.SUCCEEDED  # the task ran on the winner's commit
    intents = [
        pi
        for pi in local_api("GET", "/v1/payment_intents?limit=100")["data"]
        if pi["metadata"].get("subject") == SUBJECT
    ]
    assert [pi["id"] for pi in intents] == [payment.stripe_payment_intent_id]
    assert [what for what, *_ in heard] == ["started", "updated"]


def test_a_cancel_meeting_the_clients_confirmation_ends_paid_once_and_the_cancel_is_told(
    save_card, clinic_a, provider, monkeypatch, django_capture_on_commit_callbacks
):
    """The client confirmed at Stripe a moment before staff pressed Cancel: the client's page reading
    the payment back and the cancel (refused by Stripe, so it reads it back too) apply at once, in
    two transactions that meet at the row's lock. One moves it to paid; one receipt; the cancel
    says the client confirmed first."""
    from types import SimpleNamespace

    from tests.waitingroom.payments import cards
    from waitingroom.outbox.models import EmailMessage
    from waitingroom.payments import answers

    save_card(cards.NEEDS_AUTHENTICATION, subject=SUBJECT)
    with django_capture_on_commit_callbacks(execute=True):
        payment = services.charge_request(
            clinic=clinic_a,
            subject=SUBJECT,
            amount=4500,
            price=4500,
            description="Nutrition call",
            by=provider,
        )
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.NEEDS_AUTHENTICATION
    cards.authenticate_payment(services.client_secret(payment=payment))

    meet_at(answers, "move", monkeypatch)
    client = SimpleNamespace(username="client")
    outcomes = at_once(
        lambda who: (
            services.client_confirmed(payment=payment)
            if who is client
            else services.charge_cancel(payment=payment, by=who)
        ),
        (client, provider),
        refused=services.PaymentRefused,
    )

    assert outcomes == {
        "client": "done",
        provider.username: "The client confirmed the payment before it could be cancelled: it is paid. "
        "Refund it if needed.",
    }
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert EmailMessage.objects.filter(reference=f"payment-receipt:{payment.pk}").count() == 1


def test_two_cancel_presses_at_once_reach_stripe_once_and_the_second_is_told(
    card_row, charge, clinic_a, provider, heard, fake_stripe
):
    """Two staff press Cancel charge at the same moment, in two real transactions: one claims the
    cancel and reaches Stripe; the other is told it is being cancelled, sends nothing and records
    nothing. Stripe holds the winner's request until the other press has its answer, so the two
    really overlap (without the claim, both reach Stripe with one idempotency key)."""
    import threading

    from tests.waitingroom.payments.conftest import intent_answer
    from waitingroom.outbox.models import EmailMessage

    card_row(subject=SUBJECT)
    fake_stripe.default = lambda request: intent_answer(request, status="requires_action")
    waiting = charge(4500, subject=SUBJECT)
    assert waiting.status == PaymentStatus.NEEDS_AUTHENTICATION
    heard.clear()
    other_told = threading.Event()

    def stripe_answers(request):
        if request.path.endswith("/cancel"):
            other_told.wait(timeout=5)
            return intent_answer(request, status="canceled", amount=4500)
        return intent_answer(request, status="requires_action")

    fake_stripe.default = stripe_answers
    colleague = staff(username="pete", clinic=clinic_a, role=Role.PROVIDER, first_name="Pete", last_name="P")
    start = threading.Barrier(2, timeout=10)

    def press(user):
        start.wait()
        try:
            return services.charge_cancel(payment=waiting, by=user)
        except services.PaymentRefused:
            other_told.set()
            raise

    outcomes = at_once(press, (provider, colleague), refused=services.PaymentRefused)

    assert sorted(outcomes.values()) == ["This charge is already being cancelled.", "done"]
    assert len(fake_stripe.posts("/v1/payment_intents/pi_fake1/cancel")) == 1
    waiting.refresh_from_db()
    assert (waiting.status, waiting.cancelling_since) == (PaymentStatus.CANCELED, None)
    assert [what for what, *_ in heard] == ["updated"]
    assert EmailMessage.objects.filter(reference=f"payment-cancelled:{waiting.pk}").count() == 1
