"""Payments in the admin: a clinic's charges and refunds and its clients' saved cards are for the
clinic's admins (and superusers) only, read-only, filterable and exported as CSV; every other role
and every other clinic gets nothing of them, whatever the URL.

The rows are stored as the payments services leave them (those services are tested on their own,
and the refunds through the admin against localstripe in test_admin_refunds.py)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from itertools import count

import pytest
from django.contrib.admin import helpers
from django.utils import timezone

from tests.conftest import client_for
from tests.factories import staff
from waitingroom.audit.models import AccessEvent
from waitingroom.models import Role
from waitingroom.payments.lifecycle import PaymentKind, PaymentStatus
from waitingroom.payments.models import Payment, SavedCard

pytestmark = pytest.mark.django_db

PAYMENTS = "/admin/waitingroom/payment/"
CARDS = "/admin/waitingroom/savedcard/"
_serial = count(1)


@pytest.fixture
def clinic_admin(clinic_a):
    return staff(username="ada", clinic=clinic_a, role=Role.CLINIC_ADMIN, is_staff=True)


@pytest.fixture
def admin_b(clinic_b):
    return staff(username="bea", clinic=clinic_b, role=Role.CLINIC_ADMIN, is_staff=True)


@pytest.fixture
def root(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.test", "root-pass-123")


def saved_card(clinic, *, subject: str, email: str, name: str, last4: str = "4242") -> SavedCard:
    n = next(_serial)
    return SavedCard.objects.create(
        clinic=clinic,
        subject=subject,
        status=SavedCard.Status.SAVED,
        email=email,
        name=name,
        stripe_customer_id=f"cus_{n}",
        stripe_setup_intent_id=f"seti_{n}",
        stripe_payment_method_id=f"pm_{n}",
        brand="visa",
        last4=last4,
        exp_month=7,
        exp_year=2031,
        created_at=timezone.now(),
        saved_at=timezone.now(),
    )


def payment(clinic, *, subject: str, amount: int, by=None, ago=timedelta(0), **fields) -> Payment:
    n, at = next(_serial), timezone.now() - ago
    kind = fields.pop("kind", PaymentKind.CHARGE)
    fields.setdefault("status", PaymentStatus.SUCCEEDED)
    return Payment.objects.create(
        clinic=clinic,
        subject=subject,
        kind=kind,
        amount=amount,
        currency=clinic.currency,
        idempotency_key=f"test-{n}",
        created_by=by,
        created_at=at,
        updated_at=at,
        **fields,
    )


@pytest.fixture
def rows(clinic_a, clinic_b, provider, clinic_admin):
    """Clinic A: a paid charge (Rosa's) with a partial refund, and a failed charge of last year;
    clinic B: a paid charge of its own client."""
    rosa = saved_card(clinic_a, subject="consultation:41", email="rosa@example.test", name="Rosa Client")
    paid = payment(
        clinic_a,
        subject="consultation:41",
        amount=4500,
        by=provider,
        card=rosa,
        description="Phone consultation: Medication review",
        stripe_payment_intent_id="pi_rosa41",
        stripe_charge_id="ch_rosa41",
    )
    refund = payment(
        clinic_a,
        subject="consultation:41",
        kind=PaymentKind.REFUND,
        parent=paid,
        amount=1250,
        by=clinic_admin,
        description="Refund: Phone consultation: Medication review",
        reason="Call cut short",
        stripe_refund_id="re_rosa41",
    )
    gus = saved_card(clinic_a, subject="meeting:7", email="gus@example.test", name="Gus Guest", last4="0341")
    failed = payment(
        clinic_a,
        subject="meeting:7",
        amount=9900,
        by=provider,
        card=gus,
        ago=timedelta(days=400),
        status=PaymentStatus.FAILED,
        description="Video visit: Follow-up",
        failure_message="Your card was declined.",
        stripe_payment_intent_id="pi_gus7",
    )
    other_card = saved_card(clinic_b, subject="consultation:99", email="bo@example.test", name="Bo Bee")
    other = payment(
        clinic_b,
        subject="consultation:99",
        amount=7000,
        card=other_card,
        description="Clinic B secret consultation",
        stripe_payment_intent_id="pi_clinicb99",
    )
    return {
        "paid": paid,
        "refund": refund,
        "failed": failed,
        "other": other,
        "card": rosa,
        "other_card": other_card,
    }


def csv_rows(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


# --- What a clinic admin sees ---------------------------------------------------------------------


def test_a_clinic_admin_lists_their_clinics_charges_and_refunds_only(clinic_admin, rows):
    page = client_for(clinic_admin).get(PAYMENTS)
    assert page.status_code == 200
    text = page.content.decode()
    for shown in (
        "Phone consultation: Medication review",
        "$45.00",
        "$12.50",
        "$99.00",
        "Visa ending 4242",
        "Rosa Client &lt;rosa@example.test&gt;",  # the client, without opening the payment
        "paula",  # who pressed Charge
        "ada",  # who pressed Refund
        "pi_rosa41 ch_rosa41",
        "re_rosa41",
        "Export CSV",
    ):
        assert shown in text, shown
    assert "Clinic B secret" not in text and "pi_clinicb99" not in text
    assert "column-clinic" not in text  # one clinic: no clinic column or filter


def test_a_payments_page_shows_its_client_and_its_refunds_and_is_an_access_trail_read(clinic_admin, rows):
    client = client_for(clinic_admin)
    page = client.get(f"{PAYMENTS}{rows['paid'].pk}/change/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Rosa Client &lt;rosa@example.test&gt;" in text
    assert 'id="refunds-group"' in text and "Call cut short" in text
    assert rows["paid"].client_token not in text and rows["paid"].idempotency_key not in text
    entry = AccessEvent.objects.get()
    assert (entry.username, entry.action, entry.kind, entry.object_id, entry.patient_label, entry.detail) == (
        "ada",
        "viewed",
        "consultation",
        41,
        "Rosa Client",
        "payment",
    )
    # The list and its CSV are working lists: no entry.
    client.get(PAYMENTS)
    client.get(PAYMENTS + "export/")
    assert AccessEvent.objects.count() == 1


def test_payment_times_show_in_the_clinics_time_zone_named_as_people_read_it(clinic_admin, rows):
    """Clinic A is in New York: a charge made at 19:05 UTC on 7 Dec 2026 was made at 14:05 there."""
    from datetime import UTC, datetime

    at = datetime(2026, 12, 7, 19, 5, tzinfo=UTC)
    Payment.objects.filter(pk=rows["paid"].pk).update(
        created_at=at, succeeded_at=at + timedelta(seconds=3), receipt_sent_at=at + timedelta(minutes=1)
    )
    Payment.objects.filter(pk=rows["refund"].pk).update(created_at=datetime(2026, 12, 8, 3, 30, tzinfo=UTC))
    client = client_for(clinic_admin)
    listed = client.get(PAYMENTS).content.decode()
    assert "7 Dec 2026, 14:05 New York time" in listed
    assert "7 Dec 2026, 22:30 New York time" in listed  # the refund: 03:30 UTC the next day
    assert "19:05" not in listed and "7 Dec 2026, 7:05" not in listed
    page = client.get(f"{PAYMENTS}{rows['paid'].pk}/change/").content.decode()
    for shown in (
        "7 Dec 2026, 14:05 New York time",  # created, and succeeded three seconds later
        "7 Dec 2026, 14:06 New York time",  # the receipt
        "7 Dec 2026, 22:30 New York time",  # its refund, in the inline
    ):
        assert shown in page, shown
    assert "19:05" not in page


def test_the_date_drill_down_goes_by_the_clinics_days_as_its_rows_and_csv_do(clinic_admin, rows):
    """A refund made at 22:30 New York time on 7 Dec 2026 (03:30 UTC on the 8th) is listed as "7 Dec
    2026, 22:30 New York time", so the list's drill-down puts it under 7 December and the CSV of 7
    December has it. The drill-down went by UTC days: under "December 8", and "December 7" left it
    out (seen under `make run`: "November 3" listed a charge of "2 Nov 2026, 19:04 New York time")."""
    from datetime import UTC, datetime

    Payment.objects.filter(pk=rows["paid"].pk).update(created_at=datetime(2026, 12, 7, 19, 5, tzinfo=UTC))
    Payment.objects.filter(pk=rows["refund"].pk).update(created_at=datetime(2026, 12, 8, 3, 30, tzinfo=UTC))
    client = client_for(clinic_admin)

    def listed(day: int) -> set[str]:
        query = {"created_at__year": "2026", "created_at__month": "12", "created_at__day": str(day)}
        text = client.get(PAYMENTS, query).content.decode()
        return {name for name in ("paid", "refund") if f"/payment/{rows[name].pk}/change/" in text}

    assert listed(7) == {"paid", "refund"}
    assert listed(8) == set()
    month = client.get(PAYMENTS, {"created_at__year": "2026", "created_at__month": "12"}).content.decode()
    assert "December 7" in month and "December 8" not in month  # the days offered
    exported = csv_rows(
        client.get(PAYMENTS + "export/?created_at__year=2026&created_at__month=12&created_at__day=7")
    )
    assert {r["id"] for r in exported} == {str(rows["paid"].pk), str(rows["refund"].pk)}


def test_payments_and_cards_are_read_only_for_everyone(clinic_admin, root, rows):
    for user in (clinic_admin, root):
        client = client_for(user)
        assert client.get(PAYMENTS + "add/").status_code == 403
        assert client.get(CARDS + "add/").status_code == 403
        client.post(f"{PAYMENTS}{rows['paid'].pk}/change/", {"amount": "1", "status": "failed"})
        assert client.post(f"{PAYMENTS}{rows['paid'].pk}/delete/", {"post": "yes"}).status_code == 403
        assert client.post(f"{CARDS}{rows['card'].pk}/delete/", {"post": "yes"}).status_code == 403
    rows["paid"].refresh_from_db()
    assert (rows["paid"].amount, rows["paid"].status) == (4500, PaymentStatus.SUCCEEDED)
    assert Payment.objects.count() == 4 and SavedCard.objects.count() == 3


def test_the_list_filters_by_status_kind_and_date_and_searches_descriptions_emails_and_stripe_ids(
    clinic_admin, rows
):
    client = client_for(clinic_admin)

    def listed(**query) -> set[str]:
        page = client.get(PAYMENTS, query)
        assert page.status_code == 200, query
        text = page.content.decode()
        return {name for name in ("paid", "refund", "failed") if f"/payment/{rows[name].pk}/change/" in text}

    assert listed() == {"paid", "refund", "failed"}
    assert listed(status="failed") == {"failed"}
    assert listed(kind="refund") == {"refund"}
    assert listed(kind="charge", status="succeeded") == {"paid"}
    assert listed(created_at__year=str(rows["failed"].created_at.year)) == {"failed"}
    assert listed(q="gus@example") == {"failed"}
    assert listed(q="rosa@example.test") == {"paid", "refund"}  # a refund is found by its charge's card
    assert listed(q="re_rosa41") == {"refund"}
    assert listed(q="pi_gus7") == {"failed"}
    assert listed(q="Medication") == {"paid", "refund"}
    assert listed(q="pi_clinicb99") == set()


def test_the_csv_is_the_filtered_list_in_plain_amounts_with_formula_cells_defused(clinic_admin, rows):
    Payment.objects.filter(pk=rows["failed"].pk).update(description='=HYPERLINK("http://evil.test","x")')
    client = client_for(clinic_admin)
    everything = csv_rows(client.get(PAYMENTS + "export/"))
    assert [r["id"] for r in everything] == [str(rows[n].pk) for n in ("failed", "paid", "refund")]
    paid = everything[1]
    assert (paid["clinic"], paid["kind"], paid["amount"], paid["currency"], paid["status"]) == (
        "clinic-a",
        "charge",
        "45.00",
        "USD",
        "succeeded",
    )
    assert (paid["card"], paid["client_email"], paid["pressed_by"], paid["stripe_payment_intent"]) == (
        "Visa ending 4242",
        "rosa@example.test",
        "paula",
        "pi_rosa41",
    )
    refund = everything[2]
    assert (refund["charge_id"], refund["amount"], refund["reason"], refund["client_email"]) == (
        str(rows["paid"].pk),
        "12.50",
        "Call cut short",
        "rosa@example.test",
    )
    assert everything[0]["description"] == '\'=HYPERLINK("http://evil.test","x")'
    # The same filters and search as the page.
    assert [r["id"] for r in csv_rows(client.get(PAYMENTS + "export/", {"kind": "refund"}))] == [
        str(rows["refund"].pk)
    ]
    assert [r["id"] for r in csv_rows(client.get(PAYMENTS + "export/", {"q": "rosa@example.test"}))] == [
        str(rows["paid"].pk),
        str(rows["refund"].pk),
    ]
    # An impossible filter is the admin's "invalid filter" answer, never a 500.
    bad = client.get(PAYMENTS + "export/", {"created_at__year": "99999999"})
    assert bad.status_code == 302 and bad.url.endswith("?e=1")
    assert client.get(PAYMENTS + "export/", {"status__regex": "("}).status_code == 400
    # The action: the selected rows.
    selected = client.post(
        PAYMENTS, {"action": "export_selected_csv", helpers.ACTION_CHECKBOX_NAME: [rows["paid"].pk]}
    )
    assert [r["id"] for r in csv_rows(selected)] == [str(rows["paid"].pk)]


def test_the_saved_cards_admin_shows_only_what_a_receipt_shows(clinic_admin, rows):
    client = client_for(clinic_admin)
    listing = client.get(CARDS).content.decode()
    page = client.get(f"{CARDS}{rows['card'].pk}/change/").content.decode()
    for text in (listing, page):
        assert "consultation:41" in text and "4242" in text and "07/2031" in text and "Saved" in text
        for never in ("rosa@example.test", "Rosa Client", "cus_", "seti_", "pm_", rows["card"].token):
            assert never not in text, never
        assert "consultation:99" not in text and "bo@example.test" not in text


# --- What nobody else sees --------------------------------------------------------------------------


def test_another_clinics_admin_gets_nothing_of_clinic_a_payments_by_any_url(admin_b, rows):
    client = client_for(admin_b)
    paid, card = rows["paid"], rows["card"]
    listing = client.get(PAYMENTS).content.decode()
    assert "Clinic B secret" in listing and "Medication review" not in listing
    for url in (
        f"{PAYMENTS}{paid.pk}/change/",
        f"{PAYMENTS}{paid.pk}/history/",
        f"{PAYMENTS}{paid.pk}/delete/",
        f"{CARDS}{card.pk}/change/",
    ):
        response = client.get(url, follow=True)
        assert response.status_code in (200, 403, 404), url  # Django's "doesn't exist" redirect
        assert b"Medication review" not in response.content and b"rosa@example.test" not in response.content
        assert b"Rosa Client" not in response.content
    assert client.get(f"{PAYMENTS}{paid.pk}/refund/").status_code == 404
    assert client.post(f"{PAYMENTS}{paid.pk}/refund/", {"amount": "45.00", "reason": "x"}).status_code == 404
    exported = csv_rows(client.get(PAYMENTS + "export/", {"q": "rosa"}))
    assert exported == []
    everything = csv_rows(client.get(PAYMENTS + "export/"))
    assert [r["id"] for r in everything] == [str(rows["other"].pk)]
    # Selecting clinic A's row by id in the action exports nothing of it.
    selected = client.post(
        PAYMENTS, {"action": "export_selected_csv", helpers.ACTION_CHECKBOX_NAME: [paid.pk]}
    )
    assert b"rosa" not in selected.content
    assert b"rosa" not in client.get(CARDS, {"q": "4242"}).content
    assert Payment.objects.count() == 4 and not AccessEvent.objects.exists()


@pytest.mark.parametrize("role", [Role.PROVIDER, Role.CSR, Role.SCHEDULER])
def test_clinic_a_staff_of_other_roles_get_403_on_every_payments_url(role, clinic_a, rows):
    user = staff(username=f"staff-{role}", clinic=clinic_a, role=role, is_staff=True)
    client = client_for(user)
    paid = rows["paid"].pk
    for url in (
        PAYMENTS,
        PAYMENTS + "export/",
        f"{PAYMENTS}{paid}/change/",
        f"{PAYMENTS}{paid}/refund/",
        f"{PAYMENTS}{paid}/history/",
        CARDS,
        f"{CARDS}{rows['card'].pk}/change/",
    ):
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code == 403, (url, response.status_code)
            assert b"Medication review" not in response.content
    index = client.get("/admin/").content
    assert b"waitingroom/payment/" not in index and b"waitingroom/savedcard/" not in index
    assert Payment.objects.count() == 4


def test_a_superuser_sees_every_clinic_with_a_clinic_column_and_filter(root, rows, clinic_b):
    client = client_for(root)
    text = client.get(PAYMENTS).content.decode()
    assert "Medication review" in text and "Clinic B secret" in text and "column-clinic" in text
    only_b = client.get(PAYMENTS, {"clinic__id__exact": clinic_b.pk}).content.decode()
    assert "Clinic B secret" in only_b and "Medication review" not in only_b
    exported = csv_rows(client.get(PAYMENTS + "export/", {"clinic__id__exact": clinic_b.pk}))
    assert [r["clinic"] for r in exported] == ["clinic-b"]


def test_the_date_drill_down_uses_the_clinics_days_for_its_admins_and_utc_across_clinics(
    clinic_admin, root, rows
):
    """21:00 in New York on 6 Dec 2026 is 02:00 UTC on 7 Dec: Clinic A's admin finds the charge
    under 6 Dec (the day its times show), in the list and its CSV; a superuser, across clinics,
    under 7 Dec (UTC), and each page says which zone its days are in."""
    from datetime import UTC, datetime

    Payment.objects.filter(pk=rows["paid"].pk).update(created_at=datetime(2026, 12, 7, 2, 0, tzinfo=UTC))
    Payment.objects.filter(pk=rows["refund"].pk).update(created_at=datetime(2026, 11, 20, 15, 0, tzinfo=UTC))
    Payment.objects.filter(pk=rows["other"].pk).update(created_at=datetime(2026, 11, 21, 15, 0, tzinfo=UTC))
    december = {"created_at__year": "2026", "created_at__month": "12"}
    paid_row = f"/payment/{rows['paid'].pk}/change/"

    def day(client, n: int) -> str:
        page = client.get(PAYMENTS, {**december, "created_at__day": str(n)})
        assert page.status_code == 200
        return page.content.decode()

    clinic = client_for(clinic_admin)
    month = clinic.get(PAYMENTS, december).content.decode()
    assert "created_at__day=6" in month and "created_at__day=7" not in month  # the drill-down's days
    assert "Days are in New York time." in month
    assert paid_row in day(clinic, 6) and paid_row not in day(clinic, 7)
    exported = clinic.get(f"{PAYMENTS}export/", {**december, "created_at__day": "6"})
    assert [row["id"] for row in csv_rows(exported)] == [str(rows["paid"].pk)]

    everyone = client_for(root)
    month = everyone.get(PAYMENTS, december).content.decode()
    assert "created_at__day=7" in month and "created_at__day=6" not in month
    assert "Days are in UTC." in month
    assert paid_row in day(everyone, 7) and paid_row not in day(everyone, 6)


def test_an_admin_of_two_clinics_in_one_zone_gets_that_zones_days_as_every_other_admin_page(
    clinic_admin, clinic_b, rows
):
    """The admin runs in the zone its staff's clinics share (waitingroom/admin_time.py): the access
    trail files a 22:30 New York entry under its New York day for an admin of two New York clinics.
    The payments list went by UTC days for anyone with more than one clinic, so the same admin found
    a refund of 22:30 on 7 Dec under 8 Dec here, and the page said "Days are in UTC"."""
    from datetime import UTC, datetime

    from tests.factories import MembershipFactory

    MembershipFactory(user=clinic_admin, clinic=clinic_b, role=Role.CLINIC_ADMIN)
    assert clinic_b.time_zone == rows["refund"].clinic.time_zone
    Payment.objects.filter(pk=rows["refund"].pk).update(created_at=datetime(2026, 12, 8, 3, 30, tzinfo=UTC))
    client = client_for(clinic_admin)
    day = {"created_at__year": "2026", "created_at__month": "12", "created_at__day": "7"}
    page = client.get(PAYMENTS, day).content.decode()
    assert f"/payment/{rows['refund'].pk}/change/" in page
    assert "Days are in New York time." in page
    exported = csv_rows(client.get(PAYMENTS + "export/", day))
    assert str(rows["refund"].pk) in {r["id"] for r in exported}
