"""A staff member's own phone number (/account/phone/): verified by an SMS code before the phone
bridge may call it; a changed number is unverified until its own code; nobody sees another's."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.conftest import client_for
from waitingroom.models import StaffPhone
from waitingroom.outbox import sms_backends

pytestmark = pytest.mark.django_db

URL = "/account/phone/"
MINE = "+12025550188"
NEW = "+12025550177"


def last_code() -> str:
    found = re.search(r"\b(\d{6})\b", sms_backends.outbox[-1].body)
    assert found
    return found.group(1)


def send(client: Client, phone: str, capture) -> None:
    with capture(execute=True):  # the SMS leaves after commit
        answer = client.post(URL, {"step": "send", "phone": phone})
    assert answer.status_code == 302, answer.content


def test_a_staff_member_verifies_their_number_with_the_texted_code(
    provider, django_capture_on_commit_callbacks
):
    client = client_for(provider)
    send(client, "(202) 555-0188", django_capture_on_commit_callbacks)
    assert sms_backends.outbox[-1].to == MINE
    phone = StaffPhone.objects.get(user=provider)
    assert (phone.number, phone.is_verified) == (MINE, False)
    assert "•••• 0188" in client.get(URL).content.decode()

    wrong = client.post(URL, {"step": "verify", "code": "000000" if last_code() != "000000" else "111111"})
    assert wrong.status_code == 400
    assert not StaffPhone.objects.get(user=provider).is_verified

    assert client.post(URL, {"step": "verify", "code": last_code()}).status_code == 302
    phone.refresh_from_db()
    assert (phone.number, phone.is_verified) == (MINE, True)
    assert "Verified" in client.get(URL).content.decode()


def test_a_changed_number_needs_a_new_verification(provider, django_capture_on_commit_callbacks):
    client = client_for(provider)
    send(client, MINE, django_capture_on_commit_callbacks)
    client.post(URL, {"step": "verify", "code": last_code()})
    assert StaffPhone.objects.get(user=provider).is_verified

    send(client, NEW, django_capture_on_commit_callbacks)
    phone = StaffPhone.objects.get(user=provider)
    assert (phone.number, phone.is_verified) == (NEW, False)  # the bridge calls verified numbers only

    client.post(URL, {"step": "verify", "code": last_code()})
    phone.refresh_from_db()
    assert (phone.number, phone.is_verified) == (NEW, True)


def test_the_page_never_shows_another_users_number(provider, csr, django_capture_on_commit_callbacks):
    send(client_for(provider), MINE, django_capture_on_commit_callbacks)
    client_for(provider).post(URL, {"step": "verify", "code": last_code()})

    page = client_for(csr).get(URL).content.decode()
    assert "0188" not in page and MINE not in page
    assert "You have not added a phone number yet" in page
    # Verifying the provider's code from another account verifies nothing of theirs.
    assert client_for(csr).post(URL, {"step": "verify", "code": "123456"}).status_code == 400
    assert not StaffPhone.objects.filter(user=csr).exists()


def test_the_page_is_for_signed_in_staff_only(db, django_user_model):
    assert Client().get(URL).status_code == 302  # to the sign-in page
    stranger = django_user_model.objects.create_user("nobody", password="x")
    assert client_for(stranger).get(URL).status_code == 404


def test_a_bad_number_is_refused_and_stores_nothing(provider):
    answer = client_for(provider).post(URL, {"step": "send", "phone": "12\x00"})
    assert answer.status_code == 400
    assert not StaffPhone.objects.exists()
