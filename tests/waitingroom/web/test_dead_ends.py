"""Dead ends get the product's page: its style and viewport, the clinic's name where known, a way
forward, and nothing of the failure itself."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory, override_settings

from tests.factories import staff
from visits import services
from waitingroom import errors
from waitingroom.models import Role

VIEWPORT = '<meta name="viewport" content="width=device-width, initial-scale=1">'


def assert_product_page(response, status: int, heading: str) -> str:
    html = response.content.decode()
    assert response.status_code == status
    assert VIEWPORT in html
    assert 'class="topbar"' in html
    assert heading in html
    assert "secret-detail" not in html and "Traceback" not in html
    assert "<h1>Not Found</h1>" not in html
    return html


@pytest.mark.django_db
def test_an_unknown_address_gets_the_product_404_page():
    assert_product_page(Client().get("/no/such/page/"), 404, "We could not find that page")


@pytest.mark.django_db
@override_settings(DEBUG=True, ROOT_URLCONF="tests.waitingroom.web.dead_end_urls")
def test_with_debug_on_as_in_make_run_dead_ends_still_get_the_product_pages(provider_client, clinic_a):
    """`make run` runs with DEBUG, where Django would show its technical 404/403 pages."""
    client = Client()
    assert_product_page(client.get("/no/such/page/"), 404, "We could not find that page")
    html = assert_product_page(
        provider_client.get(f"/dashboard/{clinic_a.slug}/visits/999999/chat/"), 404, "We could not find"
    )
    assert clinic_a.name in html
    assert_product_page(client.get("/test-errors/403/"), 403, "This page is not open to you")
    # A view raising Http404 (a clinic that does not exist) too.
    assert_product_page(client.get("/c/no-such-clinic/"), 404, "We could not find that page")
    # APPEND_SLASH still redirects a path that needs only its slash.
    assert client.get(f"/c/{clinic_a.slug}").status_code == 301


@pytest.mark.django_db
@override_settings(DEBUG=True, TECHNICAL_ERROR_PAGES=True)
def test_a_developer_can_ask_for_djangos_technical_pages_under_debug():
    response = Client().get("/no/such/page/")
    assert response.status_code == 404 and "URLconf" in response.content.decode()


@pytest.mark.django_db
@override_settings(ROOT_URLCONF="tests.waitingroom.web.dead_end_urls")
@pytest.mark.parametrize(
    ("path", "status", "heading"),
    [
        ("/test-errors/400/", 400, "Something in that request was not right"),
        ("/test-errors/403/", 403, "This page is not open to you"),
        ("/test-errors/500/", 500, "Something went wrong on our side"),
    ],
)
def test_every_error_status_gets_the_product_page(path, status, heading):
    client = Client(raise_request_exception=False)
    assert_product_page(client.get(path), status, heading)


@pytest.mark.django_db
def test_a_refused_csrf_check_says_to_reload_and_send_again():
    response = Client(enforce_csrf_checks=True).post("/accounts/login/", {"username": "x", "password": "y"})
    assert_product_page(response, 403, "That form had expired")


def test_the_500_page_renders_without_the_database():
    # No `db` mark: any query would raise, as it would with the database down.
    response = errors.server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    assert VIEWPORT in response.content.decode()


def test_a_404_under_a_clinic_url_names_the_clinic_and_offers_to_start_again(provider_client, clinic_a):
    html = assert_product_page(
        provider_client.get(f"/dashboard/{clinic_a.slug}/visits/999999/chat/"),
        404,
        "We could not find that page",
    )
    assert "Clinic A" in html
    assert f'href="/c/{clinic_a.slug}/"' in html


def test_a_wait_link_opened_in_another_browser_names_the_clinic(clinic_a):
    _visit, token = services.visit_start(clinic=clinic_a, patient_name="Ann", answers={})
    html = assert_product_page(Client().get(f"/v/{token}/"), 404, "This link is no longer valid")
    assert "Clinic A" in html
    assert "another browser" in html
    assert f'href="/c/{clinic_a.slug}/"' in html and "Start again" in html


@pytest.mark.django_db
def test_a_made_up_wait_link_names_no_clinic():
    html = assert_product_page(Client().get("/v/not-a-real-token/"), 404, "This link is no longer valid")
    assert "Start again" not in html


def test_a_scheduler_signing_in_lands_on_the_requests_page(clinic_a):
    staff(username="sam", clinic=clinic_a, role=Role.SCHEDULER)
    client = Client()
    response = client.post("/accounts/login/", {"username": "sam", "password": "pw-for-tests-1"}, follow=True)
    assert response.redirect_chain[-1][0] == "/dispatch/"
    assert response.status_code == 200


def test_a_provider_signing_in_lands_on_the_dashboard(provider, clinic_a):
    client = Client()
    response = client.post("/accounts/login/", {"username": "paula", "password": "pw-for-tests-1"})
    assert response.url == "/"
    assert client.get("/").url == "/dashboard/"


def test_the_brand_link_takes_a_patient_to_the_clinic_link_and_staff_home(clinic_a, provider_client):
    patient_page = Client().get(f"/c/{clinic_a.slug}/").content.decode()
    assert f'class="brand" href="/c/{clinic_a.slug}/"' in patient_page
    staff_page = provider_client.get(f"/dashboard/{clinic_a.slug}/").content.decode()
    assert 'class="brand" href="/"' in staff_page


def test_the_request_form_brand_link_stays_on_the_request_form(clinic_a):
    page = Client().get(f"/c/{clinic_a.slug}/request/").content.decode()
    assert f'class="brand" href="/c/{clinic_a.slug}/request/"' in page
