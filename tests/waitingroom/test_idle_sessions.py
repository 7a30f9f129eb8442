"""Staff sessions end after SESSION_IDLE_SECONDS without a request; using the app moves the end
on, written at most once a minute (not on every request)."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.conftest import client_for


def expiry(client) -> object:
    return Session.objects.get(session_key=client.session.session_key).expire_date


def test_use_keeps_a_session_alive_and_idleness_ends_it(provider, clinic_a, settings):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        paula = client_for(provider)
        assert paula.get("/dashboard/").status_code == 302
        first = expiry(paula)
        # Used every 7 hours (under the 8-hour limit): still signed in after 21 hours.
        for _ in range(3):
            clock.shift(timedelta(hours=7))
            assert paula.get(f"/dashboard/{clinic_a.slug}/").status_code == 200
        assert expiry(paula) > first + timedelta(hours=20)
        clock.shift(timedelta(seconds=settings.SESSION_COOKIE_AGE + 1))
        assert paula.get(f"/dashboard/{clinic_a.slug}/")["Location"].startswith("/accounts/login/")


def test_the_expiry_is_written_at_most_once_a_minute(provider, clinic_a):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        paula = client_for(provider)
        paula.get(f"/dashboard/{clinic_a.slug}/")
        before = expiry(paula)

        def writes() -> int:
            with CaptureQueriesContext(connection) as captured:
                paula.get(f"/dashboard/{clinic_a.slug}/")
            return sum(q["sql"].startswith('UPDATE "django_session"') for q in captured)

        clock.shift(timedelta(seconds=30))
        assert writes() == 0 and expiry(paula) == before
        clock.shift(timedelta(seconds=31))
        assert writes() == 1 and expiry(paula) == before + timedelta(seconds=61)
