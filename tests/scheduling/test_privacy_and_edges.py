"""Privacy and edge rules: other clinics' sessions stay anonymous, tokens stay out of logs, odd
input is a clear 4xx, a requester's own requests only, and DST-safe, host-group-true slots."""

from __future__ import annotations

from datetime import date, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from django.core import mail

from scheduling import availability
from scheduling.availability import slot_starts
from scheduling.links import requester_link
from scheduling.meetings import ics
from scheduling.meetings.services import meeting_enter
from scheduling.models import Meeting, Requester, Service
from scheduling.requests import services
from tests.conftest import client_for
from tests.factories import MembershipFactory, staff
from tests.scheduling.conftest import on_demand, scheduled_request, tomorrow, weekday_hours
from waitingroom.logging import redact
from waitingroom.models import Clinic, Role


def test_another_clinics_session_shows_only_as_busy_in_the_assign_dialog(
    frozen, scheduler_client, clinic_a, clinic_b, provider, service, hours
):
    MembershipFactory(user=provider, clinic=clinic_b, role=Role.PROVIDER)
    b_service = Service.objects.create(clinic=clinic_b, name="B-only psychiatry")
    Meeting.objects.create(
        clinic=clinic_b, provider=provider, service=b_service, starts_at=tomorrow(clinic_a, 10),
        ends_at=tomorrow(clinic_a, 11), guest_name="Secret Bpatient", guest_email="s@example.com",
    )  # fmt: skip
    request = scheduled_request(clinic_a, service, times=[tomorrow(clinic_a, 12)])  # within 2 hours
    html = scheduler_client.get(f"/dispatch/requests/{request.pk}/assign/?provider={provider.pk}").content
    assert b"Busy (another clinic)" in html
    assert b"Secret Bpatient" not in html and b"B-only psychiatry" not in html


@pytest.mark.parametrize(
    "path",
    [
        "/m/12-0123456789abcdef0123456789abcdef/",
        "/requests/link/eyJyIjoxLCJlIjoicml0YUBleGFtcGxlLmNvbSJ9:1vB2:abcdefghijklmnop/",
        "/r/AbCdEfGhIjKlMnOpQrStUv/",
        "/v/AbCdEfGhIjKlMnOpQrStUv/",
    ],
)
def test_link_tokens_are_redacted_from_logs(path):
    line = f"Forbidden (CSRF cookie not set.): {path}"
    redacted = redact(line)
    assert "[redacted]" in redacted
    assert path.split("/")[-2] not in redacted


@pytest.mark.parametrize(
    "method, path, data",
    [
        ("get", "/m/%C2%B2-abc/", None),
        ("get", "/m/-/", None),
        ("get", "/dispatch/?clinic=%00", None),
        ("get", "/dispatch/rows/?clinic=%00", None),
    ],
)
def test_odd_urls_are_not_found_not_errors(frozen, scheduler_client, method, path, data):
    assert getattr(scheduler_client, method)(path).status_code == 404


def test_odd_inputs_are_explained_not_errors(
    frozen, client, scheduler_client, clinic_a, provider, service, hours
):
    request = scheduled_request(clinic_a, service, times=[tomorrow(clinic_a, 10)])
    assert scheduler_client.get(f"/dispatch/requests/{request.pk}/assign/?provider=%C2%B2").status_code == 200
    refused = client.post("/requests/", {"email": "a\x00b@example.com"})
    assert refused.status_code == 400 and b"valid email" in refused.content
    on_demand(clinic_a)
    far = client.post(
        f"/c/{clinic_a.slug}/request/",
        {
            "service": service.pk,
            "kind": "scheduled",
            "name": "R",
            "email": "r@example.com",
            "time_1": "9999-12-31T23:00",
        },
    )
    assert far.status_code == 400 and b"within the next 365 days" in far.content


def test_withdrawing_someone_elses_request_reveals_nothing(
    frozen, client, clinic_a, provider, service, hours, scheduler
):
    rita = scheduled_request(clinic_a, service, times=[tomorrow(clinic_a, 10)])
    olga = scheduled_request(
        clinic_a, service, times=[tomorrow(clinic_a, 11)], email="olga@example.com", name="Olga"
    )
    services.request_decline(request_id=olga.pk, by=scheduler)
    client.get(requester_link(rita.requester).removeprefix("https://clinic.example.test"))
    response = client.post(f"/requests/{olga.pk}/withdraw/", follow=True)
    assert response.status_code == 404 and b"declined" not in response.content


def test_a_request_with_someone_elses_email_does_not_rename_them(frozen, clinic_a, provider, service, hours):
    scheduled_request(clinic_a, service, times=[tomorrow(clinic_a, 10)], name="Rita Requester")
    scheduled_request(clinic_a, service, times=[tomorrow(clinic_a, 11)], name="Mallory")
    assert Requester.objects.get(email="rita@example.com").name == "Rita Requester"


