"""The room's services: each lifecycle change checks who acts and the page's version, records an
event, and tells both sides of the room and the clinic's dashboards after commit; messages count
unread per side; the note keeps every version; refusals change and publish nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import mail

from consultations import services
from consultations.lifecycle import Event, Status
from consultations.models import Consultation, ConsultationEvent, ConsultationMessage, ConsultationNote
from tests.consultations.conftest import make_consultation
from tests.factories import staff
from tests.visits.conftest import Published
from waitingroom.models import Role
from waitingroom.realtime import groups

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(clinic_admin):
    return clinic_admin


@pytest.fixture
def colleague(clinic_a):
    return staff(
        username="pete", clinic=clinic_a, role=Role.PROVIDER, first_name="Pete", last_name="Provider"
    )


def told(published: Published, consultation, *parts: str) -> None:
    """Both sides of the room heard exactly these parts, and the dashboards their panel."""
    hint = {"type": "consultation", "version": consultation.version, "parts": sorted(parts)}
    assert published.to(groups.consultation_staff_group(consultation.pk)) == [hint]
    assert published.to(groups.consultation_client_group(consultation.pk)) == [hint]
    assert published.to(groups.clinic_staff_group(consultation.clinic_id)) == [
        {"type": "panel", "panel": "consultations"}
    ]


def test_an_expert_claims_an_available_consultation_and_everyone_is_told(available, provider, published):
    with published.commit():
        services.consultation_claim(consultation_id=available.pk, by=provider, expected_version=0)
    available.refresh_from_db()
    assert (available.status, available.expert, available.version) == (Status.CLAIMED, provider, 1)
    assert available.claimed_at is not None
    event = ConsultationEvent.objects.get(consultation=available)
    assert (event.event, event.from_status, event.to_status, event.user) == (
        "claim",
        "available",
        "claimed",
        provider,
    )
    told(published, available, "status", "messages", "attachments", "call", "payment")


def test_the_second_expert_is_told_who_claimed_first(available, provider, colleague, published):
    services.consultation_claim(consultation_id=available.pk, by=provider, expected_version=0)
    with pytest.raises(services.ConsultationRefused, match="Paula Provider claimed this consultation first"):
        services.consultation_claim(consultation_id=available.pk, by=colleague, expected_version=0)


@pytest.mark.parametrize("who", ["csr", "admin"])
def test_only_experts_claim(available, who, request):
    with pytest.raises(services.ConsultationRefused, match="Only the consultation's expert"):
        services.consultation_claim(
            consultation_id=available.pk, by=request.getfixturevalue(who), expected_version=0
        )


def test_a_cancelled_consultation_cannot_be_claimed(clinic_a, phone_service, provider, published):
    cancelled = make_consultation(clinic_a, phone_service, status=Status.CANCELLED)
    with (
        published.commit(),
        pytest.raises(services.ConsultationRefused, match="This consultation was cancelled"),
    ):
        services.consultation_claim(consultation_id=cancelled.pk, by=provider, expected_version=0)
    assert published.sent == []


def test_another_clinics_expert_cannot_claim(available, outsider):
    with pytest.raises(services.ConsultationRefused, match="can't change this consultation"):
        services.consultation_claim(consultation_id=available.pk, by=outsider, expected_version=0)
    available.refresh_from_db()
    assert available.status == Status.AVAILABLE


def test_a_stale_page_is_refused_and_changes_nothing(claimed, provider, published):
    claimed.version = 3
    claimed.save(update_fields=["version"])
    with published.commit(), pytest.raises(services.StalePage, match="changed meanwhile"):
        services.consultation_complete(consultation_id=claimed.pk, by=provider, expected_version=2)
    claimed.refresh_from_db()
    assert claimed.status == Status.CLAIMED and not ConsultationEvent.objects.exists()
    assert published.sent == []


def test_the_expert_releases_before_the_start_but_not_after(claimed, provider, colleague):
    with pytest.raises(services.ConsultationRefused, match="Only the consultation's expert"):
        services.consultation_release(consultation_id=claimed.pk, by=colleague, expected_version=0)
    with (
        time_machine.travel(claimed.starts_at + timedelta(minutes=1)),
        pytest.raises(services.ConsultationRefused, match="has started"),
    ):
        services.consultation_release(consultation_id=claimed.pk, by=provider, expected_version=0)
    services.consultation_release(consultation_id=claimed.pk, by=provider, expected_version=0)
    claimed.refresh_from_db()
    assert (claimed.status, claimed.expert, claimed.claimed_at) == (Status.AVAILABLE, None, None)


def test_cancel_needs_a_reason_and_emails_the_client_a_link_to_book_again(claimed, provider, published):
    with pytest.raises(services.ConsultationRefused, match="reason"):
        services.consultation_cancel(consultation_id=claimed.pk, by=provider, reason="  ", expected_version=0)
    assert mail.outbox == []
    with published.commit():
        services.consultation_cancel(
            consultation_id=claimed.pk, by=provider, reason="Paula is ill today.", expected_version=0
        )
    claimed.refresh_from_db()
    assert (claimed.status, claimed.cancel_reason) == (Status.CANCELLED, "Paula is ill today.")
    assert ConsultationEvent.objects.get(consultation=claimed).detail == "Paula is ill today."
    [email] = mail.outbox
    assert (
        email.to == ["casey@example.com"]
        and email.subject == "Your phone consultation with Clinic A was cancelled"
    )
    link = "https://clinic.example.test/c/clinic-a/consult/"
    assert link in email.body
    assert "Paula is ill today." in email.body and "book another consultation" in email.body
    html = email.alternatives[0][0]
    assert f'href="{link}"' in html
    told(published, claimed, "status", "messages", "attachments", "call", "payment")


def test_a_clinic_admin_may_cancel_but_a_csr_may_not(claimed, admin, csr):
    with pytest.raises(services.ConsultationRefused, match="expert or a clinic admin"):
        services.consultation_cancel(consultation_id=claimed.pk, by=csr, reason="No", expected_version=0)
    services.consultation_cancel(
        consultation_id=claimed.pk, by=admin, reason="Closed today", expected_version=0
    )


def test_complete_then_the_room_stays_open_until_locked(claimed, provider, published):
    services.consultation_complete(consultation_id=claimed.pk, by=provider, expected_version=0)
    services.message_post(consultation_id=claimed.pk, body="Thank you!")  # the client, after completion
    with published.commit():
        services.consultation_set_open(
            consultation_id=claimed.pk, by=provider, is_open=False, expected_version=1
        )
    claimed.refresh_from_db()
    assert (claimed.status, claimed.is_open, claimed.version) == (Status.COMPLETED, False, 2)
    with pytest.raises(services.RoomClosed, match="closed for messages"):
        services.message_post(consultation_id=claimed.pk, body="One more thing")
    with pytest.raises(services.ConsultationRefused, match="already locked"):
        services.consultation_set_open(
            consultation_id=claimed.pk, by=provider, is_open=False, expected_version=2
        )
    # Staff may still write to a locked room.
    services.message_post(consultation_id=claimed.pk, body="Take care", by=provider)
    assert list(ConsultationEvent.objects.values_list("event", flat=True)) == [Event.COMPLETE, Event.LOCK]


def test_messages_count_unread_per_side_and_tell_the_dashboards_only_of_the_clients(
    claimed, provider, published
):
    with published.commit():
        services.message_post(consultation_id=claimed.pk, body="Rex is limping again")
    assert published.to(groups.clinic_staff_group(claimed.clinic_id)) == [
        {"type": "panel", "panel": "consultations"}
    ]
    assert published.to(groups.consultation_client_group(claimed.pk)) == [
        {"type": "consultation", "version": 0, "parts": ["messages"]}
    ]
    published.clear()
    with published.commit():
        services.message_post(consultation_id=claimed.pk, body="Sorry to hear: any swelling?", by=provider)
    assert published.to(groups.clinic_staff_group(claimed.clinic_id)) == []
    claimed.refresh_from_db()
    assert (claimed.unread_by_staff, claimed.unread_by_client, claimed.version) == (1, 1, 0)
    with published.commit():
        assert services.messages_mark_read(consultation_id=claimed.pk, by_staff=True) is True
    assert services.messages_mark_read(consultation_id=claimed.pk, by_staff=True) is False
    claimed.refresh_from_db()
    assert (claimed.unread_by_staff, claimed.unread_by_client) == (0, 1)
    assert [m.sender for m in ConsultationMessage.objects.all()] == ["client", "staff"]


def test_nobody_posts_to_a_cancelled_consultation(clinic_a, phone_service, provider):
    cancelled = make_consultation(clinic_a, phone_service, expert=provider, status=Status.CANCELLED)
    with pytest.raises(services.RoomClosed, match="cancelled"):
        services.message_post(consultation_id=cancelled.pk, body="Hello?")
    with pytest.raises(services.ConsultationRefused, match="cancelled"):
        services.message_post(consultation_id=cancelled.pk, body="Hello?", by=provider)
    assert not ConsultationMessage.objects.exists()


def test_empty_and_overlong_messages_are_refused(claimed):
    with pytest.raises(services.ConsultationRefused, match="Type a message"):
        services.message_post(consultation_id=claimed.pk, body="   ")
    with pytest.raises(services.ConsultationRefused, match="2000 characters"):
        services.message_post(consultation_id=claimed.pk, body="x" * 2001)


def test_the_note_keeps_every_version_and_refuses_a_save_over_an_unseen_one(claimed, provider, published):
    with published.commit():
        services.note_save(consultation_id=claimed.pk, by=provider, body="Sprain.", expected_note_version=0)
    assert published.to(groups.consultation_client_group(claimed.pk)) == [
        {"type": "consultation", "version": 0, "parts": ["note"]}
    ]
    services.note_save(
        consultation_id=claimed.pk, by=provider, body="Sprain; rest a week.", expected_note_version=1
    )
    with pytest.raises(services.ConsultationRefused, match="changed meanwhile"):
        services.note_save(consultation_id=claimed.pk, by=provider, body="Old page", expected_note_version=1)
    versions = list(ConsultationNote.objects.filter(consultation=claimed).values_list("version", "body"))
    assert versions == [(2, "Sprain; rest a week."), (1, "Sprain.")]


@pytest.mark.parametrize("who", ["csr", "admin", "colleague"])
def test_only_the_claimed_expert_writes_the_note(claimed, who, request):
    with pytest.raises(services.ConsultationRefused, match="Only the consultation's expert writes"):
        services.note_save(
            consultation_id=claimed.pk, by=request.getfixturevalue(who), body="Mine", expected_note_version=0
        )


def test_a_reissued_link_replaces_the_old_one_and_tells_its_sockets(claimed, published):
    old = claimed.client_token
    with published.commit():
        new = services.client_link_reissue(consultation_id=claimed.pk)
    assert new != old
    from consultations.access import client_consultation

    assert client_consultation(old) is None and client_consultation(new) == claimed
    assert published.to(groups.consultation_client_group(claimed.pk)) == [
        {"type": "consultation_link_reissued"}
    ]


def test_nothing_is_published_when_the_transaction_rolls_back(available, provider, published):
    from django.db import transaction

    with published.commit():
        try:
            with transaction.atomic():
                services.consultation_claim(consultation_id=available.pk, by=provider, expected_version=0)
                raise RuntimeError("the request failed after the claim")
        except RuntimeError:
            pass
    assert published.sent == []
    assert Consultation.objects.get(pk=available.pk).status == Status.AVAILABLE


def test_the_system_starts_a_claimed_consultation_once_and_never_an_available_one(
    claimed, available, published
):
    with published.commit():
        services.consultation_start(consultation_id=claimed.pk)
    claimed.refresh_from_db()
    assert (claimed.status, claimed.version) == (Status.IN_PROGRESS, 1) and claimed.started_at is not None
    told(published, claimed, "status", "messages", "attachments", "call", "payment")
    # A second connected call (the bridge retrying) changes nothing.
    services.consultation_start(consultation_id=claimed.pk)
    claimed.refresh_from_db()
    assert claimed.version == 1
    assert list(ConsultationEvent.objects.filter(consultation=claimed).values_list("event", flat=True)) == [
        Event.START
    ]
    # Nobody has claimed this one: no call can have started it.
    with pytest.raises(services.ConsultationRefused):
        services.consultation_start(consultation_id=available.pk)
    available.refresh_from_db()
    assert (available.status, available.version) == (Status.AVAILABLE, 0)
