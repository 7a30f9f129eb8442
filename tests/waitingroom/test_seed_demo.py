import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import RequestFactory

from waitingroom.models import Clinic, Membership, Role

pytestmark = pytest.mark.django_db


def test_seed_creates_demo_clinic_and_logins_and_is_idempotent(settings):
    settings.DEBUG = True  # the test runner turns DEBUG off; the demo is seeded only with it on
    call_command("seed_demo")
    call_command("seed_demo")

    clinic = Clinic.objects.get(slug="demo")
    assert clinic.name == "Demo Clinic"
    roles = dict(Membership.objects.filter(clinic=clinic).values_list("user__username", "role"))
    assert roles == {
        "provider": Role.PROVIDER,
        "csr": Role.CSR,
        "scheduler": Role.SCHEDULER,
        "clinicadmin": Role.CLINIC_ADMIN,
    }
    # Sign-ins are throttled (django-axes), which needs the request they come with.
    request = RequestFactory().post("/accounts/login/")
    for username in ["provider", "csr", "scheduler", "clinicadmin", "admin"]:
        assert authenticate(request, username=username, password="demo-pass-123") is not None
    assert authenticate(request, username="admin", password="demo-pass-123").is_superuser
    # The demo clinic and Harbor Clinic, which shows the closed page (opening hours).
    assert Clinic.objects.count() == 2
    # The waiting room's intake form, with visit option and State on the card.
    assert list(clinic.intake_fields.filter(show_on_card=True).values_list("key", flat=True)) == [
        "visit_option",
        "state",
    ]


def test_seed_gives_the_demo_clinic_a_service_open_slots_and_one_pending_request(settings):
    from scheduling import availability
    from scheduling.models import AppointmentRequest, Service

    settings.DEBUG = True
    call_command("seed_demo")
    call_command("seed_demo")
    clinic = Clinic.objects.get(slug="demo")
    service = Service.objects.get(clinic=clinic, name="General consultation")
    assert availability.open_slots(clinic=clinic, service=service)
    (pending,) = AppointmentRequest.objects.filter(clinic=clinic, status="pending")
    assert pending.kind == "scheduled" and pending.times.count() == 3


def test_seed_gives_the_demo_clinic_a_meeting_in_each_status(settings):
    from django.utils import timezone

    from scheduling.meetings.status import MeetingStatus
    from scheduling.models import Meeting

    settings.DEBUG = True
    call_command("seed_demo")
    call_command("seed_demo")  # again: no second set
    # The demo's own meetings (the reports' history adds more, completed and missed).
    meetings = Meeting.objects.filter(
        clinic__slug="demo", guest_email__endswith="@demo-guest.example"
    ).select_related("visit")
    now = timezone.now()
    assert sorted(m.current_status(now) for m in meetings) == sorted(
        set(MeetingStatus) - {MeetingStatus.IN_PROGRESS}  # a call going on needs two people in it
    )
    # The stored statuses are current too (the sweep ran), and the completed one has its review.
    assert all(m.status == m.current_status(now) for m in meetings)
    completed = meetings.get(status=MeetingStatus.COMPLETED)
    assert completed.review_rating == 5 and completed.summary


def test_seed_gives_the_demo_clinic_phone_consultations_in_each_status(settings):
    from consultations.lifecycle import Status
    from consultations.models import Consultation, ConsultationProfile

    settings.DEBUG = True
    call_command("seed_demo")
    call_command("seed_demo")  # again: no second set
    clinic = Clinic.objects.get(slug="demo")
    consultations = Consultation.objects.filter(clinic=clinic)
    assert set(consultations.values_list("status", flat=True)) == set(Status)
    assert consultations.filter(status=Status.COMPLETED, is_open=False).exists()  # a Locked room
    assert ConsultationProfile.objects.get(clinic=clinic).voice_number
    # The demo expert can start a phone call at once: their number is verified.
    from waitingroom.models import StaffPhone

    assert StaffPhone.objects.get(user__username="provider").is_verified
    # The Available consultation's client has an earlier one with a note: the room shows a history.
    available = consultations.get(status=Status.AVAILABLE)
    earlier = consultations.get(requester=available.requester, status=Status.COMPLETED)
    assert earlier.starts_at < available.starts_at and earlier.notes.exists()
    assert available.messages.exists() and available.unread_by_staff == 1