def test_superuser_adds_a_clinic_with_its_scheduling_settings(db):
    admin = staff(
        username="root",
        clinic=Clinic.objects.create(name="Seed", slug="seed"),
        is_staff=True,
        is_superuser=True,
    )
    data = {
        "name": "New Clinic", "slug": "new-clinic", "time_zone": "Europe/London", "reconnect_grace_seconds": 15,
        "hold_window_seconds": 120, "idle_seconds": 60, "recents_expiry_minutes": 20, "wait_amber_minutes": 5,
        "wait_red_minutes": 15, "broadcast_message": "", "default_phone_region": "GB", "recall_timeout_minutes": 10,
        "daily_sms_limit": 500, "currency": "gbp",
        "scheduling-TOTAL_FORMS": "1", "scheduling-INITIAL_FORMS": "0",
        "scheduling-0-availability_mode": "on_demand", "scheduling-0-patient_group_name": "Members",
        "scheduling-0-host_group_name": "Doctors", "scheduling-0-now_request_expiry_minutes": "45",
        "scheduling-0-booking_days": "7", "scheduling-0-minimum_notice_minutes": "30",
    }  # fmt: skip
    for prefix in (
        "memberships",
        "intake_fields",
        "services",
        "request_questions",
        "consultation_profile",
        "booking_questions",
        "opening_hours",
        "hours_exceptions",
        "events",
    ):
        data[f"{prefix}-TOTAL_FORMS"] = data[f"{prefix}-INITIAL_FORMS"] = "0"
    response = client_for(admin).post("/admin/waitingroom/clinic/add/", data)
    assert response.status_code == 302, response.content[:3000]
    profile = Clinic.objects.get(slug="new-clinic").scheduling
    assert (profile.availability_mode, profile.host_group_name, profile.now_request_expiry_minutes) == (
        "on_demand",
        "Doctors",
        45,
    )


def test_scheduler_sees_requested_times_and_history_in_the_admin(frozen, clinic_a, provider, service, hours):
    desk = staff(username="sasha", clinic=clinic_a, role=Role.SCHEDULER, is_staff=True)
    request = scheduled_request(clinic_a, service, times=[tomorrow(clinic_a, 10)])
    page = client_for(desk).get(f"/admin/scheduling/appointmentrequest/{request.pk}/change/")
    assert page.status_code == 200
    assert b'id="times-group"' in page.content and b'id="events-group"' in page.content


def test_slots_never_overlap_across_the_spring_forward_gap():
    new_york = ZoneInfo("America/New_York")
    for minutes in (45, 90):
        length = timedelta(minutes=minutes)
        starts = slot_starts(date(2026, 3, 8), [(time(0), time(6))], new_york, length)
        assert all(later - earlier >= length for earlier, later in pairwise(starts))
        assert len(starts) >= 3


def test_anyone_means_the_host_group(frozen, clinic_a, provider, service, hours):
    host = staff(username="bob", clinic=clinic_a, role=Role.PROVIDER)
    availability.profile_for(clinic_a).hosts.set([host])
    # Paula works but is not a host; Bob is the host group and has no hours.
    assert availability.open_slots(clinic=clinic_a, service=service) == []
    assert availability.available_now(clinic=clinic_a) == []
    assert availability.open_slots(clinic=clinic_a, service=service, provider_id=provider.pk)
    weekday_hours(clinic_a, host, start=time(9), end=time(10))
    assert {s.provider_ids for s in availability.open_slots(clinic=clinic_a, service=service)} == {(host.pk,)}


def test_control_characters_cannot_inject_calendar_lines():
    calendar = ics.event_calendar(
        uid="x", starts_at=tomorrow_utc(), ends_at=tomorrow_utc() + timedelta(minutes=30),
        summary="Eve\rEND:VEVENT\rSUMMARY:Injected", description="a\x0bb", url="https://clinic.example.test/m/1-x/",
        organizer_name="Clinic", attendee_name="Eve\rATTENDEE:mailto:evil@example.com", attendee_email="eve@example.com",
    )  # fmt: skip
    assert "\r" not in calendar.replace("\r\n", "")
    lines = calendar.split("\r\n")
    assert sum(line.startswith("SUMMARY") for line in lines) == 1
    assert sum(line.startswith("END:VEVENT") for line in lines) == 1
    assert not any(line.startswith("ATTENDEE:mailto:evil") for line in lines)


@pytest.mark.parametrize("separator", ["\x0b", "\x0c", "\x85", "\u2028", "\u2029", "\r", "\x00"])
def test_unicode_line_separators_never_reach_the_calendar_raw(separator):
    """Rows stored before the forms refused them: the .ics, parsed back by the icalendar package,
    holds one event whose text has every separator as an escaped newline (or a space)."""
    import icalendar

    calendar = ics.event_calendar(
        uid="x", starts_at=tomorrow_utc(), ends_at=tomorrow_utc() + timedelta(minutes=30),
        summary=f"Eve{separator}END:VEVENT", description=f"a{separator}b", url="https://clinic.example.test/m/1-x/",
        organizer_name="Clinic", attendee_name=f"Eve{separator}ATTENDEE:mailto:evil@example.com",
        attendee_email="eve@example.com",
    )  # fmt: skip
    assert not any(char in calendar for char in "\x00\x0b\x0c\x85\u2028\u2029")
    assert "\r" not in calendar.replace("\r\n", "")
    (event,) = icalendar.Calendar.from_ical(calendar).walk("VEVENT")
    assert str(event["SUMMARY"]).replace("\n", " ") == "Eve END:VEVENT"
    assert str(event["ATTENDEE"]) == "mailto:eve@example.com"


def tomorrow_utc():
    from datetime import UTC, datetime

    return datetime(2026, 11, 24, 15, tzinfo=UTC)


@pytest.mark.django_db(transaction=True)
def test_a_meeting_guest_shows_as_an_appointment_on_the_dashboard(
    frozen, clinic_a, provider, service, hours, scheduler
):
    request = scheduled_request(clinic_a, service, times=[tomorrow(clinic_a, 10)])
    meeting = services.request_accept(
        request_id=request.pk, by=scheduler, provider_id=provider.pk, starts_at=tomorrow(clinic_a, 10)
    )
    mail.outbox.clear()
    frozen.move_to(tomorrow(clinic_a, 9) + timedelta(minutes=50))
    meeting_enter(meeting_id=meeting.pk)
    board = client_for(provider).get(f"/dashboard/{clinic_a.slug}/board/").content.decode()
    assert (
        "Appointment: General consultation with Paula Provider, Tuesday 24 November 2026, 10:00 EST" in board
    )
