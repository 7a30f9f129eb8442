"""Meetings scheduled by staff: one time or proposals the guest picks from, reschedule, cancel and
assign (each emailed, the .ics parsed back), the facts that move the status (the guest's visit,
the call, its failure), the sweep that keeps stored statuses current, and the events it sends."""

from __future__ import annotations

from datetime import timedelta

import icalendar
import pytest
from django.core import mail

from scheduling.meetings import booking, services
from scheduling.meetings.status import MeetingStatus
from scheduling.models import Meeting, MeetingEvent
from scheduling.times import slot_value
from tests.conftest import client_for
from tests.factories import staff
from tests.scheduling.conftest import MONDAY_NOON, tomorrow
from visits import services as visit_services
from visits.lifecycle import Status
from waitingroom.models import Role
from waitingroom.realtime import groups, publisher

# Emails and realtime events leave after commit: these tests commit.
pytestmark = pytest.mark.django_db(transaction=True)


def schedule(clinic, provider, service, times, **extra) -> Meeting:
    return booking.meeting_schedule(
        clinic=clinic,
        by=provider,
        provider_id=provider.pk,
        service=service,
        guest_name=extra.pop("guest_name", "Gina Guest"),
        guest_email=extra.pop("guest_email", "gina@example.com"),
        times=times,
        **extra,
    )


def calendar_of(message) -> tuple[icalendar.Calendar, icalendar.Component]:
    [(filename, content, mimetype)] = message.attachments
    assert filename == "invite.ics" and mimetype.startswith("text/calendar")
    [event] = icalendar.Calendar.from_ical(content).walk("VEVENT")
    return icalendar.Calendar.from_ical(content), event


@pytest.fixture
def colleague(clinic_a):
    return staff(username="pia", clinic=clinic_a, role=Role.PROVIDER, first_name="Pia", last_name="Second")


@pytest.fixture
def events(monkeypatch):
    sent = []
    monkeypatch.setattr(publisher, "_deliver", sent.extend)
    return sent


def test_one_time_books_the_meeting_and_invites_the_guest_with_key_link_and_ics(
    frozen, clinic_a, provider, service
):
    meeting = schedule(
        clinic_a, provider, service, [tomorrow(clinic_a, 10)], description="Bring your results."
    )
    meeting.refresh_from_db()
    assert (meeting.status, meeting.ends_at - meeting.starts_at) == (
        MeetingStatus.SCHEDULED,
        timedelta(minutes=30),
    )
    assert len(meeting.guest_key) == 9 and meeting.guest_key.isdigit()
    [invitation] = mail.outbox
    assert invitation.to == ["gina@example.com"]
    assert invitation.subject == "Invitation: General consultation on Tuesday 24 November 2026, 10:00 EST"
    assert meeting.guest_key_display in invitation.body and "Bring your results." in invitation.body
    assert (
        f"/m/{meeting.join_token}/" in invitation.body
        and "https://clinic.example.test/meet/" in invitation.body
    )
    calendar, event = calendar_of(invitation)
    assert calendar["METHOD"] == "REQUEST"
    assert event.decoded("DTSTART") == meeting.starts_at and event.decoded("DTEND") == meeting.ends_at
    assert str(event["UID"]) == f"meeting-{meeting.pk}@clinic.example.test"
    assert int(event["SEQUENCE"]) == 0
    assert meeting.guest_key_display in str(event["DESCRIPTION"])
    assert [e.event for e in MeetingEvent.objects.filter(meeting=meeting)] == ["schedule"]


def test_several_times_make_it_planning_until_the_guest_picks_one(
    frozen, client, clinic_a, provider, service
):
    times = [tomorrow(clinic_a, 10), tomorrow(clinic_a, 13), tomorrow(clinic_a, 15)]
    meeting = schedule(clinic_a, provider, service, times)
    assert (meeting.starts_at, meeting.status) == (None, MeetingStatus.PLANNING)
    [proposals] = mail.outbox
    assert proposals.subject == "Pick a time: General consultation with Paula Provider"
    assert "Tuesday 24 November 2026, 13:00 EST" in proposals.body and meeting.join_token in proposals.body
    mail.outbox.clear()

    page = client.get(f"/m/{meeting.join_token}/")
    assert page.status_code == 200 and page.content.count(b"data-pick=") == 3
    picked = client.post(f"/m/{meeting.join_token}/", {"action": "pick", "time": slot_value(times[1])})
    assert picked.status_code == 302
    meeting.refresh_from_db()
    assert (meeting.starts_at, meeting.status) == (times[1], MeetingStatus.SCHEDULED)
    [invitation] = mail.outbox
    assert calendar_of(invitation)[1].decoded("DTSTART") == times[1]
    # Picking again, or a time that was not proposed, changes nothing.
    again = client.post(
        f"/m/{meeting.join_token}/", {"action": "pick", "time": slot_value(times[2])}, follow=True
    )
    assert b"already chosen" in again.content
    meeting.refresh_from_db()
    assert meeting.starts_at == times[1] and len(mail.outbox) == 1


