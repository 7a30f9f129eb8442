"""The meetings overview over HTTP: My versus Everyone, sorting by every column, the four
indicator symbols, the details, the actions (agenda, change, enter room), a colleague of another
clinic getting nothing, bad input changing nothing, and a query count that does not grow."""

from __future__ import annotations

import re
from datetime import timedelta

import icalendar
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from scheduling.meetings import booking, services
from scheduling.meetings.status import MeetingStatus
from scheduling.models import Meeting
from tests.conftest import client_for
from tests.factories import staff
from tests.scheduling.conftest import tomorrow
from visits import services as visit_services
from visits.lifecycle import Status
from waitingroom.models import Role

ROW = re.compile(r'<tr class="meeting [^"]*" data-meeting="(\d+)"')


def book(clinic, host, service, when, name, email=None, **extra) -> Meeting:
    return booking.meeting_schedule(
        clinic=clinic, by=host, provider_id=host.pk, service=service, guest_name=name,
        guest_email=email or f"{name.split()[0].lower()}@example.com", times=[when], **extra,
    )  # fmt: skip


def listed(response) -> list[int]:
    assert response.status_code == 200
    return [int(pk) for pk in ROW.findall(response.content.decode())]


@pytest.fixture
def colleague(clinic_a):
    return staff(username="pia", clinic=clinic_a, role=Role.PROVIDER, first_name="Pia", last_name="Second")


@pytest.fixture
def agenda(frozen, clinic_a, provider, colleague, service):
    """Paula hosts two meetings, her colleague Pia one."""
    return {
        "anna": book(
            clinic_a, provider, service, tomorrow(clinic_a, 10), "Anna Able", description="Knee pain"
        ),
        "zed": book(
            clinic_a, provider, service, tomorrow(clinic_a, 14), "Zed Zulu", guest_phone="+15555550100"
        ),
        "pia": book(clinic_a, colleague, service, tomorrow(clinic_a, 15), "Mia Middle"),
    }


def test_my_tab_lists_my_meetings_and_everyone_adds_my_colleagues(agenda, provider, colleague):
    paula = client_for(provider)
    assert listed(paula.get("/meetings/")) == [agenda["zed"].pk, agenda["anna"].pk]  # newest first
    assert listed(paula.get("/meetings/?tab=everyone")) == [
        agenda["pia"].pk,  # 15:00
        agenda["zed"].pk,  # 14:00
        agenda["anna"].pk,  # 10:00
    ]
    assert listed(client_for(colleague).get("/meetings/?tab=my")) == [agenda["pia"].pk]


def test_a_colleague_of_another_clinic_sees_nothing(agenda, outsider, clinic_a):
    otto = client_for(outsider)
    assert listed(otto.get("/meetings/?tab=everyone")) == []
    assert otto.get(f"/meetings/?clinic={clinic_a.slug}").status_code == 404
    assert otto.get(f"/meetings/rows/?clinic={clinic_a.slug}&tab=everyone").status_code == 404
    anna = agenda["anna"]
    assert otto.get(f"/meetings/{anna.pk}/agenda.ics").status_code == 404
    assert otto.get(f"/meetings/{anna.pk}/change/").status_code == 404
    assert otto.post(f"/meetings/{anna.pk}/change/", {"action": "cancel"}).status_code == 404
    assert otto.post(f"/meetings/{anna.pk}/enter/").status_code == 404
    assert otto.post(f"/meetings/{anna.pk}/summary/", {"summary": "x"}).status_code == 404
    anna.refresh_from_db()
    assert (
        anna.cancelled_at is None
        and anna.summary == ""
        and not anna.events.filter(event="host_enter").exists()
    )


def test_anonymous_users_are_sent_to_log_in(client, agenda):
    assert client.get("/meetings/")["Location"].startswith("/accounts/login/")
    assert client.post(f"/meetings/{agenda['anna'].pk}/enter/")["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    "sort, expected",
    [
        ("guest", ["anna", "pia", "zed"]),  # Anna Able, Mia Middle, Zed Zulu
        ("date", ["anna", "zed", "pia"]),  # 10:00, 14:00, 15:00
        ("details", ["zed", "anna", "pia"]),  # host (Paula before Pia), then description
        ("key", None),  # random keys: compared with the keys' own order below
        # Who needs attention first: failed, checking (zed), absent (mia's guest), passed (anna).
        ("indicator", ["zed", "pia", "anna"]),
        # By label, at 13:50: Missed (anna, never called) < Scheduled (mia, 15:00) < Starting soon (zed).
        ("status", ["anna", "pia", "zed"]),
        ("type", None),  # one type: any order, every row
    ],
)
def test_every_column_sorts_both_ways(agenda, provider, frozen, sort, expected):
    enter(frozen, agenda["anna"], ok=True)
    enter(frozen, agenda["zed"], ok=None)  # the clock is now 13:50
    paula = client_for(provider)  # signed in at the new time (staff sessions end when idle)
    ascending = listed(paula.get(f"/meetings/?tab=everyone&sort={sort}&dir=asc"))
    descending = listed(paula.get(f"/meetings/?tab=everyone&sort={sort}&dir=desc"))
    assert sorted(ascending) == sorted(m.pk for m in agenda.values())
    if sort == "key":
        expected_pks = [m.pk for m in sorted(agenda.values(), key=lambda m: m.guest_key)]
    elif expected is None:
        return
    else:
        expected_pks = [agenda[name].pk for name in expected]
    assert ascending == expected_pks and descending == expected_pks[::-1]


