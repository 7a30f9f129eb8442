"""A request made while the database cannot be reached gets a 503 (a page, or the JSON error a
script shows), never a 500 with a traceback. (With a real stopped server: test_outage.py.)"""

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.db import InterfaceError, OperationalError

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_a_database_error_is_a_503_page(provider_client, clinic_a, monkeypatch, error):
    def unreachable(self):
        raise error("connection to server at 127.0.0.1 failed: Connection refused")

    monkeypatch.setattr(SessionStore, "load", unreachable)
    page = provider_client.get(f"/dashboard/{clinic_a.slug}/")
    assert page.status_code == 503 and page["Retry-After"] == "5"
    assert b"We'll be right back" in page.content and b"Traceback" not in page.content
    action = provider_client.post(
        f"/dashboard/{clinic_a.slug}/visits/1/call/", HTTP_ACCEPT="application/json"
    )
    assert action.status_code == 503 and action.json()["ok"] is False


def test_an_error_outside_the_view_is_a_503_too(provider_client, clinic_a, monkeypatch):
    """Raised by a middleware on the way out, after the view: the 500 it became is a 503."""
    from waitingroom.middleware import IdleSessionRefresh

    def unreachable(self, request, response):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(IdleSessionRefresh, "process_response", unreachable)
    provider_client.raise_request_exception = False
    response = provider_client.get(f"/dashboard/{clinic_a.slug}/")
    assert response.status_code == 503 and b"We'll be right back" in response.content
