"""Opening hours in the Django admin: inlines on the clinic's page, edited by its clinic admins
(schedulers see them), every interval checked (opens before closes, no overlap within a day, a date
closed all day or open at times, not both), one clinic's admin never touching another's."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine

from tests.conftest import client_for
from tests.factories import staff
from tests.waitingroom.test_admin_scoping import clinic_form
from waitingroom.models import Clinic, ClinicEvent, HoursException, OpeningHours, Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic_admin(clinic_a):
    return staff(username="ada", clinic=clinic_a, role=Role.CLINIC_ADMIN, is_staff=True)


def hours_rows(clinic, weekly=(), exceptions=()) -> dict:
    data = {
        "opening_hours-TOTAL_FORMS": str(len(weekly)),
        "opening_hours-INITIAL_FORMS": "0",
        "hours_exceptions-TOTAL_FORMS": str(len(exceptions)),
        "hours_exceptions-INITIAL_FORMS": "0",
    }
    for n, (weekday, opens, closes) in enumerate(weekly):
        data.update(
            {
                f"opening_hours-{n}-clinic": str(clinic.pk),
                f"opening_hours-{n}-weekday": str(weekday),
                f"opening_hours-{n}-opens": opens,
                f"opening_hours-{n}-closes": closes,
            }
        )
    for n, (day, opens, closes, note) in enumerate(exceptions):
        data.update(
            {
                f"hours_exceptions-{n}-clinic": str(clinic.pk),
                f"hours_exceptions-{n}-date": day,
                f"hours_exceptions-{n}-opens": opens,
                f"hours_exceptions-{n}-closes": closes,
                f"hours_exceptions-{n}-note": note,
            }
        )
    return clinic_form(clinic, **data)


def post(client, clinic, data):
    return client.post(f"/admin/waitingroom/clinic/{clinic.pk}/change/", data)


def test_a_clinic_admin_sets_weekly_hours_a_holiday_the_closed_message_and_the_cap(clinic_admin, clinic_a):
    data = hours_rows(
        clinic_a,
        weekly=[(0, "08:00", "12:00"), (0, "13:00", "17:00"), (5, "00:00", "00:00")],
        exceptions=[
            ("2026-12-25", "", "", "Christmas Day"),
            ("2026-12-24", "09:00", "12:00", "Christmas Eve"),
        ],
    )
    data.update({"closed_message": "Call 911 if urgent.", "max_waiting": "12"})
    response = post(client_for(clinic_admin), clinic_a, data)
    assert response.status_code == 302, response.content[:3000]
    assert sorted(OpeningHours.objects.values_list("weekday", "opens", "closes")) == [
        (0, time(8), time(12)),
        (0, time(13), time(17)),
        (5, time(0), time(0)),
    ]
    assert HoursException.objects.get(date=date(2026, 12, 25)).opens is None
    clinic_a.refresh_from_db()
    assert (clinic_a.closed_message, clinic_a.max_waiting) == ("Call 911 if urgent.", 12)


@pytest.mark.parametrize(
    ("weekly", "exceptions", "words"),
    [
        ([(0, "17:00", "08:00")], [], "the opening time must be before the closing time"),
        ([(0, "08:00", "12:00"), (0, "11:00", "14:00")], [], "Monday: 08:00-12:00 and 11:00-14:00 overlap"),
        ([], [("2026-12-24", "09:00", "", "")], "Give both the opening and the closing time, or neither"),
        (
            [],
            [("2026-12-24", "09:00", "12:00", ""), ("2026-12-24", "", "", "")],
            "a date is either closed all day (no times) or open at the times given, not both",
        ),
        (
            [],
            [("2026-12-24", "09:00", "12:00", ""), ("2026-12-24", "10:00", "11:00", "")],
            "2026-12-24: 09:00-12:00 and 10:00-11:00 overlap",
        ),
        # Hours count whole minutes: seconds were cut in silence (08:00:30 stored, read as 08:00).
        (
            [(0, "08:00:30", "17:00")],
            [],
            "08:00:30: give the time in hours and minutes (e.g. 08:30), without seconds",
        ),
        ([], [("2026-12-24", "09:00", "12:00:59", "")], "12:00:59: give the time in hours and minutes"),
    ],
)
def test_bad_hours_are_refused_with_words_and_nothing_is_saved(
    clinic_admin, clinic_a, weekly, exceptions, words
):
    response = post(client_for(clinic_admin), clinic_a, hours_rows(clinic_a, weekly, exceptions))
    assert response.status_code == 200
    assert words in response.content.decode().replace("&#x27;", "'")
    assert not OpeningHours.objects.exists() and not HoursException.objects.exists()


def test_the_hours_are_shown_in_hours_and_minutes(clinic_admin, clinic_a):
    OpeningHours.objects.create(clinic=clinic_a, weekday=0, opens=time(8, 30), closes=time(17))
    page = client_for(clinic_admin).get(f"/admin/waitingroom/clinic/{clinic_a.pk}/change/").content.decode()
    assert 'value="08:30"' in page and 'value="17:00"' in page
    assert "08:30:00" not in page


def test_a_scheduler_sees_the_hours_and_cannot_change_them(clinic_a):
    scheduler = staff(username="sam", clinic=clinic_a, role=Role.SCHEDULER, is_staff=True)
    OpeningHours.objects.create(clinic=clinic_a, weekday=0, opens=time(8), closes=time(17))
    client = client_for(scheduler)
    page = client.get(f"/admin/waitingroom/clinic/{clinic_a.pk}/change/")
    assert page.status_code == 200 and b"08:00" in page.content
    post(client, clinic_a, hours_rows(clinic_a, weekly=[(1, "08:00", "17:00")]))
    assert list(OpeningHours.objects.values_list("weekday", flat=True)) == [0]


def test_the_clinic_page_lists_who_closed_and_reopened_it(clinic_admin, clinic_a):
    from django.utils import timezone

    ClinicEvent.objects.create(
        clinic=clinic_a,
        kind=ClinicEvent.Kind.CLOSED_NOW,
        user=clinic_admin,
        message="Fire drill",
        at=timezone.now(),
    )
    page = client_for(clinic_admin).get(f"/admin/waitingroom/clinic/{clinic_a.pk}/change/")
    assert b"Fire drill" in page.content and b"Closed now" in page.content


def test_another_clinics_admin_cannot_add_hours_to_this_clinic(clinic_a, clinic_b):
    other = staff(username="olga", clinic=clinic_b, role=Role.CLINIC_ADMIN, is_staff=True)
    response = post(client_for(other), clinic_a, hours_rows(clinic_a, weekly=[(0, "08:00", "17:00")]))
    assert response.status_code in (302, 403, 404)
    assert not OpeningHours.objects.exists()


def test_saving_hours_that_close_the_clinic_now_tells_it_at_once(
    clinic_admin, clinic_a, django_capture_on_commit_callbacks
):
    from django.utils import timezone

    today = timezone.localdate(timezone=clinic_a.tzinfo).isoformat()
    data = hours_rows(
        clinic_a, weekly=[(d, "00:00", "00:00") for d in range(7)], exceptions=[(today, "", "", "Holiday")]
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert post(client_for(clinic_admin), clinic_a, data).status_code == 302
    assert ClinicEvent.objects.get().kind == ClinicEvent.Kind.HOURS_CLOSED
    assert callbacks  # the opening push, sent after the save commits
    clinic_a.refresh_from_db()
    assert clinic_a.hours_open is False


def test_the_beat_task_runs_the_hours_sweep(clinic_a):
    from waitingroom import tasks

    OpeningHours.objects.create(clinic=clinic_a, weekday=0, opens=time(8), closes=time(9))
    assert tasks.opening_hours_sweep.name == "waitingroom.tasks.opening_hours_sweep"
    assert tasks.opening_hours_sweep() == 1
    assert tasks.opening_hours_sweep() == 0


def test_saving_one_clinics_hours_sweeps_that_clinic_only(clinic_admin, clinic_a, clinic_b):
    """The admin's save checks the clinic it saved, not every clinic in the platform (inside the
    admin's request and transaction): another clinic whose hours changed its state waits for the
    beat's sweep."""
    OpeningHours.objects.create(clinic=clinic_b, weekday=0, opens=time(8), closes=time(9))
    data = hours_rows(clinic_a, weekly=[(d, "00:00", "00:00") for d in range(7)])
    assert post(client_for(clinic_admin), clinic_a, data).status_code == 302
    clinic_b.refresh_from_db()
    assert clinic_b.hours_open is None
    assert not ClinicEvent.objects.filter(clinic=clinic_b).exists()


