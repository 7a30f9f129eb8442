"""Deciding requests: accept makes a meeting and an invitation with an .ics, decline tells the
requester, the first decision wins, overlaps need an override, and undecided requests expire."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import icalendar
import pytest
from django.core import mail
from django.db import connection, transaction

from scheduling import availability
from scheduling.meetings.booking import BookingConflict
from scheduling.models import AppointmentRequest, Meeting
from scheduling.requests import services
from scheduling.requests.lifecycle import AlreadyDecided
from scheduling.tasks import expire_requests
from tests.factories import staff
from tests.scheduling.conftest import MONDAY_NOON, scheduled_request, tomorrow
from waitingroom.models import Role

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def pending(frozen, clinic_a, provider, service, hours):
    request = scheduled_request(
        clinic_a, service, times=[tomorrow(clinic_a, 10), tomorrow(clinic_a, 14)], note="Mornings are best"
    )
    mail.outbox.clear()
    return request


def invitation_calendar(message) -> icalendar.Calendar:
    (attachment,) = message.attachments
    filename, content, mimetype = attachment
    assert filename == "invite.ics" and mimetype.startswith("text/calendar")
    return icalendar.Calendar.from_ical(content)


def test_accept_books_a_meeting_and_sends_an_invitation_with_an_ics(pending, clinic_a, provider, scheduler):
    meeting = services.request_accept(
        request_id=pending.pk, by=scheduler, provider_id=provider.pk, starts_at=tomorrow(clinic_a, 14),
        response="See you then; have your results ready.",
    )  # fmt: skip
    pending.refresh_from_db()
    assert (pending.status, pending.decided_by, pending.response) == (
        "accepted",
        scheduler,
        "See you then; have your results ready.",
    )
    assert (meeting.provider, meeting.starts_at, meeting.ends_at) == (
        provider,
        tomorrow(clinic_a, 14),
        tomorrow(clinic_a, 14) + timedelta(minutes=30),
    )
    assert (meeting.guest_name, meeting.guest_email, meeting.request) == (
        "Rita Requester",
        "rita@example.com",
        pending,
    )
    assert [e.event for e in pending.events.all()] == ["submit", "accept"]

    (invitation,) = mail.outbox
    assert invitation.to == ["rita@example.com"]
    assert invitation.subject == "Invitation: General consultation on Tuesday 24 November 2026, 14:00 EST"
    join = f"https://clinic.example.test/m/{meeting.join_token}/"
    assert join in invitation.body and "have your results ready" in invitation.body
    calendar = invitation_calendar(invitation)
    assert str(calendar["METHOD"]) == "REQUEST"
    (event,) = calendar.walk("VEVENT")
    assert event.decoded("DTSTART") == tomorrow(clinic_a, 14)
    assert event.decoded("DTEND") == tomorrow(clinic_a, 14) + timedelta(minutes=30)
    assert str(event["SUMMARY"]) == "General consultation with Paula Provider (Clinic A)"
    assert str(event["UID"]) == f"meeting-{meeting.pk}@clinic.example.test"
    assert str(event["URL"]) == join and join in str(event["DESCRIPTION"])
    assert "have your results ready" in str(event["DESCRIPTION"])  # commas and semicolons survive escaping
    assert str(event["ATTENDEE"]) == "mailto:rita@example.com"


def test_ics_lines_are_folded_and_use_crlf(pending, clinic_a, provider, scheduler):
    services.request_accept(
        request_id=pending.pk, by=scheduler, provider_id=provider.pk, starts_at=tomorrow(clinic_a, 10),
        response="A long response, with commas; semicolons and a newline\nthat must be escaped " * 3,
    )  # fmt: skip
    content = invitation_calendar(mail.outbox[0]).to_ical()  # parses back
    raw = mail.outbox[0].attachments[0][1]
    assert raw.endswith("\r\n") and "\n" not in raw.replace("\r\n", "")
    assert max(len(line.encode()) for line in raw.split("\r\n")) <= 75
    assert b"escaped" in content


def test_decline_tells_the_requester_with_the_response(pending, scheduler):
    services.request_decline(request_id=pending.pk, by=scheduler, response="Fully booked this week.")
    pending.refresh_from_db()
    assert pending.status == "declined" and not Meeting.objects.exists()
    (declined,) = mail.outbox
    assert declined.to == ["rita@example.com"] and "declined" in declined.subject
    assert "Fully booked this week." in declined.body


def test_only_a_requested_time_and_a_clinic_provider_can_be_accepted(
    pending, clinic_a, provider, scheduler, outsider, csr
):
    with pytest.raises(services.RequestRefused, match="requested times"):
        services.request_accept(
            request_id=pending.pk, by=scheduler, provider_id=provider.pk, starts_at=tomorrow(clinic_a, 11)
        )
    for someone in (outsider, csr):
        with pytest.raises(services.RequestRefused, match="providers"):
            services.request_accept(
                request_id=pending.pk, by=scheduler, provider_id=someone.pk, starts_at=tomorrow(clinic_a, 10)
            )
    pending.refresh_from_db()
    assert pending.status == "pending" and not Meeting.objects.exists()


def test_a_decided_request_cannot_be_decided_again(pending, clinic_a, provider, scheduler):
    services.request_decline(request_id=pending.pk, by=scheduler)
    with pytest.raises(AlreadyDecided, match="already declined"):
        services.request_accept(
            request_id=pending.pk, by=scheduler, provider_id=provider.pk, starts_at=tomorrow(clinic_a, 10)
        )
    with pytest.raises(AlreadyDecided):
        services.request_decline(request_id=pending.pk, by=scheduler)
    assert not Meeting.objects.exists() and len(mail.outbox) == 1


def race(first_call: Callable[[], object], second_call: Callable[[], object], *, refusal: type[Exception]):
    """Two transactions at once: the first runs `first_call` and keeps its transaction (and its row
    locks) open until the second is seen waiting; returns what the second got (its result, or the
    `refusal` it raised)."""
    first_inside, release = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def first():
        try:
            with transaction.atomic():
                outcome["first"] = first_call()
                first_inside.set()
                release.wait(10)
        finally:
            connection.close()

    def second():
        first_inside.wait(10)
        try:
            outcome["second"] = second_call()
        except refusal as refused:
            outcome["second"] = refused
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    first_inside.wait(10)
    # The second is blocked on the lock while the first's transaction is open.
    threads[1].join(0.5)
    assert threads[1].is_alive()
    release.set()
    for thread in threads:
        thread.join(10)
    return outcome.get("second")


def test_two_people_accepting_at_once_one_wins(pending, clinic_a, provider, scheduler):
    """Two transactions: the first holds the request's row lock; the second waits for it, then
    finds the request decided."""
    second_provider = staff(username="pia", clinic=clinic_a, role=Role.PROVIDER)
    second = race(
        lambda: services.request_accept(
            request_id=pending.pk, by=scheduler, provider_id=provider.pk, starts_at=tomorrow(clinic_a, 10)
        ),
        lambda: services.request_accept(
            request_id=pending.pk,
            by=provider,
            provider_id=second_provider.pk,
            starts_at=tomorrow(clinic_a, 14),
        ),
        refusal=AlreadyDecided,
    )
    assert isinstance(second, AlreadyDecided)
    assert Meeting.objects.get().provider == provider
    assert [m.subject.split(":")[0] for m in mail.outbox] == ["Invitation"]


def test_overlapping_booking_needs_an_explicit_override(pending, clinic_a, provider, scheduler, service):
    other = scheduled_request(
        clinic_a, service, times=[tomorrow(clinic_a, 10)], email="olga@example.com", name="Olga"
    )
    services.request_accept(
        request_id=other.pk, by=scheduler, provider_id=provider.pk, starts_at=tomorrow(clinic_a, 10)
    )
    with pytest.raises(BookingConflict) as conflict:
        services.request_accept(
            request_id=pending.pk, by=scheduler, provider_id=provider.pk, starts_at=tomorrow(clinic_a, 10)
        )
    assert [busy.who for busy in conflict.value.busy] == ["Olga"]
    pending.refresh_from_db()
    assert pending.status == "pending" and Meeting.objects.count() == 1
    services.request_accept(
        request_id=pending.pk,
        by=scheduler,
        provider_id=provider.pk,
        starts_at=tomorrow(clinic_a, 10),
        override=True,
    )
    assert Meeting.objects.count() == 2
    assert "overlapping" in pending.events.get(event="accept").detail


def test_concurrent_accepts_into_the_same_slot_cannot_both_book(
    pending, clinic_a, provider, scheduler, service
):
    """Bookings of one provider are serialised: of two requests accepted at once into the same
    time, the second sees the first's meeting and needs an override."""
    other = scheduled_request(
        clinic_a, service, times=[tomorrow(clinic_a, 10)], email="olga@example.com", name="Olga"
    )
    second = race(
        lambda: services.request_accept(
            request_id=other.pk, by=scheduler, provider_id=provider.pk, starts_at=tomorrow(clinic_a, 10)
        ),
        lambda: services.request_accept(
            request_id=pending.pk, by=scheduler, provider_id=provider.pk, starts_at=tomorrow(clinic_a, 10)
        ),
        refusal=BookingConflict,
    )
    assert isinstance(second, BookingConflict)
    assert Meeting.objects.count() == 1


