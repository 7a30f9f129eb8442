"""Entering a meeting with a guest key on /meet/ (or a clinic's own /c/<slug>/meet/): inside the
join window the guest goes into the clinic's waiting room as a visit linked to the meeting; a
wrong key or another clinic's key is refused, and wrong keys from one client are rate-limited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings as django_settings

from scheduling.meetings import booking
from scheduling.models import Meeting
from tests.scheduling.conftest import tomorrow
from tests.support.fields import assert_field, fields
from visits.models import Visit
from waitingroom.models import ClientAttempt

KEY_ATTEMPTS, _window = django_settings.RATE_LIMITS["guest-key"]
KEY_WINDOW = timedelta(seconds=_window)


@pytest.fixture
def b_meeting(frozen, clinic_b, outsider) -> Meeting:
    from scheduling.models import Service

    b_service = Service.objects.create(clinic=clinic_b, name="B consult")
    return booking.meeting_schedule(
        clinic=clinic_b, by=outsider, provider_id=outsider.pk, service=b_service,
        guest_name="Bob Bee", guest_email="bob@example.com", times=[tomorrow(clinic_b, 10)],
    )  # fmt: skip


def enter(client, key: str, path: str = "/meet/", **headers):
    return client.post(path, {"key": key}, **headers)


def test_inside_the_window_the_key_brings_the_guest_to_the_waiting_room(client, meeting, frozen, clinic_a):
    frozen.move_to(tomorrow(clinic_a, 10) - timedelta(minutes=15))  # the room opens
    spaced = f"{meeting.guest_key[:3]} {meeting.guest_key[3:6]}-{meeting.guest_key[6:]}"
    response = enter(client, spaced)
    meeting.refresh_from_db()
    visit = Visit.objects.get()
    assert meeting.visit == visit and meeting.guest_entered_at is not None
    assert (visit.clinic, visit.patient_name) == (clinic_a, "Gina Guest")
    assert response.status_code == 302 and response["Location"].startswith("/v/")
    assert client.get(response["Location"]).status_code == 200
    assert meeting.indicator() == "checking"  # yellow: entered, camera check not done yet


def test_before_the_window_the_key_shows_the_meeting_page(client, meeting):
    response = enter(client, meeting.guest_key)
    assert response["Location"] == f"/m/{meeting.join_token}/"
    assert b"You can join from 09:45 EST" in client.get(response["Location"]).content
    assert not Visit.objects.exists()


def test_a_wrong_key_is_refused_and_changes_nothing(client, meeting):
    wrong = str((int(meeting.guest_key) + 1) % 10**9).zfill(9)
    response = enter(client, wrong)
    assert response.status_code == 400 and b"not recognised" in response.content
    assert not Visit.objects.exists()


# "\uff11": a full-width digit one (a digit to str.isdigit(), not to us).
@pytest.mark.parametrize("key", ["", "12345", "1234567890", "abcdefghi", "\uff11" * 9, "12345678\x00"])
def test_a_key_that_is_not_nine_digits_is_explained(client, meeting, key):
    response = enter(client, key)
    assert response.status_code == 400 and not Visit.objects.exists()
    assert ClientAttempt.objects.count() == 0  # not even looked up


def test_another_clinics_key_is_unknown_on_a_clinics_own_page(client, meeting, b_meeting, frozen, clinic_a):
    frozen.move_to(tomorrow(clinic_a, 9) + timedelta(minutes=50))
    refused = enter(client, b_meeting.guest_key, path=f"/c/{clinic_a.slug}/meet/")
    assert refused.status_code == 400 and b"not recognised" in refused.content
    assert not Visit.objects.exists()
    accepted = enter(client, meeting.guest_key, path=f"/c/{clinic_a.slug}/meet/")
    assert accepted["Location"].startswith("/v/")
    assert Visit.objects.get().clinic == clinic_a
    assert client.get("/c/no-such-clinic/meet/").status_code == 404


def test_wrong_keys_are_rate_limited_per_client(client, meeting, frozen, clinic_a):
    for n in range(KEY_ATTEMPTS):
        assert enter(client, f"{n:09d}").status_code == 400
    # Even the right key is refused now, without being looked at.
    blocked = enter(client, meeting.guest_key)
    assert blocked.status_code == 429 and b"Too many wrong keys" in blocked.content
    # A different client is not blocked by someone else's guessing.
    assert enter(client, meeting.guest_key, REMOTE_ADDR="203.0.113.9").status_code == 302
    # A spoofed X-Forwarded-For does not help while no proxy is trusted...
    assert enter(client, meeting.guest_key, HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 429
    # ...and the window passes.
    frozen.move_to(frozen_now() + KEY_WINDOW + timedelta(seconds=1))
    assert enter(client, meeting.guest_key).status_code == 302


def test_behind_a_trusted_proxy_the_forwarded_client_counts(client, meeting, settings):
    settings.TRUSTED_PROXIES = 1
    for n in range(KEY_ATTEMPTS):
        enter(client, f"{n:09d}", HTTP_X_FORWARDED_FOR="forged, 198.51.100.7")
    assert enter(client, meeting.guest_key, HTTP_X_FORWARDED_FOR="198.51.100.7").status_code == 429
    # Another client behind the same proxy (the same REMOTE_ADDR) is not blocked.
    assert enter(client, meeting.guest_key, HTTP_X_FORWARDED_FOR="198.51.100.8").status_code == 302


def test_a_cancelled_meetings_key_shows_that_it_was_cancelled(client, meeting, provider):
    booking.meeting_cancel(meeting_id=meeting.pk, by=provider)
    page = client.get(enter(client, meeting.guest_key)["Location"])
    assert b"This session was cancelled." in page.content
    meeting.refresh_from_db()  # cancelling gave the meeting a new link
    assert client.post(f"/m/{meeting.join_token}/", {"action": "join"}).status_code == 302
    assert not Visit.objects.exists()


def test_guest_key_attempts_keep_no_address_in_the_clear(client, meeting):
    enter(client, "000000000", REMOTE_ADDR="192.0.2.77")
    [attempt] = ClientAttempt.objects.all()
    assert "192.0.2.77" not in attempt.client and len(attempt.client) == 64


def frozen_now():
    from django.utils import timezone

    return timezone.now()


@pytest.mark.parametrize("path", ["/meet/", "/c/clinic-a/meet/"])
def test_the_guest_key_gets_the_number_keyboard_and_no_saved_value(client, clinic_a, path):
    key = fields(client.get(path).content.decode())["key"]
    assert_field(key, {"type": "text", "inputmode": "numeric", "autocomplete": "off", "spellcheck": "false"})
