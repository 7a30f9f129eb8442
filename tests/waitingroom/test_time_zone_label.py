"""Time zones are shown as people read them, not as database names."""

from __future__ import annotations

import pytest
from django.test import Client

from waitingroom.models import time_zone_label


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("America/New_York", "New York time"),
        ("America/Argentina/Buenos_Aires", "Buenos Aires time"),
        ("Europe/Paris", "Paris time"),
        ("UTC", "UTC"),
    ],
)
def test_a_time_zone_reads_as_its_city_time(name, label):
    assert time_zone_label(name) == label


@pytest.mark.django_db
def test_the_request_form_and_calendar_say_new_york_time(clinic_a):
    clinic_a.time_zone = "America/New_York"
    clinic_a.save(update_fields=["time_zone"])
    for path in (f"/c/{clinic_a.slug}/request/", f"/c/{clinic_a.slug}/calendar/"):
        html = Client().get(path).content.decode()
        assert "New York time" in html and "America/New_York" not in html