def test_accepting_a_now_request_books_it_from_this_moment(
    frozen, clinic_a, provider, service, hours, scheduler
):
    request = services.request_submit(
        clinic=clinic_a, service=service, provider_id=None, kind="now", name="Nora", email="nora@example.com"
    )
    meeting = services.request_accept(
        request_id=request.pk, by=provider, provider_id=provider.pk, starts_at=None
    )
    assert meeting.starts_at == MONDAY_NOON  # the frozen clock
    assert meeting.ends_at - meeting.starts_at == timedelta(minutes=30)


def test_undecided_requests_expire_through_the_sweep_and_the_requester_is_told(
    frozen, clinic_a, provider, service, hours
):
    profile = availability.profile_for(clinic_a)
    profile.now_request_expiry_minutes = 30
    profile.save()
    scheduled = scheduled_request(clinic_a, service, times=[tomorrow(clinic_a, 10), tomorrow(clinic_a, 14)])
    now_request = services.request_submit(
        clinic=clinic_a, service=service, provider_id=None, kind="now", name="Nora", email="nora@example.com"
    )
    mail.outbox.clear()
    assert expire_requests() == 0
    frozen.shift(timedelta(minutes=31))
    assert expire_requests() == 1
    now_request.refresh_from_db()
    assert now_request.status == "expired"
    assert [m.to for m in mail.outbox] == [["nora@example.com"]] and "expired" in mail.outbox[0].subject
    frozen.move_to(tomorrow(clinic_a, 10))  # the earliest requested time
    assert expire_requests() == 1
    scheduled.refresh_from_db()
    assert scheduled.status == "expired" and scheduled.events.last().event == "expire"
    with pytest.raises(AlreadyDecided):
        services.request_accept(
            request_id=scheduled.pk, by=provider, provider_id=provider.pk, starts_at=tomorrow(clinic_a, 14)
        )
    assert expire_requests() == 0  # safe to run again