def test_a_proposed_time_the_host_has_since_filled_cannot_be_picked(frozen, clinic_a, provider, service):
    ten = tomorrow(clinic_a, 10)
    planning = schedule(clinic_a, provider, service, [ten, tomorrow(clinic_a, 14)])
    schedule(clinic_a, provider, service, [ten], guest_email="other@example.com")
    with pytest.raises(services.MeetingRefused, match="no longer free"):
        booking.meeting_pick_time(meeting_id=planning.pk, starts_at=ten)
    with pytest.raises(services.MeetingRefused, match="proposed times"):
        booking.meeting_pick_time(meeting_id=planning.pk, starts_at=tomorrow(clinic_a, 11))
    assert Meeting.objects.get(pk=planning.pk).starts_at is None


def test_reschedule_emails_the_updated_invitation_with_a_higher_sequence(frozen, clinic_a, provider, service):
    meeting = schedule(clinic_a, provider, service, [tomorrow(clinic_a, 10)])
    mail.outbox.clear()
    booking.meeting_reschedule(meeting_id=meeting.pk, by=provider, starts_at=tomorrow(clinic_a, 15))
    [moved] = mail.outbox
    assert moved.subject == "Invitation: General consultation on Tuesday 24 November 2026, 15:00 EST"
    assert "moved to a new time" in moved.body
    _calendar, event = calendar_of(moved)
    assert event.decoded("DTSTART") == tomorrow(clinic_a, 15) and int(event["SEQUENCE"]) == 1
    assert str(event["UID"]) == f"meeting-{meeting.pk}@clinic.example.test"  # the same event, updated


def test_reschedule_over_another_session_needs_an_override(frozen, clinic_a, provider, service):
    schedule(clinic_a, provider, service, [tomorrow(clinic_a, 15)], guest_email="first@example.com")
    meeting = schedule(clinic_a, provider, service, [tomorrow(clinic_a, 10)])
    with pytest.raises(booking.BookingConflict):
        booking.meeting_reschedule(meeting_id=meeting.pk, by=provider, starts_at=tomorrow(clinic_a, 15))
    assert Meeting.objects.get(pk=meeting.pk).starts_at == tomorrow(clinic_a, 10)
    booking.meeting_reschedule(
        meeting_id=meeting.pk, by=provider, starts_at=tomorrow(clinic_a, 15), override=True
    )
    assert Meeting.objects.get(pk=meeting.pk).starts_at == tomorrow(clinic_a, 15)


def test_cancel_by_staff_emails_the_guest_a_cancelled_event(frozen, clinic_a, provider, service):
    meeting = schedule(clinic_a, provider, service, [tomorrow(clinic_a, 10)])
    mail.outbox.clear()
    booking.meeting_cancel(meeting_id=meeting.pk, by=provider)
    meeting.refresh_from_db()
    assert meeting.status == MeetingStatus.CANCELLED and not meeting.cancelled_by_guest
    [cancelled] = mail.outbox
    assert cancelled.to == ["gina@example.com"]
    assert cancelled.subject == "Cancelled: General consultation on Tuesday 24 November 2026, 10:00 EST"
    calendar, event = calendar_of(cancelled)
    assert (
        calendar["METHOD"] == "CANCEL" and str(event["STATUS"]) == "CANCELLED" and int(event["SEQUENCE"]) == 1
    )
    # Its time is free again.
    schedule(clinic_a, provider, service, [tomorrow(clinic_a, 10)], guest_email="next@example.com")


def test_the_guest_cancels_from_their_page_and_the_host_is_told(frozen, client, clinic_a, provider, service):
    meeting = schedule(clinic_a, provider, service, [tomorrow(clinic_a, 10)])
    mail.outbox.clear()
    client.post(f"/m/{meeting.join_token}/", {"action": "cancel"})
    meeting.refresh_from_db()
    assert meeting.cancelled_by_guest and meeting.current_status(MONDAY_NOON) == MeetingStatus.CANCELLED
    [told] = mail.outbox
    assert told.to == [provider.email] and told.subject.startswith("Cancelled by the guest:")