def test_a_cap_of_zero_is_refused_with_words(clinic_admin, clinic_a):
    """0 would tell every walk-in the room is full while nobody waits; blank is no cap."""
    data = hours_rows(clinic_a)
    data["max_waiting"] = "0"
    response = post(client_for(clinic_admin), clinic_a, data)
    assert response.status_code == 200
    assert "The cap is at least 1" in response.content.decode()
    clinic_a.refresh_from_db()
    assert clinic_a.max_waiting is None


@pytest.mark.parametrize(
    "weekly",
    [
        [(0, "22:00", "02:00")],  # across midnight: two rows, 22:00-00:00 and the next day's 00:00-02:00
        [(0, "08:00", "24:00")],
        [(0, "08:00", "25:00")],
        [(9, "08:00", "12:00")],
        [(0, "08:00\x00", "09:00")],
    ],
)
def test_odd_hours_get_the_form_again_never_a_500(clinic_admin, clinic_a, weekly):
    response = post(client_for(clinic_admin), clinic_a, hours_rows(clinic_a, weekly))
    assert response.status_code == 200 and b"errornote" in response.content
    assert not OpeningHours.objects.exists()


def test_an_hour_that_does_not_exist_on_the_dst_day_is_accepted(clinic_admin, clinic_a):
    """02:30 on the spring-forward Sunday is read as 03:30 summer time (waitingroom/hours.py)."""
    response = post(client_for(clinic_admin), clinic_a, hours_rows(clinic_a, [(6, "02:30", "03:00")]))
    assert response.status_code == 302


