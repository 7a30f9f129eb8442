"""The Django admin shows clinic admins and schedulers only their own clinics."""

import pytest

from tests.conftest import client_for
from tests.factories import staff
from waitingroom.models import Membership, Role

pytestmark = pytest.mark.django_db


def clinic_form(clinic, **overrides) -> dict:
    """A complete POST for the clinic change page with no inline rows."""
    data = {
        "name": clinic.name,
        "slug": clinic.slug,
        "time_zone": clinic.time_zone,
        "reconnect_grace_seconds": 15,
        "hold_window_seconds": 120,
        "idle_seconds": 60,
        "recents_expiry_minutes": 20,
        "wait_amber_minutes": 5,
        "wait_red_minutes": 15,
        "broadcast_message": "",
        "default_phone_region": "US",
        "recall_timeout_minutes": 10,
        "daily_sms_limit": 500,
        "currency": clinic.currency,
    }
    for prefix in (
        "memberships",
        "intake_fields",
        "services",
        "request_questions",
        "consultation_profile",
        "booking_questions",
        "opening_hours",
        "hours_exceptions",
        "events",
    ):
        data[f"{prefix}-TOTAL_FORMS"] = data[f"{prefix}-INITIAL_FORMS"] = "0"
    # The clinic's scheduling settings, an inline of its page (scheduling/admin.py).
    profile = clinic.scheduling
    data["scheduling-TOTAL_FORMS"] = data["scheduling-INITIAL_FORMS"] = "1"
    data.update(
        {
            "scheduling-0-id": str(profile.pk),
            "scheduling-0-clinic": str(clinic.pk),
            "scheduling-0-availability_mode": profile.availability_mode,
            "scheduling-0-patient_group_name": profile.patient_group_name,
            "scheduling-0-host_group_name": profile.host_group_name,
            "scheduling-0-now_request_expiry_minutes": str(profile.now_request_expiry_minutes),
            "scheduling-0-booking_days": str(profile.booking_days),
            "scheduling-0-minimum_notice_minutes": str(profile.minimum_notice_minutes),
        }
    )
    return {**data, **overrides}


@pytest.fixture
def clinic_admin(clinic_a):
    return staff(username="ada", clinic=clinic_a, role=Role.CLINIC_ADMIN, is_staff=True)


@pytest.fixture
def scheduler(clinic_a):
    return staff(username="sam", clinic=clinic_a, role=Role.SCHEDULER, is_staff=True)


def test_clinic_admin_lists_only_own_clinic(clinic_admin, clinic_a, clinic_b):
    page = client_for(clinic_admin).get("/admin/waitingroom/clinic/")
    assert page.status_code == 200
    assert b"Clinic A" in page.content
    assert b"Clinic B" not in page.content


def test_clinic_admin_gets_nothing_of_another_clinic(clinic_admin, clinic_b):
    client = client_for(clinic_admin)
    # Django's admin answers an out-of-scope object with a redirect to the index, never the page.
    response = client.get(f"/admin/waitingroom/clinic/{clinic_b.pk}/change/")
    assert response.status_code == 302
    client.post(f"/admin/waitingroom/clinic/{clinic_b.pk}/change/", clinic_form(clinic_b, name="Hijacked"))
    clinic_b.refresh_from_db()
    assert clinic_b.name == "Clinic B"


def test_clinic_admin_changes_own_clinic_and_its_staff_roles(clinic_admin, clinic_a, provider):
    client = client_for(clinic_admin)
    membership = Membership.objects.get(user=provider, clinic=clinic_a)
    admin_membership = Membership.objects.get(user=clinic_admin, clinic=clinic_a)
    response = client.post(
        f"/admin/waitingroom/clinic/{clinic_a.pk}/change/",
        clinic_form(
            clinic_a,
            name="Clinic A Renamed",
            time_zone="Europe/London",
            **{
                "memberships-TOTAL_FORMS": "2",
                "memberships-INITIAL_FORMS": "2",
                "memberships-0-id": str(membership.pk),
                "memberships-0-clinic": str(clinic_a.pk),
                "memberships-0-user": str(provider.pk),
                "memberships-0-role": Role.CSR,
                "memberships-1-id": str(admin_membership.pk),
                "memberships-1-clinic": str(clinic_a.pk),
                "memberships-1-user": str(clinic_admin.pk),
                "memberships-1-role": Role.CLINIC_ADMIN,
            },
        ),
    )
    assert response.status_code == 302, response.content[:2000]
    clinic_a.refresh_from_db()
    membership.refresh_from_db()
    assert (clinic_a.name, clinic_a.time_zone, membership.role) == (
        "Clinic A Renamed",
        "Europe/London",
        Role.CSR,
    )


def test_bad_time_zone_is_a_form_error_not_a_crash(clinic_admin, clinic_a):
    response = client_for(clinic_admin).post(
        f"/admin/waitingroom/clinic/{clinic_a.pk}/change/",
        clinic_form(clinic_a, time_zone="Mars/Olympus"),
    )
    assert response.status_code == 200
    assert b"is not a known time zone" in response.content


def test_scheduler_may_view_but_not_change_the_clinic(scheduler, clinic_a):
    client = client_for(scheduler)
    assert client.get(f"/admin/waitingroom/clinic/{clinic_a.pk}/change/").status_code == 200
    client.post(
        f"/admin/waitingroom/clinic/{clinic_a.pk}/change/",
        clinic_form(clinic_a, name="Nope"),
    )
    clinic_a.refresh_from_db()
    assert clinic_a.name == "Clinic A"


def test_provider_without_admin_role_gets_no_admin(provider, clinic_a):
    provider.is_staff = True
    provider.save(update_fields=["is_staff"])
    page = client_for(provider).get("/admin/")
    assert b"waitingroom/clinic" not in page.content


def test_superuser_sees_every_clinic(django_user_model, clinic_a, clinic_b):
    root = django_user_model.objects.create_superuser("root", "root@example.test", "root-pass-123")
    page = client_for(root).get("/admin/waitingroom/clinic/")
    assert b"Clinic A" in page.content and b"Clinic B" in page.content


def test_visit_history_in_the_admin_is_scoped_and_read_only(clinic_admin, clinic_a, clinic_b):
    from tests.visits.conftest import ready

    own, other = ready(clinic_a, "Own Patient"), ready(clinic_b, "Other Patient")
    client = client_for(clinic_admin)
    listing = client.get("/admin/visits/visit/")
    assert b"Own Patient" in listing.content and b"Other Patient" not in listing.content
    assert client.get(f"/admin/visits/visit/{other.pk}/change/").status_code == 302  # not theirs
    page = client.get(f"/admin/visits/visit/{own.pk}/change/")
    assert page.status_code == 200 and b"token_hash" not in page.content
    client.post(f"/admin/visits/visit/{own.pk}/change/", {"status": "completed"})
    own.refresh_from_db()
    assert own.status == "waiting"  # visits change only through the waiting room's services


def test_admin_pages_name_their_icon_so_browsers_ask_for_no_favicon(clinic_admin):
    """The product's pages say `<link rel="icon" href="data:,">`; the admin's did not, so every
    admin page a browser opened asked for /favicon.ico and logged a 404 (seen under `make run`)."""
    client = client_for(clinic_admin)
    for url in ("/admin/", "/admin/waitingroom/payment/", "/admin/login/"):
        page = client.get(url, follow=True)
        assert page.status_code == 200, url
        assert '<link rel="icon" href="data:,">' in page.content.decode(), url