def test_the_sweep_skips_a_request_being_decided(pending, clinic_a, provider, scheduler, frozen):
    frozen.move_to(tomorrow(clinic_a, 10) + timedelta(minutes=1))
    inside, release = threading.Event(), threading.Event()

    def decide():
        try:
            with transaction.atomic():
                AppointmentRequest.objects.select_for_update().get(pk=pending.pk)
                inside.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=decide)
    thread.start()
    inside.wait(10)
    assert services.requests_expire_due() == 0  # locked: skipped, not waited for
    release.set()
    thread.join(10)
    assert services.requests_expire_due() == 1


def test_decisions_publish_to_dispatch_pages_and_dashboards(
    pending, clinic_a, provider, scheduler, monkeypatch
):
    from waitingroom.realtime import groups, publisher

    sent = []
    monkeypatch.setattr(publisher, "_deliver", sent.extend)
    services.request_decline(request_id=pending.pk, by=scheduler)
    assert sent == [
        (groups.clinic_scheduling_group(clinic_a.pk), {"type": "requests"}),
        (groups.clinic_staff_group(clinic_a.pk), {"type": "panel", "panel": "requests"}),
    ]


def test_an_overdue_request_cannot_be_accepted_before_the_sweep_marks_it(
    pending, clinic_a, provider, scheduler, frozen
):
    frozen.move_to(tomorrow(clinic_a, 10) + timedelta(seconds=1))  # past the earliest requested time
    with pytest.raises(services.RequestRefused, match="expired"):
        services.request_accept(
            request_id=pending.pk, by=scheduler, provider_id=provider.pk, starts_at=tomorrow(clinic_a, 14)
        )
    assert not Meeting.objects.exists()


def test_beat_runs_the_expiry_sweep(settings):
    from celery import current_app

    (entry,) = [
        e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "scheduling.tasks.expire_requests"
    ]
    assert entry["schedule"] <= 60
    assert "scheduling.tasks.expire_requests" in current_app.tasks