def test_the_readme_names_every_paid_demo_service_with_its_price(settings):
    """A newcomer finds the demo's card payments from the README: which services are paid, for how much."""
    from pathlib import Path

    from scheduling.models import Service
    from waitingroom.payments.selectors import minor_units, money

    settings.DEBUG = True
    call_command("seed_demo")
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    paid = Service.objects.filter(clinic__slug="demo", payment_required=True, active=True)
    assert paid.count() == 2
    for service in paid:
        price = money(minor_units(service.price), service.clinic.currency)
        assert f"*{service.name}* is paid ({price})" in readme, service.name


def test_seed_gives_the_reports_ninety_days_of_history_fast_and_once(settings):
    """/reports/ is worth looking at under `make run`: visits on most of the last 90 days with
    their events (each a transition the lifecycle allows), waits of minutes, every ending, recall
    SMS delivered and failed, meetings completed and missed, consultations and payments."""
    import time
    from datetime import timedelta

    from django.utils import timezone

    from consultations.models import Consultation
    from scheduling.meetings.status import MeetingStatus
    from scheduling.models import Meeting
    from visits.lifecycle import Actor, Event, Status, transition
    from visits.models import Visit, VisitEvent
    from waitingroom.outbox.models import SmsMessage
    from waitingroom.payments.models import Payment
    from waitingroom.reports.periods import Period
    from waitingroom.reports.views import charts_for

    settings.DEBUG = True
    t0 = time.monotonic()
    call_command("seed_demo")
    assert time.monotonic() - t0 < 10
    counts = (
        Visit.objects.count(),
        VisitEvent.objects.count(),
        Meeting.objects.count(),
        Payment.objects.count(),
    )
    call_command("seed_demo")  # again: nothing added
    assert (
        Visit.objects.count(),
        VisitEvent.objects.count(),
        Meeting.objects.count(),
        Payment.objects.count(),
    ) == counts

    clinic = Clinic.objects.get(slug="demo")
    visits = Visit.objects.filter(clinic=clinic)
    assert visits.count() > 2000
    assert set(visits.values_list("status", flat=True)) >= {"completed", "left", "cancelled", "expired"}
    for e in VisitEvent.objects.filter(visit__clinic=clinic).exclude(event="arrive")[:3000]:
        if e.from_status != e.to_status:
            assert transition(Status(e.from_status), Event(e.event), Actor(e.actor)) == e.to_status, e
    statuses = set(
        SmsMessage.objects.filter(clinic=clinic, reference__startswith="recall:").values_list(
            "status", flat=True
        )
    )
    assert {"delivered", "failed"} <= statuses
    meetings = Meeting.objects.filter(clinic=clinic).select_related("visit")
    now = timezone.now()
    assert {MeetingStatus.COMPLETED, MeetingStatus.MISSED} <= set(meetings.values_list("status", flat=True))
    assert all(m.status == m.current_status(now) for m in meetings)  # the sweep would store the same
    assert Consultation.objects.filter(clinic=clinic, status="completed").count() > 50

    today = timezone.localdate(now, clinic.tzinfo)
    charts = {
        c.key: c
        for c in charts_for(Period(clinic=clinic, start=today - timedelta(days=30), end=today, preset=""))
    }
    assert charts["wait"].summary.startswith("Median wait ")
    assert "0 of" not in charts["meetings"].summary and "missed" in charts["meetings"].summary
    assert sum(v for v in charts["payments"].series[0].values if v) > 0
    assert sum(v for v in charts["visits-per-hour"].series[0].values[10:12]) > sum(
        charts["visits-per-hour"].series[0].values[0:6]
    )


