"""Login throttling (django-axes): wrong passwords for one username from one client address lock
that pair out, with a clear message, until the cool-off ends; nobody else is affected."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.utils import timezone

from tests.conftest import PASSWORD

LIMIT = settings.AXES_FAILURE_LIMIT
LOCKED = "Too many failed sign-ins"


def sign_in(url: str, username: str, password: str, address: str = "203.0.113.7", **headers):
    client = Client()
    response = client.post(url, {"username": username, "password": password}, REMOTE_ADDR=address, **headers)
    return client, response


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/"])
def test_wrong_passwords_lock_out_one_user_at_one_address_until_the_cooloff(url, django_user_model, csr):
    user = django_user_model.objects.create_superuser("root", "root@example.test", PASSWORD)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(LIMIT):
            sign_in(url, user.username, "wrong-password")
        client, response = sign_in(url, user.username, PASSWORD)
        assert response.status_code == 429
        assert LOCKED in response.content.decode()
        assert not signed_in(client)

        # Another user from the same address, and the same user from another address, still sign in.
        assert signed_in(sign_in(url, csr.username, PASSWORD)[0]) is (url == "/accounts/login/")
        other, response = sign_in(url, user.username, PASSWORD, address="198.51.100.9")
        assert response.status_code == 302 and signed_in(other)

    with time_machine.travel(start + settings.AXES_COOLOFF_TIME + timedelta(seconds=1), tick=False):
        client, response = sign_in(url, user.username, PASSWORD)
        assert response.status_code == 302 and signed_in(client)


def test_the_address_comes_from_trusted_proxies(settings, provider):
    """Behind one proxy the client is the address it saw: the same user through the proxy from two
    clients are two addresses, and a spoofed left-most X-Forwarded-For does not reset the count."""
    settings.TRUSTED_PROXIES = 1
    for spoof in range(LIMIT):
        sign_in(
            "/accounts/login/", provider.username, "wrong", HTTP_X_FORWARDED_FOR=f"10.0.0.{spoof}, 192.0.2.1"
        )
    _, response = sign_in(
        "/accounts/login/", provider.username, PASSWORD, HTTP_X_FORWARDED_FOR="10.9.9.9, 192.0.2.1"
    )
    assert response.status_code == 429
    client, _ = sign_in("/accounts/login/", provider.username, PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.2")
    assert signed_in(client)