def test_the_clinic_page_lists_the_latest_openings_and_closings_only(clinic_admin, clinic_a, clinic_b):
    """Years of the hours sweep's records (two to four a day) do not all land on the page where
    the hours are edited: the latest 50, and saving the page still works."""
    from datetime import timedelta

    from django.utils import timezone

    start = timezone.now() - timedelta(days=60)
    ClinicEvent.objects.bulk_create(
        ClinicEvent(clinic=clinic_a, kind=ClinicEvent.Kind.HOURS_CLOSED, at=start + timedelta(hours=n))
        for n in range(120)
    )
    ClinicEvent.objects.create(clinic=clinic_b, kind=ClinicEvent.Kind.CLOSED_NOW, at=timezone.now())
    client = client_for(clinic_admin)
    page = client.get(f"/admin/waitingroom/clinic/{clinic_a.pk}/change/")
    [events] = [f for f in page.context["inline_admin_formsets"] if f.formset.prefix == "events"]
    shown = [form.instance.at for form in events.formset.forms]
    assert len(shown) == 50 and shown[0] == start + timedelta(hours=119)
    assert post(client, clinic_a, hours_rows(clinic_a)).status_code == 302


def test_saving_the_clinic_page_keeps_a_close_now_made_meanwhile(clinic_admin, clinic_a, monkeypatch):
    """A Close now that commits after the admin's save read the clinic's row is
    not undone by the save: it writes the page's fields only."""
    from django.utils import timezone

    from waitingroom.admin import ClinicAdmin

    real = ClinicAdmin.get_object

    def read_then_closed_elsewhere(self, request, object_id, from_field=None):
        obj = real(self, request, object_id, from_field)
        if request.method == "POST":
            Clinic.objects.filter(pk=clinic_a.pk).update(
                closed_now_at=timezone.now(), closed_now_message="Fire drill"
            )
        return obj

    monkeypatch.setattr(ClinicAdmin, "get_object", read_then_closed_elsewhere)
    data = hours_rows(clinic_a)
    data["closed_message"] = "Call 911."
    assert post(client_for(clinic_admin), clinic_a, data).status_code == 302
    clinic_a.refresh_from_db()
    assert clinic_a.closed_message == "Call 911."
    assert clinic_a.closed_now_at is not None and clinic_a.closed_now_message == "Fire drill"


def test_a_new_closed_message_reaches_the_waiting_patients_at_once(
    clinic_admin, clinic_a, monkeypatch, django_capture_on_commit_callbacks
):
    from waitingroom import opening
    from waitingroom.realtime import groups, publisher

    opening.clinic_close_now(clinic_id=clinic_a.pk, user=clinic_admin, message="")
    sent: list = []
    monkeypatch.setattr(publisher, "_deliver", lambda batch: sent.extend(batch))
    data = hours_rows(clinic_a)
    data["closed_message"] = "For urgent help call 911."
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client_for(clinic_admin), clinic_a, data).status_code == 302
    to_patients = [p for g, p in sent if g == groups.clinic_patients_group(clinic_a.pk)]
    assert to_patients and "For urgent help call 911." in to_patients[-1]["text"]
    # Saving the page again without changing the message pushes nothing.
    sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client_for(clinic_admin), clinic_a, data).status_code == 302
    assert not sent


