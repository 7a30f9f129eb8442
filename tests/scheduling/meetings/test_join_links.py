"""A meeting's join link is revoked when the meeting is cancelled or moved (join_nonce rotates):
the old link shows "this link is no longer valid"; the new one, sent in the email, works."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from scheduling.meetings import booking
from scheduling.models import Meeting
from tests.scheduling.conftest import tomorrow
from tests.waitingroom.web.test_dead_ends import assert_product_page

pytestmark = pytest.mark.django_db(transaction=True)


def invalid(response) -> bool:
    return response.status_code == 404 and b"This link is no longer valid" in response.content


def test_rescheduling_revokes_the_old_link_and_emails_the_new_one(client, meeting, provider, clinic_a):
    old = f"/m/{meeting.join_token}/"
    assert client.get(old).status_code == 200
    mail.outbox.clear()
    booking.meeting_reschedule(meeting_id=meeting.pk, by=provider, starts_at=tomorrow(clinic_a, 11))
    assert invalid(client.get(old))
    assert invalid(client.post(old, {"action": "join"}))
    new = f"/m/{Meeting.objects.get(pk=meeting.pk).join_token}/"
    assert new != old and client.get(new).status_code == 200
    [invitation] = mail.outbox
    assert re.search(r"/m/[\w-]+/", invitation.body).group(0) == new


def test_cancelling_revokes_the_link(client, meeting, provider):
    old = f"/m/{meeting.join_token}/"
    booking.meeting_cancel(meeting_id=meeting.pk, by=provider)
    assert invalid(client.get(old))


def test_a_guest_who_cancels_lands_on_the_new_link(client, meeting):
    old = f"/m/{meeting.join_token}/"
    cancelled = client.post(old, {"action": "cancel"})
    new = f"/m/{Meeting.objects.get(pk=meeting.pk).join_token}/"
    assert cancelled.status_code == 302 and cancelled["Location"] == new
    assert b"cancelled" in client.get(new).content
    assert invalid(client.get(old))


def test_a_made_up_link_gets_the_same_page(client, meeting):
    assert invalid(client.get(f"/m/{meeting.pk}-{'0' * 64}/"))
    assert invalid(client.get("/m/not-a-meeting/"))


def _dead_end(response) -> str:
    html = assert_product_page(response, 404, "This link is no longer valid")
    # The same bytes for every link that opens nothing (the per-request CSP nonce and CSRF token aside).
    return re.sub(r'(nonce|content)="[A-Za-z0-9+/=_-]{20,}"', "", html)


def test_a_revoked_forged_or_made_up_link_names_no_clinic_and_cannot_be_told_apart(client, meeting, provider):
    old = f"/m/{meeting.join_token}/"
    booking.meeting_cancel(meeting_id=meeting.pk, by=provider)
    revoked = _dead_end(client.get(old))
    forged = _dead_end(client.get(f"/m/{meeting.pk}-{'0' * 64}/"))
    made_up = _dead_end(client.get("/m/999999-abc/"))
    assert revoked == forged == made_up
    assert meeting.clinic.name not in revoked and "Start again" not in revoked and "/c/" not in revoked
