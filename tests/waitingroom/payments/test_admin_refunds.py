"""Refunds from the admin: a clinic admin refunds a paid charge in full or in part, with a reason,
through the refund service and Stripe (localstripe here); bad input is a clear error that changes
nothing, and nobody but the charge's clinic admins may refund."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client

from tests.conftest import client_for
from tests.factories import staff
from tests.support.stripe import local_api
from waitingroom.audit.models import AccessEvent
from waitingroom.models import Role
from waitingroom.payments import services
from waitingroom.payments.lifecycle import PaymentKind, PaymentStatus
from waitingroom.payments.models import Payment

pytestmark = pytest.mark.django_db

PAYMENTS = "/admin/waitingroom/payment/"


@pytest.fixture
def clinic_admin(clinic_a):
    return staff(username="ada", clinic=clinic_a, role=Role.CLINIC_ADMIN, is_staff=True)


@pytest.fixture
def paid_charge(save_card, clinic_a, provider, django_capture_on_commit_callbacks) -> Payment:
    """$45.00 charged to Rosa's saved card for consultation 41, through the payments services and
    localstripe, as the expert's Charge button does it."""
    save_card(subject="consultation:41")
    with django_capture_on_commit_callbacks(execute=True):
        charge = services.charge_request(
            clinic=clinic_a,
            subject="consultation:41",
            amount=4500,
            price=4500,
            description="Phone consultation: Medication review",
            by=provider,
        )
    charge.refresh_from_db()
    assert charge.status == PaymentStatus.SUCCEEDED, (charge.status, charge.failure_message)
    return charge


def refund_url(charge: Payment) -> str:
    return f"{PAYMENTS}{charge.pk}/refund/"


def stripe_refunds(charge: Payment) -> list[tuple[int, str]]:
    """What Stripe (localstripe) holds for the charge: (amount, status) of each refund, oldest first."""
    listed = local_api("GET", f"/v1/refunds?payment_intent={charge.stripe_payment_intent_id}")["data"]
    return sorted(((r["amount"], r["status"]) for r in listed), key=lambda r: -r[0])


def refunds_of(charge: Payment) -> list[tuple[int, str, str, str]]:
    return list(
        Payment.objects.filter(parent=charge)
        .order_by("id")
        .values_list("amount", "status", "reason", "created_by__username")
    )


def refund(client: Client, charge: Payment, capture, **data):
    with capture(execute=True):
        return client.post(refund_url(charge), data, follow=True)


def test_a_clinic_admin_refunds_part_then_the_rest_of_a_charge_through_stripe(
    clinic_admin, paid_charge, django_capture_on_commit_callbacks
):
    client = client_for(clinic_admin)
    change = client.get(f"{PAYMENTS}{paid_charge.pk}/change/").content.decode()
    assert f'href="{refund_url(paid_charge)}"' in change
    form = client.get(refund_url(paid_charge)).content.decode()
    assert 'value="45.00"' in form and "$45.00 left to refund of $45.00" in form

    page = refund(
        client, paid_charge, django_capture_on_commit_callbacks, amount="12.50", reason="Call cut short"
    )
    assert page.redirect_chain[-1][0] == f"{PAYMENTS}{paid_charge.pk}/change/"
    text = page.content.decode()
    assert "Refund of $12.50 sent" in text
    assert 'id="refunds-group"' in text and "Call cut short" in text  # the refund under its charge
    assert refunds_of(paid_charge) == [(1250, PaymentStatus.SUCCEEDED, "Call cut short", "ada")]
    assert stripe_refunds(paid_charge) == [(1250, "succeeded")]
    first = Payment.objects.get(parent=paid_charge)
    assert first.kind == PaymentKind.REFUND and first.stripe_refund_id.startswith("re_")
    assert any("rosa@example.test" in message.to for message in mail.outbox)  # the client is told

    # What is left is offered next, and refunded in full.
    assert 'value="32.50"' in client.get(refund_url(paid_charge)).content.decode()
    page = refund(client, paid_charge, django_capture_on_commit_callbacks, amount="32.50", reason="Goodwill")
    assert "Refund of $32.50 sent" in page.content.decode()
    assert [r[:2] for r in refunds_of(paid_charge)] == [(1250, "succeeded"), (3250, "succeeded")]
    assert stripe_refunds(paid_charge) == [(3250, "succeeded"), (1250, "succeeded")]
    entries = AccessEvent.objects.filter(action="changed").values_list("kind", "object_id", "detail")
    assert list(entries) == [("consultation", 41, "refund"), ("consultation", 41, "refund")]

    # Nothing is left: no Refund button, and the page says why.
    change = client.get(f"{PAYMENTS}{paid_charge.pk}/change/").content.decode()
    assert refund_url(paid_charge) not in change
    again = refund(client, paid_charge, django_capture_on_commit_callbacks, amount="1", reason="x")
    assert "already refunded in full" in again.content.decode()
    assert len(stripe_refunds(paid_charge)) == 2 and Payment.objects.filter(parent=paid_charge).count() == 2


