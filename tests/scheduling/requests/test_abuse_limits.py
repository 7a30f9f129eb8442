"""The request form and the requester's sign-in link email someone: both are limited per client
address, with a clear 429, and a refused attempt sends nothing."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core import mail

from scheduling.models import AppointmentRequest
from tests.scheduling.requests.test_request_form import form_data

pytestmark = pytest.mark.django_db(transaction=True)
FORMS_PER_CLIENT, _ = settings.RATE_LIMITS["request-form"]
LINKS_PER_CLIENT, _ = settings.RATE_LIMITS["requester-sign-in"]


def test_request_form_emails_from_one_address_are_cut_at_the_limit(
    client, frozen, clinic_a, provider, service, hours
):
    answers = [
        client.post(
            f"/c/{clinic_a.slug}/request/",
            form_data(clinic_a, service, email=f"r{n}@example.com"),
            REMOTE_ADDR="203.0.113.5",
        )
        for n in range(10)
    ]
    assert [a.status_code for a in answers] == [302] * FORMS_PER_CLIENT + [429] * (10 - FORMS_PER_CLIENT)
    assert b"Too many requests from your network" in answers[-1].content
    assert AppointmentRequest.objects.count() == FORMS_PER_CLIENT
    sent = len(mail.outbox)
    assert {m.to[0] for m in mail.outbox if m.to[0].startswith("r")} == {
        f"r{n}@example.com" for n in range(FORMS_PER_CLIENT)
    }
    other = client.post(
        f"/c/{clinic_a.slug}/request/", form_data(clinic_a, service), REMOTE_ADDR="198.51.100.2"
    )
    assert other.status_code == 302 and len(mail.outbox) > sent


def test_sign_in_links_from_one_address_are_cut_at_the_limit(client, db):
    answers = [
        client.post("/requests/", {"email": f"someone{n}@example.com"}, REMOTE_ADDR="203.0.113.5")
        for n in range(10)
    ]
    assert [a.status_code for a in answers] == [302] * LINKS_PER_CLIENT + [429] * (10 - LINKS_PER_CLIENT)
    assert b"Too many requests from your network" in answers[-1].content
    assert (
        client.post("/requests/", {"email": "x@example.com"}, REMOTE_ADDR="198.51.100.2").status_code == 302
    )