def test_removing_every_hour_of_a_closed_clinic_opens_it_at_once(
    clinic_admin, clinic_a, django_capture_on_commit_callbacks
):
    """The clinic's hours closed it; its admin deletes them all (no hours: always open). The save
    sweeps the clinic: it is open at once and told so, and it is back to a clinic without hours
    (hours_open None), whose wait screens and dashboard read its row alone, not hours it has not."""
    from waitingroom import opening

    rows = [
        OpeningHours.objects.create(clinic=clinic_a, weekday=d, opens=time(0), closes=time(0, 1))
        for d in range(7)
    ]
    opening.hours_sweep(clinic_ids=[clinic_a.pk])
    clinic_a.refresh_from_db()
    assert clinic_a.hours_open is False
    data = hours_rows(clinic_a)
    data.update({"opening_hours-TOTAL_FORMS": str(len(rows)), "opening_hours-INITIAL_FORMS": str(len(rows))})
    for n, row in enumerate(rows):
        data.update(
            {
                f"opening_hours-{n}-id": str(row.pk),
                f"opening_hours-{n}-clinic": str(clinic_a.pk),
                f"opening_hours-{n}-weekday": str(row.weekday),
                f"opening_hours-{n}-opens": "00:00",
                f"opening_hours-{n}-closes": "00:01",
                f"opening_hours-{n}-DELETE": "on",
            }
        )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert post(client_for(clinic_admin), clinic_a, data).status_code == 302
    assert not OpeningHours.objects.exists()
    clinic_a.refresh_from_db()
    assert clinic_a.hours_open is None
    assert ClinicEvent.objects.filter(clinic=clinic_a).latest("at").kind == ClinicEvent.Kind.HOURS_OPENED
    assert callbacks  # the opening push, after the save commits
    assert opening.dashboard_words(clinic=clinic_a).is_open


def test_removing_every_hour_of_an_open_clinic_forgets_its_hours_quietly(clinic_admin, clinic_a):
    """Open by its hours, then none left: nothing to tell, but its row no longer says "seen with
    hours" (the beat sweep and every re-fetch would read its empty hours for ever)."""
    from waitingroom import opening

    row = OpeningHours.objects.create(clinic=clinic_a, weekday=0, opens=time(0), closes=time(0))
    OpeningHours.objects.bulk_create(
        OpeningHours(clinic=clinic_a, weekday=d, opens=time(0), closes=time(0)) for d in range(1, 7)
    )
    opening.hours_sweep(clinic_ids=[clinic_a.pk])
    clinic_a.refresh_from_db()
    assert clinic_a.hours_open is True
    OpeningHours.objects.exclude(pk=row.pk).delete()
    data = hours_rows(clinic_a)
    data.update(
        {
            "opening_hours-TOTAL_FORMS": "1",
            "opening_hours-INITIAL_FORMS": "1",
            "opening_hours-0-id": str(row.pk),
            "opening_hours-0-clinic": str(clinic_a.pk),
            "opening_hours-0-weekday": "0",
            "opening_hours-0-opens": "00:00",
            "opening_hours-0-closes": "00:00",
            "opening_hours-0-DELETE": "on",
        }
    )
    assert post(client_for(clinic_admin), clinic_a, data).status_code == 302
    clinic_a.refresh_from_db()
    assert clinic_a.hours_open is None
    assert not ClinicEvent.objects.filter(clinic=clinic_a).exists()


def test_saving_hours_that_change_the_state_within_a_minute_sends_the_task_for_that_instant(
    clinic_a, flips, django_capture_on_commit_callbacks
):
    """The save sweeps the clinic inside the admin's transaction; its exact-time task is sent after
    the save commits, for the new closing instant (not at the next beat sweep, up to 30 s later)."""
    noon = datetime(2026, 12, 7, 17, 0, 15, tzinfo=UTC)  # Monday 12:00:15 in New York
    with time_machine.travel(noon, tick=False):
        admin = staff(username="ada", clinic=clinic_a, role=Role.CLINIC_ADMIN, is_staff=True)
        data = hours_rows(clinic_a, weekly=[(0, "08:00", "12:01")])
        with django_capture_on_commit_callbacks(execute=True):
            assert post(client_for(admin), clinic_a, data).status_code == 302
    [sent] = flips
    closing = noon + timedelta(seconds=45)
    assert (sent["args"], sent["eta"]) == ((clinic_a.pk, closing.isoformat()), closing)
