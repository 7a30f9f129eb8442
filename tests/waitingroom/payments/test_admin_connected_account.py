"""A clinic's card-payment settings on its admin page: clinic admins keep the currency and see the
Stripe connected account their takings are paid out to; only superusers set that account (checked
as a Stripe account id)."""

from __future__ import annotations

import pytest

from tests.conftest import client_for
from tests.factories import staff
from tests.waitingroom.test_admin_scoping import clinic_form
from waitingroom.models import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic_admin(clinic_a):
    return staff(username="ada", clinic=clinic_a, role=Role.CLINIC_ADMIN, is_staff=True)


@pytest.fixture
def root(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.test", "root-pass-123")


def change_page(clinic) -> str:
    return f"/admin/waitingroom/clinic/{clinic.pk}/change/"


def test_a_clinic_admin_sets_the_currency_and_sees_but_cannot_set_the_connected_account(
    clinic_admin, clinic_a
):
    clinic_a.stripe_account_id = "acct_1ClinicA"
    clinic_a.save(update_fields=["stripe_account_id"])
    client = client_for(clinic_admin)
    page = client.get(change_page(clinic_a)).content.decode()
    assert 'name="currency"' in page
    assert "acct_1ClinicA" in page and 'name="stripe_account_id"' not in page  # shown, not a field
    response = client.post(
        change_page(clinic_a), clinic_form(clinic_a, currency="eur", stripe_account_id="acct_1Thief")
    )
    assert response.status_code == 302, response.content[:2000]
    clinic_a.refresh_from_db()
    assert (clinic_a.currency, clinic_a.stripe_account_id) == ("eur", "acct_1ClinicA")
    assert "Euro" in client.get("/admin/waitingroom/clinic/").content.decode()


def test_a_superuser_sets_the_connected_account_which_must_be_a_stripe_account_id(root, clinic_a):
    client = client_for(root)
    assert 'name="stripe_account_id"' in client.get(change_page(clinic_a)).content.decode()
    for bad in ("cus_123", "acct_", "acct_12 3", "acct_1\nx", "https://evil.test/acct_1"):
        response = client.post(change_page(clinic_a), clinic_form(clinic_a, stripe_account_id=bad))
        assert response.status_code == 200, bad
        clinic_a.refresh_from_db()
        assert clinic_a.stripe_account_id == "", bad
    assert "A Stripe account id starts with acct_." in response.content.decode()
    response = client.post(change_page(clinic_a), clinic_form(clinic_a, stripe_account_id="acct_1NewAccount"))
    assert response.status_code == 302, response.content[:2000]
    clinic_a.refresh_from_db()
    assert clinic_a.stripe_account_id == "acct_1NewAccount"
    # Emptied: the platform's own account takes the charges again.
    client.post(change_page(clinic_a), clinic_form(clinic_a, stripe_account_id=""))
    clinic_a.refresh_from_db()
    assert clinic_a.stripe_account_id == ""


def test_an_unknown_currency_is_a_form_error(clinic_admin, clinic_a):
    response = client_for(clinic_admin).post(change_page(clinic_a), clinic_form(clinic_a, currency="btc"))
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    clinic_a.refresh_from_db()
    assert clinic_a.currency == "usd"


def test_a_scheduler_sees_the_payment_settings_and_changes_none(clinic_a):
    scheduler = staff(username="sam", clinic=clinic_a, role=Role.SCHEDULER, is_staff=True)
    client = client_for(scheduler)
    assert client.get(change_page(clinic_a)).status_code == 200
    client.post(change_page(clinic_a), clinic_form(clinic_a, currency="gbp", stripe_account_id="acct_1Sam"))
    clinic_a.refresh_from_db()
    assert (clinic_a.currency, clinic_a.stripe_account_id) == ("usd", "")