def test_a_full_refund_in_one_press(clinic_admin, paid_charge, django_capture_on_commit_callbacks):
    page = refund(
        client_for(clinic_admin),
        paid_charge,
        django_capture_on_commit_callbacks,
        amount="45",
        reason="Cancelled",
    )
    assert "Refund of $45.00 sent" in page.content.decode()
    assert refunds_of(paid_charge) == [(4500, PaymentStatus.SUCCEEDED, "Cancelled", "ada")]
    assert stripe_refunds(paid_charge) == [(4500, "succeeded")]


def test_the_refund_form_says_the_client_reads_the_reason_and_their_receipt_shows_it(
    clinic_admin, paid_charge, django_capture_on_commit_callbacks
):
    client = client_for(clinic_admin)
    form = client.get(refund_url(paid_charge)).content.decode()
    assert "The client's refund receipt shows it." in form and "does not show it" not in form
    refund(client, paid_charge, django_capture_on_commit_callbacks, amount="5", reason="Call cut short")
    (receipt,) = [m for m in mail.outbox if m.subject == "Clinic A refunded $5.00"]
    assert "Reason: Call cut short" in receipt.body


BAD_INPUT = [
    ({"amount": "abc", "reason": "r"}, "Enter an amount like 12.50."),
    ({"amount": "12,50", "reason": "r"}, "Enter an amount like 12.50."),
    ({"amount": "NaN", "reason": "r"}, "Enter an amount like 12.50."),
    ({"amount": "Infinity", "reason": "r"}, "Enter an amount like 12.50."),
    ({"amount": "", "reason": "r"}, "This field is required."),
    ({"amount": "0", "reason": "r"}, "Enter an amount above 0."),
    ({"amount": "0.001", "reason": "r"}, "Enter at most two decimal places (cents)."),
    ({"amount": "-5", "reason": "r"}, "Enter an amount above 0."),
    ({"amount": "45.01", "reason": "r"}, "At most $45.00 is left to refund."),
    ({"amount": "99999999999", "reason": "r"}, "far more than the charge"),
    ({"amount": "1e400", "reason": "r"}, "far more than the charge"),
    ({"amount": "9" * 5000, "reason": "r"}, "far more than the charge"),
    ({"amount": "12.50", "reason": ""}, "This field is required."),
    ({"amount": "12.50", "reason": "   "}, "This field is required."),
    ({"amount": "12.50", "reason": "Line\nBcc: x@example.com"}, "Line breaks and control characters"),
    ({"amount": "12.50", "reason": "x" * 301}, "at most 300 characters"),
    ({"amount": "12.50", "reason": "nul\x00"}, "Null characters are not allowed."),
]


@pytest.mark.parametrize(("data", "error"), BAD_INPUT, ids=[repr(d)[:40] for d, _ in BAD_INPUT])
def test_bad_refund_input_is_a_clear_error_and_refunds_nothing(
    data, error, clinic_admin, paid_charge, django_capture_on_commit_callbacks
):
    client = client_for(clinic_admin)
    client.raise_request_exception = False
    page = refund(client, paid_charge, django_capture_on_commit_callbacks, **data)
    assert page.status_code == 200
    assert error in page.content.decode()
    assert refunds_of(paid_charge) == [] and stripe_refunds(paid_charge) == []


def test_a_refund_refused_by_the_service_is_an_error_and_changes_nothing(
    clinic_admin, paid_charge, django_capture_on_commit_callbacks, monkeypatch
):
    # A refund the service refuses after the page was shown (another admin's refund took what was
    # left a moment ago, say) is the service's word on the page, nothing else.
    def refused(**kwargs):
        raise services.PaymentRefused("Only $0.00 is left to refund.")

    monkeypatch.setattr(services, "refund_request", refused)
    page = refund(
        client_for(clinic_admin), paid_charge, django_capture_on_commit_callbacks, amount="10", reason="Late"
    )
    assert page.status_code == 200
    assert "Not refunded: Only $0.00 is left to refund." in page.content.decode()
    assert refunds_of(paid_charge) == [] and stripe_refunds(paid_charge) == []
    assert not AccessEvent.objects.filter(action="changed").exists()


def test_a_refund_and_an_unpaid_charge_cannot_be_refunded(
    clinic_admin, paid_charge, clinic_a, provider, django_capture_on_commit_callbacks
):
    client = client_for(clinic_admin)
    refund(client, paid_charge, django_capture_on_commit_callbacks, amount="5", reason="Part")
    first = Payment.objects.get(parent=paid_charge)
    page = refund(client, first, django_capture_on_commit_callbacks, amount="1", reason="Refund the refund")
    assert "A refund can&#x27;t be refunded" in page.content.decode()
    assert refund_url(first) not in client.get(f"{PAYMENTS}{first.pk}/change/").content.decode()

    # A charge the card declined.
    declined = Payment.objects.filter(pk=paid_charge.pk)
    declined.update(status=PaymentStatus.FAILED)  # as a failed charge is stored (no refund possible)
    page = refund(client, paid_charge, django_capture_on_commit_callbacks, amount="1", reason="x")
    assert "Only a paid charge can be refunded" in page.content.decode()
    assert Payment.objects.filter(parent=paid_charge).count() == 1 and len(stripe_refunds(paid_charge)) == 1