def test_nothing_can_be_cancelled_or_moved_once_it_started(frozen, clinic_a, provider, service):
    meeting = schedule(clinic_a, provider, service, [tomorrow(clinic_a, 10)])
    frozen.move_to(tomorrow(clinic_a, 10) + timedelta(minutes=1))
    for change in (
        lambda: booking.meeting_cancel(meeting_id=meeting.pk, by=provider),
        lambda: booking.meeting_cancel(meeting_id=meeting.pk, by_guest=True),
        lambda: booking.meeting_reschedule(
            meeting_id=meeting.pk, by=provider, starts_at=tomorrow(clinic_a, 15)
        ),
    ):
        with pytest.raises(services.MeetingRefused, match="started or ended"):
            change()
    meeting.refresh_from_db()
    assert meeting.cancelled_at is None and meeting.starts_at == tomorrow(clinic_a, 10)


def test_assign_to_a_colleague_tells_the_guest_and_the_colleague(
    frozen, clinic_a, provider, colleague, service
):
    meeting = schedule(clinic_a, provider, service, [tomorrow(clinic_a, 10)])
    mail.outbox.clear()
    booking.meeting_assign(meeting_id=meeting.pk, by=provider, provider_id=colleague.pk)
    assert Meeting.objects.get(pk=meeting.pk).provider == colleague
    by_recipient = {tuple(m.to): m for m in mail.outbox}
    assert set(by_recipient) == {("gina@example.com",), (colleague.email,)}
    guest = by_recipient[("gina@example.com",)]
    assert "now with Pia Second" in guest.body and "With: Pia Second" in guest.body
    assert "Pia Second" in str(calendar_of(guest)[1]["SUMMARY"])
    assert by_recipient[(colleague.email,)].subject.startswith(
        "Assigned to you: General consultation with Gina"
    )


def test_assign_only_to_a_provider_of_the_same_clinic(frozen, clinic_a, provider, outsider, service):
    meeting = schedule(clinic_a, provider, service, [tomorrow(clinic_a, 10)])
    with pytest.raises(services.MeetingRefused, match="clinic's providers"):
        booking.meeting_assign(meeting_id=meeting.pk, by=provider, provider_id=outsider.pk)
    assert Meeting.objects.get(pk=meeting.pk).provider == provider


def test_the_call_decides_completed_failed_and_missed(frozen, clinic_a, provider, service):
    meeting = schedule(clinic_a, provider, service, [tomorrow(clinic_a, 10)])
    frozen.move_to(tomorrow(clinic_a, 9) + timedelta(minutes=50))
    visit, _token = services.meeting_enter(meeting_id=meeting.pk)
    visit_services.visit_media_result(visit_id=visit.pk, ok=True)
    meeting.refresh_from_db()
    assert meeting.indicator() == "passed"
    assert meeting.current_status(frozen_now()) == MeetingStatus.STARTING_SOON
    # The host enters the room: the guest is called into the call.
    assert services.meeting_host_enter(meeting_id=meeting.pk, user=provider) == visit
    meeting.refresh_from_db()
    assert meeting.visit.status == Status.IN_CALL
    assert meeting.current_status(frozen_now()) == MeetingStatus.IN_PROGRESS
    visit_services.visit_call_failed(visit_id=visit.pk, reason="ice failed", user=provider)
    meeting.refresh_from_db()
    assert meeting.current_status(frozen_now()) == MeetingStatus.FAILED
    visit_services.visit_end(visit_id=visit.pk, user=provider)
    meeting.refresh_from_db()
    assert meeting.current_status(frozen_now()) == MeetingStatus.FAILED  # it never connected

    second = schedule(clinic_a, provider, service, [tomorrow(clinic_a, 11)], guest_email="b@example.com")
    frozen.move_to(tomorrow(clinic_a, 11))
    visit, _token = services.meeting_enter(meeting_id=second.pk)
    visit_services.visit_media_result(visit_id=visit.pk, ok=True)
    services.meeting_host_enter(meeting_id=second.pk, user=provider)
    visit_services.visit_end(visit_id=visit.pk, user=provider)
    second.refresh_from_db()
    assert second.current_status(frozen_now()) == MeetingStatus.COMPLETED

    # The guest came, the host never called them: missed once the meeting ends.
    third = schedule(clinic_a, provider, service, [tomorrow(clinic_a, 13)], guest_email="c@example.com")
    frozen.move_to(tomorrow(clinic_a, 13))
    services.meeting_enter(meeting_id=third.pk)
    third.refresh_from_db()
    assert third.current_status(frozen_now()) == MeetingStatus.STARTING_SOON
    assert third.current_status(tomorrow(clinic_a, 13) + timedelta(minutes=30)) == MeetingStatus.MISSED


