"""The requester's page behind a magic link, and a meeting's join link."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail, signing
from django.test import Client

from scheduling import links
from scheduling.models import Requester
from scheduling.requests import services
from tests.scheduling.conftest import scheduled_request, tomorrow
from visits.models import Visit

pytestmark = pytest.mark.django_db(transaction=True)


def link_in(body: str) -> str:
    link = re.search(r"https://clinic\.example\.test(/requests/link/\S+/)", body)
    assert link, body
    return link.group(1)


@pytest.fixture
def two_requesters(frozen, clinic_a, provider, service, hours):
    rita = scheduled_request(clinic_a, service, times=[tomorrow(clinic_a, 10)], note="Rita's note")
    olga = scheduled_request(
        clinic_a, service, times=[tomorrow(clinic_a, 11)], email="olga@example.com", name="Olga"
    )
    return rita, olga


def test_magic_link_shows_only_the_requesters_own_requests(client, two_requesters):
    rita, olga = two_requesters
    received = next(m for m in mail.outbox if m.to == ["rita@example.com"] and "received" in m.subject)
    entered = client.get(link_in(received.body))
    # The token leaves the address bar at once.
    assert entered.status_code == 302 and entered["Location"] == "/requests/"
    page = client.get("/requests/")
    assert f"#{rita.pk}".encode() in page.content and b"Rita Requester" in page.content
    assert f"#{olga.pk}".encode() not in page.content and b"Olga" not in page.content


def test_without_a_link_the_page_shows_nothing_and_offers_a_new_link(client, two_requesters):
    page = client.get("/requests/")
    assert b"Email me a link" in page.content and b"rita" not in page.content.lower()
    mail.outbox.clear()
    sent = client.post("/requests/", {"email": "RITA@example.com"}, follow=True)
    assert b"If we know that address" in sent.content
    assert [m.to for m in mail.outbox] == [["rita@example.com"]]
    # Asking again within the hour sends nothing more; unknown addresses get the same answer.
    client.post("/requests/", {"email": "rita@example.com"})
    unknown = client.post("/requests/", {"email": "nobody@example.com"}, follow=True)
    assert b"If we know that address" in unknown.content
    assert len(mail.outbox) == 1


@pytest.mark.parametrize("tamper", ["flip", "other-purpose", "mismatched-email", "expired"])
def test_a_tampered_or_expired_link_signs_nobody_in(client, two_requesters, tamper):
    rita, olga = two_requesters
    link = links.requester_link(rita.requester).removeprefix("https://clinic.example.test")
    if tamper == "flip":
        link = link[:-3] + ("A" if link[-3] != "A" else "B") + link[-2:]
    elif tamper == "other-purpose":
        # Signed by this server, but for another purpose (salt): not a requester link.
        link = "/requests/link/" + signing.dumps({"r": olga.requester.pk, "e": olga.email}) + "/"
    elif tamper == "mismatched-email":
        link = (
            "/requests/link/"
            + signing.dumps({"r": olga.requester.pk, "e": rita.email}, salt=links.REQUESTER_LINK_SALT)
            + "/"
        )
    else:
        with time_machine.travel(rita.created_at + timedelta(days=15)):
            response = client.get(link, follow=True)
            assert b"expired" in response.content
            assert b"Rita Requester" not in client.get("/requests/").content
        return
    client.get(link)
    assert b"Email me a link" in client.get("/requests/").content


def test_a_link_stops_working_when_the_email_changes(client, two_requesters):
    rita, _ = two_requesters
    link = links.requester_link(rita.requester).removeprefix("https://clinic.example.test")
    Requester.objects.filter(pk=rita.requester.pk).update(email="new@example.com")
    client.get(link)
    assert b"Email me a link" in client.get("/requests/").content


def test_requester_sees_the_response_and_can_withdraw_only_their_own(
    client, two_requesters, provider, scheduler
):
    rita, olga = two_requesters
    client.get(links.requester_link(rita.requester).removeprefix("https://clinic.example.test"))
    assert client.post(f"/requests/{olga.pk}/withdraw/").status_code == 404
    olga.refresh_from_db()
    assert olga.status == "pending"
    client.post(f"/requests/{rita.pk}/withdraw/")
    rita.refresh_from_db()
    assert rita.status == "withdrawn"
    refused = client.post(f"/requests/{rita.pk}/withdraw/", follow=True)
    assert b"already withdrawn" in refused.content
    assert Client().post(f"/requests/{rita.pk}/withdraw/").status_code == 404


def test_accepted_meeting_shows_on_the_requester_page(client, two_requesters, clinic_a, provider, scheduler):
    rita, _ = two_requesters
    services.request_accept(
        request_id=rita.pk,
        by=scheduler,
        provider_id=provider.pk,
        starts_at=tomorrow(clinic_a, 10),
        response="Booked!",
    )
    client.get(links.requester_link(rita.requester).removeprefix("https://clinic.example.test"))
    page = client.get("/requests/").content
    assert b"Booked!" in page and b"Accepted" in page
    assert b"Tue 24 Nov 2026, 10:00 EST" in page  # the clinic's zone
    assert rita.meeting.join_token.encode() in page


def test_join_link_opens_fifteen_minutes_before_and_brings_the_guest_to_the_waiting_room(
    two_requesters, clinic_a, provider, scheduler, frozen
):
    rita, _ = two_requesters
    meeting = services.request_accept(
        request_id=rita.pk, by=scheduler, provider_id=provider.pk, starts_at=tomorrow(clinic_a, 10)
    )
    guest = Client()
    url = f"/m/{meeting.join_token}/"
    early = guest.get(url)
    assert early.status_code == 200 and b"data-not-yet" in early.content and b"09:45 EST" in early.content
    guest.post(url)
    assert not Visit.objects.exists()

    frozen.move_to(tomorrow(clinic_a, 9) + timedelta(minutes=46))
    assert b"data-join" in guest.get(url).content
    joined = guest.post(url)
    visit = Visit.objects.get()
    assert (visit.clinic, visit.patient_name) == (clinic_a, "Rita Requester")
    assert (
        visit.answers["appointment"]
        == "General consultation with Paula Provider, Tuesday 24 November 2026, 10:00 EST"
    )
    assert joined["Location"].startswith("/v/") and guest.get(joined["Location"]).status_code == 200
    # Coming back (another device) reuses the visit with a fresh link; the old one stops working.
    other_device = Client()
    again = other_device.post(url)
    assert Visit.objects.count() == 1 and other_device.get(again["Location"]).status_code == 200
    assert guest.get(joined["Location"]).status_code == 404

    frozen.move_to(tomorrow(clinic_a, 10) + timedelta(minutes=31))  # over
    assert b"data-join" not in guest.get(url).content


@pytest.mark.parametrize("token", ["1-deadbeef", "not-a-token", "99999-" + "0" * 64, "-"])
def test_wrong_join_links_are_404(client, token, two_requesters, clinic_a, provider, scheduler):
    rita, _ = two_requesters
    meeting = services.request_accept(
        request_id=rita.pk, by=scheduler, provider_id=provider.pk, starts_at=tomorrow(clinic_a, 10)
    )
    assert client.get(f"/m/{token}/").status_code == 404
    forged = f"{meeting.pk}-{'0' * 64}"
    assert client.get(f"/m/{forged}/").status_code == 404
    assert client.post(f"/m/{forged}/").status_code == 404