def enter(frozen, meeting, *, ok):
    """The guest enters ten minutes before their start (the clock moves there); ok=True/False: their
    media check passed/failed; None: not finished."""
    frozen.move_to(meeting.starts_at - timedelta(minutes=10))
    visit, _token = services.meeting_enter(meeting_id=meeting.pk)
    if ok is not None:
        visit_services.visit_media_result(visit_id=visit.pk, ok=ok)
    return visit


def test_header_links_sort_by_their_column_and_flip_the_current_one(agenda, provider):
    page = client_for(provider).get("/meetings/?tab=everyone&sort=guest&dir=asc").content.decode()
    assert (
        'href="?clinic=clinic-a&amp;tab=everyone&amp;sort=guest&amp;dir=desc" data-sort="guest">Guest ▲'
        in page
    )
    assert (
        'href="?clinic=clinic-a&amp;tab=everyone&amp;sort=date&amp;dir=desc" data-sort="date">Date and time<'
        in page
    )
    headers = re.findall(r'data-sort="(\w+)">([^<▲▼]+)', page)
    assert [title.strip() for _sort, title in headers] == [
        "Guest", "Guest key", "Check", "Meeting type", "Details", "Status", "Date and time",
    ]  # fmt: skip


def test_unknown_tabs_sorts_and_clinics_are_harmless(agenda, provider):
    paula = client_for(provider)
    assert listed(paula.get("/meetings/?tab=%00&sort=<script>&dir=sideways")) == [
        agenda["zed"].pk,
        agenda["anna"].pk,
    ]
    assert paula.get("/meetings/?clinic=%C2%B2").status_code == 404


def test_the_indicator_shows_each_of_the_four_states(agenda, provider, frozen, clinic_a):
    fourth = book(clinic_a, provider, agenda["anna"].service, tomorrow(clinic_a, 16), "Quinn Quiet")
    enter(frozen, agenda["anna"], ok=True)
    enter(frozen, agenda["zed"], ok=False)
    enter(frozen, agenda["pia"], ok=None)
    page = client_for(provider).get("/meetings/?tab=everyone").content.decode()

    def symbol(meeting):
        row = page[page.index(f'data-meeting="{meeting.pk}"') :]
        return re.search(r'data-indicator="(\w+)"[^>]*>([^<]+)<', row).groups()

    assert symbol(agenda["anna"]) == ("passed", "✓")
    assert symbol(agenda["zed"]) == ("failed", "✗")
    assert symbol(agenda["pia"]) == ("checking", "?")
    assert symbol(fourth) == ("absent", "?")
    assert "indicator-passed" in page and "indicator-failed" in page and "indicator-absent" in page


def test_details_hold_description_review_summary_and_phone(agenda, provider):
    page = client_for(provider).get("/meetings/").content.decode()
    anna = page[page.index(f'data-details-for="{agenda["anna"].pk}"') :]
    assert "Knee pain" in anna[: anna.index("</tr>")]
    zed = page[page.index(f'data-details-for="{agenda["zed"].pk}"') :]
    assert "+15555550100" in zed[: zed.index("</tr>")]
    assert 'data-toggle-details aria-expanded="false"' in page and ">+</button>" in page


def test_add_to_agenda_downloads_the_ics(agenda, provider):
    anna = agenda["anna"]
    response = client_for(provider).get(f"/meetings/{anna.pk}/agenda.ics")
    assert response["Content-Type"].startswith("text/calendar")
    assert response["Content-Disposition"] == f'attachment; filename="meeting-{anna.pk}.ics"'
    [event] = icalendar.Calendar.from_ical(response.content).walk("VEVENT")
    assert event.decoded("DTSTART") == anna.starts_at and event.decoded("DTEND") == anna.ends_at
    assert "Paula Provider" in str(event["SUMMARY"]) and anna.guest_key_display in str(event["DESCRIPTION"])


def test_change_page_reschedules_assigns_and_cancels(agenda, provider, colleague, clinic_a):
    paula, anna = client_for(provider), agenda["anna"]
    assert paula.get(f"/meetings/{anna.pk}/change/").status_code == 200
    moved = paula.post(
        f"/meetings/{anna.pk}/change/", {"action": "reschedule", "starts_at": "2026-11-24T16:00"}
    )
    assert moved.status_code == 302
    anna.refresh_from_db()
    assert anna.starts_at == tomorrow(clinic_a, 16)
    paula.post(f"/meetings/{anna.pk}/change/", {"action": "assign", "provider": colleague.pk})
    anna.refresh_from_db()
    assert anna.provider == colleague
    paula.post(f"/meetings/{anna.pk}/change/", {"action": "cancel"})
    anna.refresh_from_db()
    assert anna.current_status(tomorrow(clinic_a, 8)) == MeetingStatus.CANCELLED