def test_only_the_charges_clinic_admins_may_refund_and_the_form_needs_its_csrf_token(
    clinic_admin, paid_charge, clinic_b, csr, provider, django_capture_on_commit_callbacks
):
    other_admin = staff(username="bea", clinic=clinic_b, role=Role.CLINIC_ADMIN, is_staff=True)
    scheduler = staff(username="sam", clinic=paid_charge.clinic, role=Role.SCHEDULER, is_staff=True)
    for user in (csr, provider):
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    data = {"amount": "45.00", "reason": "Not mine to give"}
    with django_capture_on_commit_callbacks(execute=True):
        assert client_for(other_admin).get(refund_url(paid_charge)).status_code == 404
        assert client_for(other_admin).post(refund_url(paid_charge), data).status_code == 404
        for user in (csr, provider, scheduler):
            assert client_for(user).post(refund_url(paid_charge), data).status_code == 403
        assert Client().post(refund_url(paid_charge), data).status_code == 302  # to the login page
        checked = Client(enforce_csrf_checks=True)
        checked.force_login(clinic_admin)
        assert checked.post(refund_url(paid_charge), data).status_code == 403
        # Ids that name no payment.
        for bad_id in ("999999", "abc", "99999999999999999999", "1%00"):
            assert client_for(clinic_admin).get(f"{PAYMENTS}{bad_id}/refund/").status_code in (400, 404)
    assert refunds_of(paid_charge) == [] and stripe_refunds(paid_charge) == []


# --- A refund Stripe could not be reached for ----------------------------------------------------


@pytest.fixture
def unsent_refund(card_row, charge, clinic_admin, fake_stripe, django_capture_on_commit_callbacks) -> Payment:
    """$45.00 paid, then refunded in full while Stripe could not be reached (the SDK's retries too):
    pending, holding the whole amount, its message telling the admin to try again."""
    from tests.waitingroom.payments.conftest import stripe_answers

    card_row()
    fake_stripe.default = stripe_answers
    paid = charge(4500)
    fake_stripe.fail = 3
    with django_capture_on_commit_callbacks(execute=True):
        refund = services.refund_request(charge=paid, amount=4500, reason="Call cut short", by=clinic_admin)
    refund.refresh_from_db()
    assert refund.status == PaymentStatus.PENDING and "Try again" in refund.failure_message
    return refund


def test_a_refund_stripe_could_not_be_reached_for_is_sent_again_from_its_page_with_the_same_key(
    clinic_admin, unsent_refund, fake_stripe, django_capture_on_commit_callbacks
):
    client = client_for(clinic_admin)
    page = client.get(f"{PAYMENTS}{unsent_refund.pk}/change/").content.decode()
    retry = f"{PAYMENTS}{unsent_refund.pk}/retry/"
    assert f'action="{retry}"' in page and "Send again" in page
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(retry, follow=True)
    assert "sent again" in sent.content.decode()
    unsent_refund.refresh_from_db()
    assert unsent_refund.status == PaymentStatus.SUCCEEDED
    keys = {r.headers["Idempotency-Key"] for r in fake_stripe.posts("/v1/refunds")}
    assert keys == {unsent_refund.idempotency_key}
    # Paid back: nothing waits any more, so a second press sends nothing.
    assert "Send again" not in client.get(f"{PAYMENTS}{unsent_refund.pk}/change/").content.decode()
    before = len(fake_stripe.posts("/v1/refunds"))
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(retry, follow=True)
    assert "not waiting to be sent again" in again.content.decode()
    assert len(fake_stripe.posts("/v1/refunds")) == before
    assert (
        AccessEvent.objects.filter(action=AccessEvent.Action.CHANGED, detail="refund sent again").count() == 1
    )


def test_only_the_refunds_clinic_admins_may_send_it_again_by_post(
    clinic_a, clinic_b, clinic_admin, unsent_refund, fake_stripe
):
    retry = f"{PAYMENTS}{unsent_refund.pk}/retry/"
    admin_b = staff(username="bea", clinic=clinic_b, role=Role.CLINIC_ADMIN, is_staff=True)
    assert client_for(admin_b).post(retry).status_code == 404
    for role in (Role.PROVIDER, Role.CSR, Role.SCHEDULER):
        user = staff(username=f"staff-{role}", clinic=clinic_a, role=role, is_staff=True)
        assert client_for(user).post(retry).status_code == 403
    assert client_for(clinic_admin).get(retry).status_code == 405
    csrf_checked = Client(enforce_csrf_checks=True)
    csrf_checked.force_login(clinic_admin)
    assert csrf_checked.post(retry).status_code == 403
    unsent_refund.refresh_from_db()
    assert unsent_refund.status == PaymentStatus.PENDING and fake_stripe.posts("/v1/refunds")[-1:] != []
    assert len(fake_stripe.posts("/v1/refunds")) == 3  # the three tries of the first send only
