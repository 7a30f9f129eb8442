"""The report's queries do not grow with the data: the same count for a month of a clinic with 100
visits in a year and of one with 100,000 (made in bulk SQL, as the benchmark makes them)."""

from __future__ import annotations

import time
from datetime import date

import pytest
from django.utils import timezone

from bench.reports import fill_visits, last_full_month, report_queries
from tests.conftest import client_for
from tests.factories import staff
from visits.models import Visit, VisitEvent
from waitingroom.models import Clinic, Role

pytestmark = pytest.mark.django_db


def clinic_with(visits: int, today: date):
    from datetime import datetime, timedelta

    clinic = Clinic.objects.create(slug=f"busy-{visits}", name=f"Busy {visits}", time_zone="America/New_York")
    end = datetime.combine(today, datetime.min.time(), tzinfo=clinic.tzinfo)
    fill_visits(clinic.pk, count=visits, start=end - timedelta(days=365), end=end)
    admin = staff(username=f"admin-{visits}", clinic=clinic, role=Role.CLINIC_ADMIN)
    return clinic, client_for(admin)


def test_the_month_report_runs_the_same_queries_at_100_and_100000_visits():
    today = timezone.localdate()
    first, last = last_full_month(today)
    counts = {}
    for size in (100, 100_000):
        t0 = time.monotonic()
        clinic, client = clinic_with(size, today)
        assert Visit.objects.filter(clinic=clinic).count() == size
        assert time.monotonic() - t0 < 60
        url = f"/reports/?clinic={clinic.slug}&start={first.isoformat()}&end={last.isoformat()}"
        client.get(url)  # the session's first use
        counts[size] = report_queries(client, url)
        # The month has its share of the visits (about a twelfth), so the figures are real.
        assert client.get(url).context["period"].start == first
    assert VisitEvent.objects.filter(visit__clinic__slug="busy-100000").count() > 300_000
    assert counts[100] == counts[100_000] <= 15, counts