@pytest.mark.parametrize(
    "data",
    [
        {"action": "reschedule", "starts_at": "yesterday"},
        {"action": "reschedule", "starts_at": "2026-11-20T10:00"},  # in the past
        {"action": "reschedule", "starts_at": "2026-03-08T02:30"},  # skipped by the spring change
        {"action": "assign", "provider": "999999"},
        {"action": "assign", "provider": "abc"},
        {"action": "explode"},
        {},
    ],
)
def test_bad_changes_are_explained_and_change_nothing(agenda, provider, data):
    anna = agenda["anna"]
    before = (anna.starts_at, anna.provider_id, anna.cancelled_at)
    response = client_for(provider).post(f"/meetings/{anna.pk}/change/", data)
    assert response.status_code == 400
    anna.refresh_from_db()
    assert (anna.starts_at, anna.provider_id, anna.cancelled_at) == before


def test_a_conflict_is_named_and_needs_the_override(agenda, provider, clinic_a):
    paula, anna = client_for(provider), agenda["anna"]
    refused = paula.post(
        f"/meetings/{anna.pk}/change/", {"action": "reschedule", "starts_at": "2026-11-24T14:00"}
    )
    assert refused.status_code == 400
    assert "General consultation Tuesday 24 November 2026, 14:00 EST" in refused.content.decode()
    paula.post(
        f"/meetings/{anna.pk}/change/",
        {"action": "reschedule", "starts_at": "2026-11-24T14:00", "override": "on"},
    )
    anna.refresh_from_db()
    assert anna.starts_at == tomorrow(clinic_a, 14)


def test_schedule_a_meeting_from_the_overview(frozen, provider, service, clinic_a):
    paula = client_for(provider)
    form = paula.get("/meetings/new/")
    assert form.status_code == 200 and b"Guest name" in form.content
    saved = paula.post(
        "/meetings/new/",
        {"guest_name": "Gina Guest", "guest_email": "GINA@example.com", "service": service.pk,
         "provider": provider.pk, "description": "First visit", "time_1": "2026-11-24T10:00",
         "time_2": "2026-11-24T11:00"},
    )  # fmt: skip
    assert saved.status_code == 302
    meeting = Meeting.objects.get()
    assert (meeting.guest_email, meeting.starts_at, meeting.created_by) == (
        "gina@example.com",
        None,
        provider,
    )
    assert sorted(p.starts_at for p in meeting.proposals.all()) == [
        tomorrow(clinic_a, 10),
        tomorrow(clinic_a, 11),
    ]
    bad = paula.post("/meetings/new/", {"guest_name": "", "guest_email": "nope", "service": 0, "time_1": "x"})
    assert bad.status_code == 400 and Meeting.objects.count() == 1


def test_enter_room_calls_the_waiting_guest_and_opens_the_call_on_the_dashboard(
    agenda, provider, frozen, clinic_a
):
    anna = agenda["anna"]
    frozen.move_to(tomorrow(clinic_a, 9) + timedelta(minutes=55))
    paula = client_for(provider)  # signed in at the new time (staff sessions end when idle)
    early = paula.post(f"/meetings/{anna.pk}/enter/", follow=True)
    assert b"is not ready yet" in early.content  # the guest has not come in
    visit = enter(frozen, anna, ok=True)
    entered = paula.post(f"/meetings/{anna.pk}/enter/")
    assert entered["Location"] == f"/dashboard/{clinic_a.slug}/?room={visit.pk}"
    visit.refresh_from_db()
    assert visit.status == Status.IN_CALL
    dashboard = paula.get(entered["Location"]).content.decode()
    assert f'data-open-room="/dashboard/{clinic_a.slug}/visits/{visit.pk}/room/"' in dashboard
    # A room the user is not in is not opened.
    other = client_for(staff(username="cara", clinic=clinic_a, role=Role.CSR))
    assert "data-open-room" not in other.get(entered["Location"]).content.decode()


def test_overview_queries_do_not_grow_with_the_number_of_meetings(frozen, provider, service, clinic_a):
    paula = client_for(provider)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert paula.get("/meetings/rows/").status_code == 200
        return len(captured)

    for n in range(3):
        enter(
            frozen,
            book(clinic_a, provider, service, tomorrow(clinic_a, 9) + timedelta(hours=n), f"G{n} X"),
            ok=True,
        )
    paula = client_for(provider)  # signed in again after the clock moved (sessions end when idle)
    few = queries()
    for n in range(3, 30):
        book(clinic_a, provider, service, tomorrow(clinic_a, 9) + timedelta(days=n), f"G{n} X")
    assert queries() == few <= 10
