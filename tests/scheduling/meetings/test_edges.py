"""Meetings at their edges (each found in review): a completed meeting can't be reopened by the
guest, a cancelled or moved meeting sends a waiting guest out of the room, a change made from a
stale page is refused, odd input is a 4xx, and old guest-key attempts are purged."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core import mail

from scheduling.meetings import booking, services
from scheduling.meetings.status import MeetingStatus
from scheduling.models import Meeting
from tests.conftest import client_for
from tests.factories import staff
from tests.scheduling.conftest import tomorrow
from visits import services as visit_services
from visits.lifecycle import Status
from visits.models import Visit
from waitingroom import ratelimit
from waitingroom.models import ClientAttempt, Role

KEY_ATTEMPTS, _window = django_settings.RATE_LIMITS["guest-key"]
KEY_WINDOW = timedelta(seconds=_window)

pytestmark = pytest.mark.django_db(transaction=True)


def in_the_room(frozen, meeting) -> Visit:
    frozen.move_to(meeting.starts_at - timedelta(minutes=10))
    visit, _token = services.meeting_enter(meeting_id=meeting.pk)
    visit_services.visit_media_result(visit_id=visit.pk, ok=True)
    return visit


def test_a_completed_meeting_stays_completed_when_the_guest_comes_back(frozen, client, meeting, provider):
    visit = in_the_room(frozen, meeting)
    services.meeting_host_enter(meeting_id=meeting.pk, user=provider)
    visit_services.visit_end(visit_id=visit.pk, user=provider)
    frozen.move_to(meeting.starts_at + timedelta(minutes=15))  # the room would still be open
    with pytest.raises(services.MeetingRefused, match="can't be joined"):
        services.meeting_enter(meeting_id=meeting.pk)
    page = client.post(f"/m/{meeting.join_token}/", {"action": "join"}, follow=True)
    assert b"can&#x27;t be joined now" in page.content and b"data-join" not in page.content
    meeting.refresh_from_db()
    assert meeting.visit == visit and Visit.objects.count() == 1
    assert meeting.current_status(meeting.ends_at + timedelta(hours=1)) == MeetingStatus.COMPLETED


@pytest.mark.parametrize("by_guest", [False, True])
def test_cancelling_sends_a_waiting_guest_out_of_the_room(frozen, meeting, provider, by_guest):
    visit = in_the_room(frozen, meeting)
    booking.meeting_cancel(meeting_id=meeting.pk, by=None if by_guest else provider, by_guest=by_guest)
    visit.refresh_from_db()
    meeting.refresh_from_db()
    assert visit.status == Status.CANCELLED
    assert (meeting.visit, meeting.guest_entered_at, meeting.indicator()) == (None, None, "absent")
    assert visit.events.last().event == "withdraw"
    with pytest.raises(services.MeetingRefused):
        services.meeting_enter(meeting_id=meeting.pk)


def test_rescheduling_sends_the_guest_out_until_the_new_time(frozen, clinic_a, meeting, provider):
    visit = in_the_room(frozen, meeting)
    booking.meeting_reschedule(meeting_id=meeting.pk, by=provider, starts_at=tomorrow(clinic_a, 15))
    visit.refresh_from_db()
    meeting.refresh_from_db()
    assert visit.status == Status.CANCELLED and meeting.visit is None and meeting.indicator() == "absent"
    with pytest.raises(services.MeetingRefused):
        services.meeting_enter(meeting_id=meeting.pk)  # 09:50: the new time opens at 14:45
    frozen.move_to(tomorrow(clinic_a, 14) + timedelta(minutes=50))
    new_visit, _token = services.meeting_enter(meeting_id=meeting.pk)
    assert new_visit != visit and new_visit.status == Status.CONNECTING


def test_a_change_from_a_stale_page_is_refused(frozen, clinic_a, meeting, provider):
    colleague = staff(username="pia", clinic=clinic_a, role=Role.PROVIDER)
    paula = client_for(provider)
    page_seen = meeting.sequence
    booking.meeting_assign(meeting_id=meeting.pk, by=provider, provider_id=colleague.pk)
    mail.outbox.clear()
    stale = paula.post(
        f"/meetings/{meeting.pk}/change/",
        {"action": "reschedule", "starts_at": "2026-11-24T16:00", "sequence": page_seen},
    )
    assert stale.status_code == 400 and b"Someone changed this meeting meanwhile" in stale.content
    meeting.refresh_from_db()
    assert meeting.starts_at == tomorrow(clinic_a, 10) and mail.outbox == []
    fresh = paula.post(
        f"/meetings/{meeting.pk}/change/",
        {"action": "reschedule", "starts_at": "2026-11-24T16:00", "sequence": meeting.sequence},
    )
    assert fresh.status_code == 302
    meeting.refresh_from_db()
    assert meeting.starts_at == tomorrow(clinic_a, 16)


@pytest.mark.parametrize(
    "path", ["/meetings/?clinic=%00", "/meetings/rows/?clinic=%00", "/meetings/new/?clinic=%00"]
)
def test_a_nul_in_the_clinic_is_not_found(provider, path):
    assert client_for(provider).get(path).status_code == 404


def test_dates_far_out_are_explained_in_any_zone(frozen, clinic_a, meeting, provider, service):
    clinic_a.time_zone = "Asia/Tokyo"  # east of UTC: year 1 would fall before the calendar starts
    clinic_a.save(update_fields=["time_zone"])
    paula = client_for(provider)
    for value in ("0001-01-01T00:00", "9999-12-31T23:59"):
        new = paula.post(
            "/meetings/new/",
            {"guest_name": "G", "guest_email": "g@example.com", "service": service.pk, "provider": provider.pk,
             "time_1": value},
        )  # fmt: skip
        moved = paula.post(f"/meetings/{meeting.pk}/change/", {"action": "reschedule", "starts_at": value})
        assert new.status_code == moved.status_code == 400
    assert Meeting.objects.count() == 1 and Meeting.objects.get().starts_at == meeting.starts_at


def test_a_cancelled_meetings_agenda_is_not_offered(frozen, meeting, provider):
    booking.meeting_cancel(meeting_id=meeting.pk, by=provider)
    response = client_for(provider).get(f"/meetings/{meeting.pk}/agenda.ics", follow=True)
    assert b"This meeting was cancelled." in response.content
    assert not response["Content-Type"].startswith("text/calendar")


def test_old_guest_key_attempts_are_purged(frozen, client, meeting, settings):
    client.post("/meet/", {"key": "000000000"})
    frozen.move_to(frozen_now() + KEY_WINDOW)
    client.post("/meet/", {"key": "000000001"})
    assert ratelimit.purge() == 1
    assert ClientAttempt.objects.count() == 1
    entry = settings.CELERY_BEAT_SCHEDULE["client-attempts-purge"]
    assert entry["task"] == "waitingroom.tasks.purge_client_attempts"


def test_the_sixth_guess_in_a_burst_is_never_looked_up(frozen, meeting, monkeypatch):
    looked_up = []
    original = Meeting.objects.select_related

    def counting(*fields):
        looked_up.append(fields)
        return original(*fields)

    monkeypatch.setattr(Meeting.objects, "select_related", counting)
    for n in range(8):
        with pytest.raises(services.MeetingRefused):
            services.meeting_by_guest_key(key=f"{n:09d}", client="192.0.2.1")
    assert len(looked_up) == KEY_ATTEMPTS


def frozen_now():
    from django.utils import timezone

    return timezone.now()


def test_a_guest_in_the_room_takes_no_walk_in_place_under_the_cap(frozen, clinic_a, meeting):
    """The queue cap is for walk-ins (visits/selectors.py queue_full): a meeting's guest waiting for
    their provider leaves the one place of a room capped at one to a walk-in."""
    clinic_a.max_waiting = 1
    clinic_a.save(update_fields=["max_waiting"])
    visit = Visit.objects.get(pk=in_the_room(frozen, meeting).pk)
    assert visit.status == Status.WAITING and visit.booked
    walk_in, _token = visit_services.visit_start(clinic=clinic_a, patient_name="Walk In", answers={})
    assert not walk_in.booked
