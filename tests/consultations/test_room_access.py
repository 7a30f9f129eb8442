"""Who reaches a consultation room: providers, CSRs and clinic admins of its clinic; another
clinic's staff and schedulers get 404; the client only through their own link, a bad or re-issued
token getting the product's "link not valid" page. CSRs see the room and message but never read
the note."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from consultations import services
from tests.conftest import client_for
from tests.consultations.conftest import make_consultation
from tests.scheduling.conftest import scheduler  # noqa: F401 - the fixture, shared
from tests.waitingroom.web.test_dead_ends import assert_product_page
from waitingroom.audit.models import AccessEvent
from waitingroom.logging import redact

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(clinic_admin):
    return clinic_admin


def room_url(consultation) -> str:
    return reverse("consultation_room", args=[consultation.pk])


def part_url(consultation, part) -> str:
    return reverse("consultation_part", args=[consultation.pk, part])


@pytest.mark.parametrize("who", ["provider", "csr", "admin"])
def test_the_clinics_providers_csrs_and_admins_open_its_room(claimed, who, request):
    response = client_for(request.getfixturevalue(who)).get(room_url(claimed))
    assert response.status_code == 200
    assert b"Casey Client" in response.content and b"Limping since Sunday" in response.content
    entry = AccessEvent.objects.get()
    assert (entry.kind, entry.action, entry.object_id, entry.patient_label) == (
        "consultation",
        "viewed",
        claimed.pk,
        "Casey Client",
    )


@pytest.mark.parametrize("who", ["outsider", "scheduler"])
def test_another_clinics_staff_and_schedulers_get_404_everywhere(claimed, who, request):
    browser = client_for(request.getfixturevalue(who))
    assert browser.get(room_url(claimed)).status_code == 404
    for part in ("status", "messages", "attachments", "note"):
        assert browser.get(part_url(claimed, part)).status_code == 404
    for action in ("claim", "cancel", "lock"):
        url = reverse("consultation_action", args=[claimed.pk, action])
        assert browser.post(url, {"version": 0, "reason": "x"}).status_code == 404
    assert browser.post(reverse("consultation_message", args=[claimed.pk]), {"body": "hi"}).status_code == 404
    assert browser.post(reverse("consultation_note", args=[claimed.pk]), {"body": "x"}).status_code == 404
    claimed.refresh_from_db()
    assert claimed.status == "claimed" and not claimed.messages.exists()


def test_a_room_that_does_not_exist_is_the_same_404(provider_client):
    assert provider_client.get("/consultations/999999/").status_code == 404
    assert provider_client.get("/consultations/999999/part/status/").status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(claimed):
    response = Client().get(room_url(claimed))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_csr_messages_but_never_reads_the_note(claimed, provider, csr_client):
    services.note_save(
        consultation_id=claimed.pk, by=provider, body="Secret sprain note", expected_note_version=0
    )
    page = csr_client.get(room_url(claimed))
    assert b"Secret sprain note" not in page.content and b'data-part="note"' not in page.content
    assert csr_client.get(part_url(claimed, "note")).status_code == 404
    assert csr_client.post(reverse("consultation_note", args=[claimed.pk]), {"body": "x"}).status_code == 404
    answer = csr_client.post(
        reverse("consultation_message", args=[claimed.pk]),
        {"body": "Front desk here"},
        HTTP_ACCEPT="application/json",
    )
    assert answer.json()["ok"] is True
    assert claimed.messages.get().body == "Front desk here"


@pytest.mark.parametrize("who", ["provider", "admin"])
def test_providers_and_admins_read_the_note(claimed, provider, who, request):
    services.note_save(consultation_id=claimed.pk, by=provider, body="Sprain; rest", expected_note_version=0)
    browser = client_for(request.getfixturevalue(who))
    assert b"Sprain; rest" in browser.get(room_url(claimed)).content
    assert b"Sprain; rest" in browser.get(part_url(claimed, "note")).content


def client_room(token: str) -> str:
    return reverse("consultation_client_room", args=[token])


def test_the_clients_link_opens_their_consultation_only(clinic_a, phone_service, claimed):
    other = make_consultation(clinic_a, phone_service, email="dana@example.com", name="Dana Other")
    response = Client().get(client_room(claimed.client_token))
    assert response.status_code == 200
    assert b"Limping since Sunday" in response.content and b"Dana Other" not in response.content
    # Their token's id with another consultation's signature, and the reverse, open nothing.
    signature = claimed.client_token.partition("-")[2]
    for token in (f"{other.pk}-{signature}", f"{claimed.pk}-{other.client_token.partition('-')[2]}"):
        assert Client().get(client_room(token)).status_code == 404


@pytest.mark.parametrize("token", ["nonsense", "1-", "-abc", "99999999-deadbeef", "1" * 40 + "-x", "١٢-abc"])
def test_a_bad_token_gets_the_products_link_not_valid_page(claimed, token):
    response = Client().get(client_room(token))
    assert response.status_code == 404
    assert b"This link is no longer valid" in response.content
    assert Client().get(reverse("consultation_client_part", args=[token, "messages"])).status_code == 404
    posted = Client().post(reverse("consultation_client_message", args=[token]), {"body": "hi"})
    assert posted.status_code == 404 and not claimed.messages.exists()


def test_a_reissued_link_stops_the_old_one(claimed):
    old = claimed.client_token
    new = services.client_link_reissue(consultation_id=claimed.pk)
    assert Client().get(client_room(old)).status_code == 404
    assert Client().get(client_room(new)).status_code == 200


def test_unknown_parts_and_actions_are_404(claimed, provider_client):
    assert provider_client.get(part_url(claimed, "secrets")).status_code == 404
    url = reverse("consultation_action", args=[claimed.pk, "start"])  # the phone bridge's, not staff's
    assert provider_client.post(url, {"version": 0}).status_code == 404
    assert (
        Client().get(reverse("consultation_client_part", args=[claimed.client_token, "x"])).status_code == 404
    )


@pytest.mark.parametrize(
    "path", ["/consult/room/{token}/", "/ws/consult/room/{token}/", "/consult/room/{token}/files/3/"]
)
def test_the_clients_link_token_is_redacted_from_logs(claimed, path):
    token = claimed.client_token
    line = f"Not Found: {path.format(token=token)}"
    redacted = redact(line)
    assert token not in redacted and token.split("-")[1] not in redacted
    assert "[redacted]" in redacted


def _dead_end(response) -> str:
    html = assert_product_page(response, 404, "This link is no longer valid")
    return re.sub(
        r'(nonce|content)="[A-Za-z0-9+/=_-]{20,}"', "", html
    )  # the same bytes for every dead link (per-request nonce and CSRF token aside)


def test_a_reissued_forged_or_made_up_link_names_no_clinic_and_cannot_be_told_apart(claimed):
    old = claimed.client_token
    services.client_link_reissue(consultation_id=claimed.pk)
    reissued = _dead_end(Client().get(client_room(old)))
    forged = _dead_end(Client().get(client_room(f"{claimed.pk}-{'0' * 64}")))
    made_up = _dead_end(Client().get(client_room("99999999-deadbeef")))
    assert reissued == forged == made_up
    assert claimed.clinic.name not in reissued and "Start again" not in reissued and "/c/" not in reissued
