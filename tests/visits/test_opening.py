"""Opening hours in the waiting room: the clinic link outside the hours and when closed now, no
visit started (the service refuses under the clinic's row lock, not only the view), a visit already
waiting stays, Close now / Reopen for clinic admins only, the hours sweep's push, and the queue cap
with two arrivals racing for the last place (waitingroom/opening.py, visits/services.py admit)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from types import SimpleNamespace

import pytest
import time_machine
from django.db import connection
from django.test import Client

from scheduling.models import Service
from tests.conftest import client_for
from tests.factories import ClinicFactory, staff
from tests.support.races import at_once, meet_at
from tests.visits.conftest import arrive, in_call, ready
from visits import selectors, services
from visits.lifecycle import Status
from visits.models import Visit, VisitEvent
from waitingroom import opening
from waitingroom.models import ClinicEvent, OpeningHours, Role
from waitingroom.realtime import groups

pytestmark = pytest.mark.django_db

# Monday 7 December 2026 in New York (UTC-5): open 08:00-17:00 on weekdays.
MONDAY_NOON = datetime(2026, 12, 7, 17, 0, tzinfo=UTC)
MONDAY_EVENING = datetime(2026, 12, 7, 22, 30, tzinfo=UTC)  # 17:30 New York time


@pytest.fixture
def weekday_hours(clinic_a):
    clinic_a.closed_message = "For urgent help call 911."
    clinic_a.save(update_fields=["closed_message"])
    for day in range(5):
        OpeningHours.objects.create(clinic=clinic_a, weekday=day, opens=time(8), closes=time(17))
    return clinic_a


@pytest.fixture
def clinic_admin(clinic_a):
    return staff(username="dana", clinic=clinic_a, role=Role.CLINIC_ADMIN, first_name="Dana")


def intake_post(clinic, name: str = "Walk In") -> object:
    return Client().post(f"/c/{clinic.slug}/", {"patient_name": name})


# --- The clinic link outside the hours ------------------------------------------------------------


def test_the_clinic_link_outside_the_hours_says_when_it_opens_and_the_clinics_message(weekday_hours):
    with time_machine.travel(MONDAY_EVENING, tick=False):
        response = Client().get(f"/c/{weekday_hours.slug}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "The waiting room is closed" in html
    assert "Opens tomorrow at 08:00 New York time." in html
    assert "For urgent help call 911." in html
    assert "patient_name" not in html  # no intake form


def test_the_clinic_link_during_the_hours_is_the_intake_form(weekday_hours):
    with time_machine.travel(MONDAY_NOON, tick=False):
        response = Client().get(f"/c/{weekday_hours.slug}/")
    assert response.status_code == 200 and b'name="patient_name"' in response.content


def test_a_check_in_sent_when_closed_creates_nothing_and_says_why(weekday_hours):
    with time_machine.travel(MONDAY_EVENING, tick=False):
        response = intake_post(weekday_hours)
    assert response.status_code == 409
    assert b"You were not checked in" in response.content
    assert b"Opens tomorrow at 08:00 New York time." in response.content
    assert not Visit.objects.exists() and not VisitEvent.objects.exists()


def test_the_service_itself_refuses_a_closed_clinic(weekday_hours):
    with time_machine.travel(MONDAY_EVENING, tick=False), pytest.raises(services.ArrivalRefused) as refused:
        arrive(weekday_hours)
    assert not refused.value.full and refused.value.state.opens_at is not None
    assert not Visit.objects.exists()


def test_a_meetings_guest_is_admitted_whatever_the_walk_in_hours(weekday_hours):
    with time_machine.travel(MONDAY_EVENING, tick=False):
        visit, _ = services.visit_start(clinic=weekday_hours, patient_name="Gina", answers={}, booked=True)
    assert visit.status == Status.CONNECTING


def test_a_clinic_with_no_hours_is_always_open(clinic_a):
    with time_machine.travel(MONDAY_EVENING, tick=False):
        assert arrive(clinic_a).status == Status.CONNECTING


# --- A visit already waiting when the clinic closes -----------------------------------------------


def test_a_visit_waiting_at_closing_stays_and_everyone_is_told(weekday_hours, provider, published):
    with time_machine.travel(MONDAY_NOON, tick=False):
        waiting = ready(weekday_hours, "Early Bird")
        assert opening.hours_sweep() == 1  # first look: open, nothing to tell
    published.clear()
    with time_machine.travel(MONDAY_EVENING, tick=False), published.commit():
        assert opening.hours_sweep() == 1
    waiting.refresh_from_db()
    assert waiting.status == Status.WAITING  # stays until staff end it
    [staff_push] = published.to(groups.clinic_staff_group(weekday_hours.id))
    assert staff_push["type"] == "opening" and staff_push["open"] is False
    assert staff_push["text"].startswith("Closed since 17:00 — patients already waiting stay until you end")
    [patient_push] = published.to(groups.clinic_patients_group(weekday_hours.id))
    assert patient_push["text"].startswith("The clinic is closed. It opens tomorrow at 08:00 New York time.")
    assert "You keep your place" in patient_push["text"]
    event = ClinicEvent.objects.get(kind=ClinicEvent.Kind.HOURS_CLOSED)
    assert event.clinic == weekday_hours and event.user is None
    # Once told is enough: the next sweep finds nothing new.
    published.clear()
    with time_machine.travel(MONDAY_EVENING, tick=False), published.commit():
        assert opening.hours_sweep() == 0
    assert published.sent == []
    # Staff can still call and end the visit.
    with time_machine.travel(MONDAY_EVENING, tick=False):
        services.visit_call(visit_id=waiting.id, user=provider)
        services.visit_end(visit_id=waiting.id, user=provider)
    waiting.refresh_from_db()
    assert waiting.status == Status.COMPLETED


def test_the_wait_screen_and_its_state_carry_the_closed_notice(weekday_hours):
    client = Client()
    with time_machine.travel(MONDAY_NOON, tick=False):
        wait_url = client.post(f"/c/{weekday_hours.slug}/", {"patient_name": "Early Bird"})["Location"]
        assert client.get(wait_url + "state/").json()["opening"] == ""
    with time_machine.travel(MONDAY_EVENING, tick=False):
        opening.hours_sweep()
        page = client.get(wait_url)
        state = client.get(wait_url + "state/").json()
    assert b"The clinic is closed. It opens tomorrow at 08:00 New York time." in page.content
    assert state["opening"].startswith("The clinic is closed.")
    assert Visit.objects.get().status == Status.CONNECTING  # still there


def test_the_dashboard_shows_the_closed_since_banner(weekday_hours, provider):
    with time_machine.travel(MONDAY_EVENING, tick=False):  # signed in then: sessions end when idle
        opening.hours_sweep()  # the clinic's hours are seen (waitingroom/opening.py dashboard_words)
        html = client_for(provider).get(f"/dashboard/{weekday_hours.slug}/").content.decode()
    assert "Closed since 17:00 — patients already waiting stay until you end their visits." in html
    assert "Opens tomorrow at 08:00." in html
    assert "Close now" not in html  # providers have no button


# --- Close now / Reopen ----------------------------------------------------------------------------


def test_a_clinic_admin_closes_now_with_a_message_and_reopens(clinic_a, clinic_admin, published):
    ready(clinic_a, "Already Waiting")
    client = client_for(clinic_admin)
    assert b"Close now" in client.get(f"/dashboard/{clinic_a.slug}/").content
    published.clear()
    with published.commit():
        response = client.post(f"/dashboard/{clinic_a.slug}/close/", {"message": "Back at 3 pm."})
    assert response.status_code == 302
    clinic_a.refresh_from_db()
    assert clinic_a.closed_now_at is not None and clinic_a.closed_now_by == clinic_admin
    event = ClinicEvent.objects.get()
    assert (event.kind, event.user, event.message) == (
        ClinicEvent.Kind.CLOSED_NOW,
        clinic_admin,
        "Back at 3 pm.",
    )
    [patient_push] = published.to(groups.clinic_patients_group(clinic_a.id))
    assert patient_push == {
        "type": "opening",
        "open": False,
        "text": "The clinic has closed the waiting room for now. You keep your place: the clinic will "
        "still see you. Back at 3 pm.",
    }
    [staff_push] = published.to(groups.clinic_staff_group(clinic_a.id))
    assert staff_push["closed_now"] is True
    assert staff_push["text"].startswith("Closed now by Dana at ")
    assert "Back at 3 pm. — patients already waiting stay until you end their visits." in staff_push["text"]
    # New arrivals meet the closed page with the message; the patient already waiting stays.
    page = Client().get(f"/c/{clinic_a.slug}/")
    assert b"The waiting room is closed" in page.content and b"Back at 3 pm." in page.content
    assert intake_post(clinic_a).status_code == 409
    assert list(Visit.objects.values_list("status", flat=True)) == [Status.WAITING]
    dashboard = client.get(f"/dashboard/{clinic_a.slug}/").content.decode()
    assert "Reopen the waiting room" in dashboard and "Closed now by Dana at " in dashboard

    published.clear()
    with published.commit():
        assert client.post(f"/dashboard/{clinic_a.slug}/reopen/").status_code == 302
    clinic_a.refresh_from_db()
    assert clinic_a.closed_now_at is None and clinic_a.closed_now_message == ""
    assert ClinicEvent.objects.filter(kind=ClinicEvent.Kind.REOPENED, user=clinic_admin).count() == 1
    assert published.to(groups.clinic_patients_group(clinic_a.id)) == [
        {"type": "opening", "open": True, "text": ""}
    ]
    assert intake_post(clinic_a).status_code == 302  # checked in


def test_reopening_an_open_room_is_refused_with_words_and_records_nothing(clinic_a, clinic_admin):
    client = client_for(clinic_admin)
    response = client.post(f"/dashboard/{clinic_a.slug}/reopen/", follow=True)
    assert b"The waiting room is not closed." in response.content
    assert not ClinicEvent.objects.exists()


def test_a_close_message_with_a_line_break_is_refused(clinic_a, clinic_admin):
    client = client_for(clinic_admin)
    response = client.post(f"/dashboard/{clinic_a.slug}/close/", {"message": "a\nb"}, follow=True)
    assert response.status_code == 200
    clinic_a.refresh_from_db()
    assert clinic_a.closed_now_at is None and not ClinicEvent.objects.exists()


@pytest.mark.parametrize("role", [Role.PROVIDER, Role.CSR, Role.SCHEDULER])
@pytest.mark.parametrize("action", ["close", "reopen"])
def test_other_roles_get_403_and_no_button(clinic_a, role, action):
    user = staff(username=f"u-{role}", clinic=clinic_a, role=role)
    client = client_for(user)
    if role != Role.SCHEDULER:
        assert b"Close now" not in client.get(f"/dashboard/{clinic_a.slug}/").content
    response = client.post(f"/dashboard/{clinic_a.slug}/{action}/", {"message": "x"})
    assert response.status_code == 403
    clinic_a.refresh_from_db()
    assert clinic_a.closed_now_at is None and not ClinicEvent.objects.exists()


@pytest.mark.parametrize("action", ["close", "reopen"])
def test_another_clinics_admin_gets_404(clinic_a, clinic_b, action):
    other_admin = staff(username="olga", clinic=clinic_b, role=Role.CLINIC_ADMIN)
    response = client_for(other_admin).post(f"/dashboard/{clinic_a.slug}/{action}/", {"message": "x"})
    assert response.status_code == 404
    clinic_a.refresh_from_db()
    assert clinic_a.closed_now_at is None


def test_signed_out_and_get_are_refused(clinic_a):
    assert Client().post(f"/dashboard/{clinic_a.slug}/close/").status_code == 302  # to the login page
    assert Client().get(f"/dashboard/{clinic_a.slug}/close/").status_code == 405


# --- The queue cap ---------------------------------------------------------------------------------


def test_past_the_cap_new_arrivals_are_offered_an_appointment_instead(clinic_a, provider):
    clinic_a.max_waiting = 2
    clinic_a.save(update_fields=["max_waiting"])
    Service.objects.create(clinic=clinic_a, name="General consultation", duration_minutes=30)
    Service.objects.create(clinic=clinic_a, name="Phone", kind=Service.Kind.PHONE, duration_minutes=20)
    in_call(clinic_a, provider, "In A Call")  # not waiting: does not count
    arrive(clinic_a, "Getting Ready")  # counts (getting ready)
    assert Client().get(f"/c/{clinic_a.slug}/").status_code == 200
    assert b'name="patient_name"' in Client().get(f"/c/{clinic_a.slug}/").content
    ready(clinic_a, "In Line")  # counts (ready): the room is full
    page = Client().get(f"/c/{clinic_a.slug}/")
    html = page.content.decode()
    assert "The waiting room is full" in html
    assert f'href="/c/{clinic_a.slug}/request/"' in html and "Request a video appointment" in html
    assert f'href="/c/{clinic_a.slug}/consult/"' in html and "Book a phone consultation" in html
    before = Visit.objects.count()
    refused = intake_post(clinic_a)
    assert refused.status_code == 409 and b"the last place was just taken" in refused.content
    assert Visit.objects.count() == before


def test_a_full_room_without_bookable_services_offers_no_broken_links(clinic_a):
    clinic_a.max_waiting = 0
    clinic_a.save(update_fields=["max_waiting"])
    html = Client().get(f"/c/{clinic_a.slug}/").content.decode()
    assert (
        "The waiting room is full" in html and "book an appointment" not in html and "/request/" not in html
    )


def test_meeting_guests_waiting_take_no_walk_in_place(clinic_a):
    """The cap is for walk-ins: two meeting guests waiting for their providers (booked visits) do
    not fill a room capped at one, and a walk-in still gets the last place."""
    clinic_a.max_waiting = 1
    clinic_a.save(update_fields=["max_waiting"])
    for guest in ("Gina", "Gus"):
        visit, _ = services.visit_start(clinic=clinic_a, patient_name=guest, answers={}, booked=True)
        assert visit.booked and visit.status in selectors.CAPPED_STATUSES
    assert not selectors.queue_full(clinic=clinic_a)
    assert b'name="patient_name"' in Client().get(f"/c/{clinic_a.slug}/").content
    assert intake_post(clinic_a, "Walk In").status_code == 302
    walk_in = Visit.objects.get(patient_name="Walk In")
    assert not walk_in.booked
    # The walk-in took the one place: the next one is refused.
    with pytest.raises(services.ArrivalRefused, match="full"):
        services.visit_start(clinic=clinic_a, patient_name="Late", answers={})


def test_which_statuses_count_against_the_cap():
    assert set(selectors.CAPPED_STATUSES) == {"connecting", "media_blocked", "waiting", "offline", "recalled"}


@pytest.mark.django_db(transaction=True)
def test_two_arrivals_racing_for_the_last_place_cannot_both_get_in(monkeypatch):
    clinic = ClinicFactory(slug="race", max_waiting=1)
    # Both arrivals reach the admission check together, each in its own transaction and connection.
    meet_at(services, "admit", monkeypatch)
    outcomes = at_once(
        lambda who: services.visit_start(clinic=clinic, patient_name=who.username, answers={}),
        [SimpleNamespace(username="first"), SimpleNamespace(username="second")],
        refused=services.ArrivalRefused,
    )
    assert sorted(outcomes.values()) == ["The waiting room is full.", "done"]
    assert Visit.objects.filter(clinic=clinic).count() == 1
    connection.close()


def test_the_dashboards_banner_is_re_fetched_after_a_reconnection(clinic_a, clinic_admin, provider, outsider):
    url = f"/dashboard/{clinic_a.slug}/opening/"
    assert client_for(provider).get(url).json() == {"open": True, "text": "", "closed_now": False}
    opening.clinic_close_now(clinic_id=clinic_a.pk, user=clinic_admin, message="Fire drill")
    answer = client_for(provider).get(url).json()
    assert answer["open"] is False and answer["closed_now"] is True
    assert answer["text"].startswith("Closed now by Dana at ") and "Fire drill" in answer["text"]
    assert client_for(outsider).get(url).status_code == 404


def test_a_check_in_with_errors_sent_when_closed_gets_the_closed_page_not_the_form(weekday_hours):
    with time_machine.travel(MONDAY_EVENING, tick=False):
        response = Client().post(f"/c/{weekday_hours.slug}/", {"patient_name": ""})
    assert response.status_code == 200 and b"The waiting room is closed" in response.content
    assert b'name="patient_name"' not in response.content and not Visit.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_an_arrival_during_a_close_now_waits_for_it_and_is_refused(monkeypatch):
    """Close now holds the clinic's row; an arrival meanwhile waits for the lock and then reads the
    closed state (without the lock it would read the uncommitted open one and get in)."""
    import threading
    import time as clock

    clinic = ClinicFactory(slug="race-close")
    admin_user = staff(username="dana", clinic=clinic, role=Role.CLINIC_ADMIN)
    together = threading.Barrier(2, timeout=10)
    real_lock, real_admit = opening.locked_clinic, services.admit

    def lock_and_hold(clinic_id):
        together.wait()
        locked = real_lock(clinic_id)
        clock.sleep(0.4)  # the arrival comes while Close now holds the row
        return locked

    def admit_a_moment_later(**kwargs):
        together.wait()
        clock.sleep(0.1)
        return real_admit(**kwargs)

    monkeypatch.setattr(opening, "locked_clinic", lock_and_hold)
    monkeypatch.setattr(services, "admit", admit_a_moment_later)

    def act(who):
        if who.username == "admin":
            opening.clinic_close_now(clinic_id=clinic.pk, user=admin_user, message="Closing")
        else:
            services.visit_start(clinic=clinic, patient_name="Late", answers={})

    outcomes = at_once(
        act,
        [SimpleNamespace(username="admin"), SimpleNamespace(username="arrival")],
        refused=services.ArrivalRefused,
    )
    assert outcomes == {"admin": "done", "arrival": "The clinic is closed."}
    assert not Visit.objects.filter(clinic=clinic).exists()
    connection.close()


def test_the_hours_sweep_reads_every_clinic_in_a_fixed_number_of_queries(django_assert_num_queries):
    def clinics_with_hours(count, start):
        for n in range(start, start + count):
            clinic = ClinicFactory(slug=f"swept-{n}")
            OpeningHours.objects.create(clinic=clinic, weekday=0, opens=time(8), closes=time(17))

    clinics_with_hours(2, 0)
    opening.hours_sweep()  # first look at each
    with django_assert_num_queries(3):  # clinics, their weekly hours, their exceptions
        assert opening.hours_sweep() == 0
    clinics_with_hours(6, 2)
    opening.hours_sweep()
    with django_assert_num_queries(3):
        assert opening.hours_sweep() == 0


def test_the_opening_push_goes_to_this_clinics_dashboards_and_waiting_patients_only(
    clinic_a, clinic_b, clinic_admin, published
):
    ready(clinic_a, "In A")
    ready(clinic_b, "In B")
    published.clear()
    with published.commit():
        opening.clinic_close_now(clinic_id=clinic_a.pk, user=clinic_admin, message="Fire drill")
    assert {group for group, _payload in published.sent} == {
        groups.clinic_staff_group(clinic_a.id),
        groups.clinic_patients_group(clinic_a.id),
    }
    # The hours sweep too: clinic B's hours close it, clinic A's state by its hours is unchanged.
    OpeningHours.objects.create(clinic=clinic_b, weekday=0, opens=time(8), closes=time(9))
    published.clear()
    with time_machine.travel(MONDAY_EVENING, tick=False), published.commit():
        assert opening.hours_sweep() == 1
    assert {group for group, _payload in published.sent} == {
        groups.clinic_staff_group(clinic_b.id),
        groups.clinic_patients_group(clinic_b.id),
    }


@pytest.mark.parametrize(
    ("message", "closed", "kept"),
    [
        ("x" * 281, False, ""),  # too long: refused with words
        ("a\x00b", False, ""),
        ("a\u2028b", False, ""),
        ("", True, ""),  # no message: closed, the clinic's words only
        ("   ", True, ""),
        ("\u00a0" * 300 + "Back soon", True, "Back soon"),  # spaces collapse before the limit
        ("<script>alert(1)</script>", True, "<script>alert(1)</script>"),
    ],
)
def test_close_now_with_odd_messages_never_500s_and_escapes(clinic_a, clinic_admin, message, closed, kept):
    client = client_for(clinic_admin)
    response = client.post(f"/dashboard/{clinic_a.slug}/close/", {"message": message})
    assert response.status_code == 302
    clinic_a.refresh_from_db()
    assert (clinic_a.closed_now_at is not None, clinic_a.closed_now_message) == (closed, kept)
    for page in (client.get(f"/dashboard/{clinic_a.slug}/"), Client().get(f"/c/{clinic_a.slug}/")):
        assert page.status_code == 200 and b"<script>alert" not in page.content
    # Reopening twice: the second is refused with words, not an error.
    client.post(f"/dashboard/{clinic_a.slug}/reopen/")
    again = client.post(f"/dashboard/{clinic_a.slug}/reopen/", follow=True)
    assert again.status_code == 200


def test_closed_now_without_a_message_shows_the_clinics_own_closed_message(weekday_hours, clinic_admin):
    """The clinic's standing words (an urgent-help line) are not lost when an admin closes the
    room in a hurry without typing anything."""
    opening.clinic_close_now(clinic_id=weekday_hours.pk, user=clinic_admin, message="")
    weekday_hours.refresh_from_db()
    with time_machine.travel(MONDAY_NOON, tick=False):
        page = Client().get(f"/c/{weekday_hours.slug}/")
        said = opening.clinic_words(clinic=weekday_hours)
    assert b"For urgent help call 911." in page.content
    assert said.patient_text.endswith("For urgent help call 911.")


def test_two_sweeps_at_once_record_and_push_a_closing_once(weekday_hours, monkeypatch, published):
    """The sweep writes `hours_open` with a compare-and-set: a sweep that read the clinic before
    another one recorded its closing changes nothing, records nothing and pushes nothing."""
    from waitingroom.models import Clinic

    real = opening.schedule_of

    def another_sweep_got_there_first(clinic, **kwargs):
        Clinic.objects.filter(pk=clinic.pk).update(hours_open=False)
        return real(clinic, **kwargs)

    monkeypatch.setattr(opening, "schedule_of", another_sweep_got_there_first)
    published.clear()
    with time_machine.travel(MONDAY_EVENING, tick=False), published.commit():
        assert opening.hours_sweep() == 0
    assert not ClinicEvent.objects.exists() and not published.sent


# --- On time: the exact-time task (waitingroom/opening.py flip_at, hours_flip) -------------------

MONDAY_CLOSING = datetime(2026, 12, 7, 22, 0, tzinfo=UTC)  # 17:00 New York time
CLOSING = MONDAY_CLOSING.isoformat()  # as the task gets it


def test_the_sweep_sends_a_task_for_the_closing_instant_after_commit(weekday_hours, flips, published):
    with time_machine.travel(MONDAY_NOON, tick=False), published.commit():
        opening.hours_sweep()  # hours away: nothing sent
    assert flips == []
    with time_machine.travel(MONDAY_CLOSING - timedelta(seconds=20), tick=False), published.commit():
        assert opening.hours_sweep() == 0
        assert flips == []  # not before the sweep's writes commit
    [sent] = flips
    assert sent["args"] == (weekday_hours.pk, MONDAY_CLOSING.isoformat())
    assert sent["eta"] == MONDAY_CLOSING
    assert sent["expires"] > MONDAY_CLOSING


def test_the_task_flips_the_clinic_at_the_instant_and_tells_everyone(weekday_hours, flips, published):
    from waitingroom import tasks

    with time_machine.travel(MONDAY_NOON, tick=False):
        opening.hours_sweep()
    published.clear()
    with time_machine.travel(MONDAY_CLOSING, tick=False), published.commit():
        assert tasks.opening_hours_flip(weekday_hours.pk, CLOSING) == 1
    event = ClinicEvent.objects.get()
    assert event.kind == ClinicEvent.Kind.HOURS_CLOSED and event.at == MONDAY_CLOSING
    [staff_push] = published.to(groups.clinic_staff_group(weekday_hours.id))
    assert staff_push["open"] is False and staff_push["text"].startswith("Closed since 17:00")
    assert flips == []  # the next change is tomorrow morning


def test_a_task_arriving_early_changes_nothing_and_is_sent_again_for_the_instant(
    weekday_hours, flips, published
):
    from waitingroom import tasks

    with time_machine.travel(MONDAY_NOON, tick=False):
        opening.hours_sweep()
    published.clear()
    with time_machine.travel(MONDAY_CLOSING - timedelta(seconds=1), tick=False), published.commit():
        assert tasks.opening_hours_flip(weekday_hours.pk, CLOSING) == 0
    weekday_hours.refresh_from_db()
    assert weekday_hours.hours_open is True
    assert not ClinicEvent.objects.exists() and published.sent == []
    assert [(sent["args"], sent["eta"]) for sent in flips] == [((weekday_hours.pk, CLOSING), MONDAY_CLOSING)]


def test_a_duplicate_task_after_the_flip_records_and_pushes_nothing(weekday_hours, flips, published):
    from waitingroom import tasks

    with time_machine.travel(MONDAY_NOON, tick=False):
        opening.hours_sweep()
    with time_machine.travel(MONDAY_CLOSING, tick=False), published.commit():
        assert tasks.opening_hours_flip(weekday_hours.pk, CLOSING) == 1
    published.clear()
    with time_machine.travel(MONDAY_CLOSING + timedelta(seconds=2), tick=False), published.commit():
        assert tasks.opening_hours_flip(weekday_hours.pk, CLOSING) == 0
        assert opening.hours_sweep() == 0  # nor the beat's sweep after it
    assert ClinicEvent.objects.count() == 1 and published.sent == []


def test_the_task_leaves_the_next_change_to_the_sweeps(clinic_a, flips, published):
    """Open 12:00-12:01 and 12:02-12:03: the task flipping the clinic at 12:01 sends none for 12:02
    (else every change would add one more task to the next, the sweeps' two included)."""
    from waitingroom import tasks

    for opens in (time(12), time(12, 2)):
        OpeningHours.objects.create(
            clinic=clinic_a, weekday=0, opens=opens, closes=opens.replace(minute=opens.minute + 1)
        )
    with time_machine.travel(MONDAY_NOON, tick=False):
        opening.hours_sweep(send_flips=False)
    at = MONDAY_NOON + timedelta(minutes=1)
    with time_machine.travel(at, tick=False), published.commit():
        assert tasks.opening_hours_flip(clinic_a.pk, at.isoformat()) == 1
    assert flips == []
    # The beat's sweep a second later sends the task for 12:02.
    with time_machine.travel(at + timedelta(seconds=1), tick=False), published.commit():
        assert opening.hours_sweep() == 0
    assert [sent["eta"] for sent in flips] == [at + timedelta(minutes=1)]


def test_run_inline_no_exact_time_task_is_sent(weekday_hours, monkeypatch, published):
    """With tasks run eagerly (tests, a `make run` without a worker) an eta means "now": an early
    task would send itself again and again until the instant."""
    from waitingroom import tasks

    calls: list[int] = []
    monkeypatch.setattr(tasks.opening_hours_flip, "apply_async", lambda **kwargs: calls.append(1))
    with time_machine.travel(MONDAY_CLOSING - timedelta(seconds=20), tick=False), published.commit():
        opening.hours_sweep()
    assert calls == []


@pytest.mark.parametrize("at", ["not a time", "2026-12-07T22:00:00", "", "2026-13-45T99:00:00+00:00"])
def test_a_task_given_a_bad_at_changes_nothing_sends_nothing_and_does_not_raise(
    weekday_hours, flips, published, at, caplog
):
    """A task sent by hand or by an older sender with an `at` that is no aware ISO 8601 instant:
    a ValueError or a naive-aware TypeError was an error in the worker each time it ran."""
    from waitingroom import tasks

    with time_machine.travel(MONDAY_NOON, tick=False):
        opening.hours_sweep(send_flips=False)
    published.clear()
    with time_machine.travel(MONDAY_CLOSING, tick=False), published.commit():
        assert tasks.opening_hours_flip(weekday_hours.pk, at) == 0
    weekday_hours.refresh_from_db()
    assert weekday_hours.hours_open is True  # the sweep is the net, not a guess at the instant
    assert not ClinicEvent.objects.exists() and published.sent == [] and flips == []
    assert "not an aware ISO 8601 instant" in caplog.text


def test_a_task_for_an_instant_beyond_the_flip_window_is_not_sent_again(weekday_hours, flips, published):
    """A task run long before its `at` (sent by hand, or for hours since moved) was sent again with
    that eta: held by a worker past the broker's visibility timeout, Redis hands it out again every
    timeout until the instant. Only a change within FLIP_AHEAD is waited for; the sweeps send the
    task for a later one when it comes near."""
    from waitingroom import tasks

    with time_machine.travel(MONDAY_NOON, tick=False), published.commit():
        assert tasks.opening_hours_flip(weekday_hours.pk, CLOSING) == 0  # five hours early
    assert flips == [] and not ClinicEvent.objects.exists() and published.sent == []
    near = MONDAY_CLOSING - opening.FLIP_AHEAD
    with time_machine.travel(near, tick=False), published.commit():
        assert tasks.opening_hours_flip(weekday_hours.pk, CLOSING) == 0
    assert [sent["eta"] for sent in flips] == [MONDAY_CLOSING]  # within the window: waited for