def test_seed_gives_the_demo_clinic_hours_that_keep_it_open_and_harbor_a_closed_day(settings):
    from waitingroom import opening

    settings.DEBUG = True
    call_command("seed_demo")
    call_command("seed_demo")  # again: no second set of hours
    clinic = Clinic.objects.get(slug="demo")
    assert clinic.opening_hours.count() == 7
    assert opening.open_state(clinic=clinic).is_open
    harbor = Clinic.objects.get(slug="harbor")
    assert harbor.opening_hours.count() == 10 and harbor.hours_exceptions.count() == 1
    state = opening.open_state(clinic=harbor)
    assert not state.is_open and state.opens_at is not None
    assert set(Membership.objects.filter(clinic=harbor).values_list("user__username", flat=True)) == {
        "provider",
        "clinicadmin",
    }


def _submitted(html: str, form_id: str) -> list[tuple[str, str]]:
    """What a browser sends for the form `form_id` as rendered, untouched: inputs, checked boxes,
    selected options, textareas (the admin's submit buttons left out)."""
    from html.parser import HTMLParser

    class Form(HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.inside = False
            self.pairs: list[tuple[str, str]] = []
            self.select: str | None = None
            self.textarea: str | None = None
            self.text = ""

        def handle_starttag(self, tag, attrs) -> None:
            a = {key: value or "" for key, value in attrs}
            if tag == "form":
                self.inside = a.get("id") == form_id
            if not self.inside:
                return
            if tag == "input" and a.get("name") and a.get("type", "text") not in ("submit", "button", "file"):
                if a.get("type") not in ("checkbox", "radio") or "checked" in a:
                    self.pairs.append(
                        (a["name"], a.get("value", "on" if a.get("type") == "checkbox" else ""))
                    )
            elif tag == "select":
                self.select = a.get("name")
            elif tag == "option" and self.select and "selected" in a:
                self.pairs.append((self.select, a.get("value", "")))
            elif tag == "textarea":
                self.textarea, self.text = a.get("name"), ""

        def handle_data(self, data) -> None:
            if self.textarea:
                self.text += data

        def handle_endtag(self, tag) -> None:
            if tag == "form":
                self.inside = False
            elif tag == "select":
                self.select = None
            elif tag == "textarea" and self.textarea:
                self.pairs.append((self.textarea, self.text.removeprefix("\n")))
                self.textarea = None

    parser = Form()
    parser.feed(html)
    return parser.pairs


def test_the_clinic_admin_can_save_the_seeded_demo_clinic_as_it_is(settings, client):
    """Under `make run` a clinic admin edits the demo clinic's hours in the admin: its page, saved
    untouched, must pass its own checks (the seeded phone-consultation number was one the admin
    refuses, +1 555..., so no change to the clinic could be saved)."""
    from urllib.parse import urlencode

    settings.DEBUG = True
    call_command("seed_demo")
    clinic = Clinic.objects.get(slug="demo")
    client.force_login(Membership.objects.get(clinic=clinic, role=Role.CLINIC_ADMIN).user)
    url = f"/admin/waitingroom/clinic/{clinic.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    data = _submitted(page.content.decode(), "clinic_form")
    assert ("opening_hours-0-closes", "00:00") in data  # shown in hours and minutes (hours count minutes)
    saved = client.post(
        url, urlencode([*data, ("_continue", "1")]), content_type="application/x-www-form-urlencoded"
    )
    if saved.status_code == 200:  # the page again, with its errors
        errors = [saved.context["adminform"].form.errors] + [
            inline.formset.errors for inline in saved.context["inline_admin_formsets"]
        ]
        raise AssertionError(f"the admin refused the seeded demo clinic: {errors}")
    assert saved.status_code == 302


def test_the_demo_history_gives_the_wait_screen_an_estimate(settings):
    """Walked under make run: a patient of the demo clinic, with 90 days of called visits behind
    it, read "No wait estimate yet": the history's visits had no place in line when ready, which
    the estimate divides each wait by. Now each has the place it would have had."""
    from visits.models import Visit
    from visits.selectors import seconds_per_place

    settings.DEBUG = True
    call_command("seed_demo")
    clinic = Clinic.objects.get(slug="demo")
    called = Visit.objects.filter(clinic=clinic, first_called_at__isnull=False)
    assert not called.filter(position_when_ready__isnull=True).exists()
    assert called.filter(position_when_ready__gt=1).exists()  # some found others already in line
    per_place = seconds_per_place(clinic=clinic)
    assert per_place is not None and 30 < per_place < 20 * 60