def frozen_now():
    from django.utils import timezone

    return timezone.now()


def test_the_sweep_stores_what_the_clock_changed_and_tells_open_pages(
    frozen, clinic_a, clinic_b, provider, outsider, service, events
):
    meeting = schedule(clinic_a, provider, service, [tomorrow(clinic_a, 10)])
    other = schedule(clinic_a, provider, service, [tomorrow(clinic_a, 16)], guest_email="o@example.com")
    events.clear()
    assert services.meetings_refresh_statuses() == 0 and events == []

    frozen.move_to(tomorrow(clinic_a, 9) - timedelta(seconds=1))
    assert services.meetings_refresh_statuses() == 0
    frozen.move_to(tomorrow(clinic_a, 9))  # one hour before the start
    assert services.meetings_refresh_statuses() == 1
    assert Meeting.objects.get(pk=meeting.pk).status == MeetingStatus.STARTING_SOON
    assert Meeting.objects.get(pk=other.pk).status == MeetingStatus.SCHEDULED
    assert events == [(groups.clinic_meetings_group(clinic_a.pk), {"type": "meetings"})]

    events.clear()
    frozen.move_to(tomorrow(clinic_a, 10) + timedelta(minutes=30))
    assert services.meetings_refresh_statuses() == 1
    assert Meeting.objects.get(pk=meeting.pk).status == MeetingStatus.MISSED
    assert events == [(groups.clinic_meetings_group(clinic_a.pk), {"type": "meetings"})]
    assert services.meetings_refresh_statuses() == 0  # nothing more to store


def test_every_meeting_change_tells_the_clinics_meetings_overviews(
    frozen, clinic_a, provider, colleague, service, events
):
    meeting = schedule(clinic_a, provider, service, [tomorrow(clinic_a, 10)])
    booking.meeting_reschedule(meeting_id=meeting.pk, by=provider, starts_at=tomorrow(clinic_a, 11))
    booking.meeting_assign(meeting_id=meeting.pk, by=provider, provider_id=colleague.pk)
    services.meeting_summary_set(meeting_id=meeting.pk, by=colleague, summary="Rest well.")
    booking.meeting_cancel(meeting_id=meeting.pk, by=colleague)
    meetings_group = groups.clinic_meetings_group(clinic_a.pk)
    assert events == [(meetings_group, {"type": "meetings"})] * 5


def test_beat_keeps_meeting_statuses_current(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["meeting-statuses"]
    assert entry["task"] == "scheduling.tasks.refresh_meeting_statuses" and entry["schedule"] <= 60


def test_the_review_comes_after_a_completed_meeting_and_only_once(
    frozen, client, clinic_a, provider, service
):
    meeting = schedule(clinic_a, provider, service, [tomorrow(clinic_a, 10)])
    url = f"/m/{meeting.join_token}/"
    client.post(url, {"action": "review", "rating": "5", "text": "Too early"})
    assert Meeting.objects.get(pk=meeting.pk).reviewed_at is None
    frozen.move_to(tomorrow(clinic_a, 10))
    visit, _token = services.meeting_enter(meeting_id=meeting.pk)
    visit_services.visit_media_result(visit_id=visit.pk, ok=True)
    services.meeting_host_enter(meeting_id=meeting.pk, user=provider)
    visit_services.visit_end(visit_id=visit.pk, user=provider)
    services.meeting_summary_set(meeting_id=meeting.pk, by=provider, summary="Drink <b>water</b>.")
    page = client.get(url).content.decode()
    assert "Drink &lt;b&gt;water&lt;/b&gt;." in page and "data-review-form" in page
    assert client.post(url, {"action": "review", "rating": "9"}).status_code == 302
    assert Meeting.objects.get(pk=meeting.pk).reviewed_at is None
    client.post(url, {"action": "review", "rating": "4", "text": "Helpful, thank you."})
    client.post(url, {"action": "review", "rating": "1", "text": "Changed my mind"})
    meeting.refresh_from_db()
    assert (meeting.review_rating, meeting.review_text) == (4, "Helpful, thank you.")
    board = client_for(provider).get("/meetings/rows/?tab=everyone").content.decode()
    assert "4/5: “Helpful, thank you.”" in board
