"""Who reaches which clinic's dashboard, over HTTP."""

import pytest
from django.urls import reverse

from tests.conftest import client_for
from tests.factories import ClinicFactory, MembershipFactory

pytestmark = pytest.mark.django_db


def test_anonymous_visitor_is_sent_to_login(client, clinic_a):
    response = client.get(reverse("clinic_dashboard", args=[clinic_a.slug]))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_login_lands_provider_on_their_clinic_dashboard(client, provider, clinic_a):
    response = client.post(reverse("login"), {"username": "paula", "password": "pw-for-tests-1"}, follow=True)
    assert response.redirect_chain[-1][0] == f"/dashboard/{clinic_a.slug}/"
    assert response.status_code == 200
    assert b"Clinic A" in response.content


def test_provider_sees_own_clinic_dashboard(provider_client, clinic_a):
    response = provider_client.get(f"/dashboard/{clinic_a.slug}/")
    assert response.status_code == 200
    assert f'data-socket-url="/ws/staff/{clinic_a.slug}/"'.encode() in response.content


def test_outsider_gets_404_for_clinic_a_dashboard(outsider_client, clinic_a):
    assert outsider_client.get(f"/dashboard/{clinic_a.slug}/").status_code == 404


def test_unknown_clinic_is_404(provider_client):
    assert provider_client.get("/dashboard/no-such-clinic/").status_code == 404


def test_staff_of_two_clinics_get_a_switcher_and_land_where_they_were(provider, clinic_a):
    other = ClinicFactory(name="Another Clinic", slug="another")
    MembershipFactory(user=provider, clinic=other)
    client = client_for(provider)

    page = client.get(f"/dashboard/{other.slug}/")
    assert b"data-clinic-switcher" in page.content
    assert b"Clinic A" in page.content and b"Another Clinic" in page.content
    # The landing page remembers the clinic last used.
    assert client.get("/dashboard/")["Location"] == f"/dashboard/{other.slug}/"


def test_staff_without_a_clinic_are_told_so(client, django_user_model):
    user = django_user_model.objects.create_user("lonely", password="x-pass-123456")
    client.force_login(user)
    response = client.get("/dashboard/")
    assert response.status_code == 403
    assert b"not a member of any clinic" in response.content


def test_logout_is_a_post_and_ends_the_session(provider_client, clinic_a):
    assert provider_client.post(reverse("logout"))["Location"] == reverse("login")
    assert provider_client.get(f"/dashboard/{clinic_a.slug}/").status_code == 302
