"""The access trail: each read of patient data writes one entry (pushes none), each staff action
one; clinic admins read their clinics' trail in the admin and export it; nobody edits or deletes
an entry; old entries are purged."""

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.admin import helpers
from django.utils import timezone

from tests.conftest import client_for
from tests.factories import staff
from tests.visits.conftest import in_call, ready
from visits import chat
from waitingroom.audit import services as audit
from waitingroom.audit.models import AccessEvent, TrailIsAppendOnly
from waitingroom.audit.tasks import purge_access_events
from waitingroom.models import Role

pytestmark = pytest.mark.django_db
TRAIL = "/admin/waitingroom/accessevent/"


@pytest.fixture
def clinic_admin(clinic_a):
    return staff(username="ada", clinic=clinic_a, role=Role.CLINIC_ADMIN, is_staff=True)


def entries(**filters) -> list[tuple]:
    return list(
        AccessEvent.objects.filter(**filters)
        .order_by("id")
        .values_list("username", "action", "kind", "object_id", "patient_label", "detail")
    )


def entry(rf, user, clinic, label="Pat Patient", at=None, kind=audit.Kind.CHAT) -> AccessEvent:
    request = rf.get("/", REMOTE_ADDR="203.0.113.9")
    request.user = user
    made = audit.record(
        request=request, clinic_id=clinic.id, action=audit.Action.VIEWED, kind=kind, object_id=1,
        patient_label=label,
    )  # fmt: skip
    if at is not None:  # back-date it (the model refuses updates; the test goes around it)
        AccessEvent._base_manager.filter(pk=made.pk).update(at=at)
    return made


def test_opening_the_chat_writes_one_entry_and_pushed_messages_none(provider, clinic_a):
    visit = ready(clinic_a, "Rita Reader")
    client = client_for(provider)
    url = f"/dashboard/{clinic_a.slug}/visits/{visit.id}/chat/"
    assert client.get(url, REMOTE_ADDR="198.51.100.7").status_code == 200
    assert entries() == [("paula", "viewed", "chat", visit.id, "Rita Reader", "")]
    assert AccessEvent.objects.get().client_address == "198.51.100.7"
    # The patient writes; the open panel gets it by push and only marks it read.
    chat.chat_post(visit_id=visit.id, body="Hello?")
    marked = client.get(url, {"read": "1"})
    assert marked.status_code == 204 and marked.content == b""
    assert AccessEvent.objects.count() == 1
    client.post(url, {"body": "On my way"})
    assert entries()[-1] == ("paula", "changed", "chat", visit.id, "Rita Reader", "")


def test_a_staff_action_and_the_call_room_write_one_entry_each(provider, clinic_a):
    visit = ready(clinic_a, "Carl Called")
    client = client_for(provider)
    response = client.post(
        f"/dashboard/{clinic_a.slug}/visits/{visit.id}/call/", HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 200
    client.get(f"/dashboard/{clinic_a.slug}/visits/{visit.id}/room/")
    assert entries() == [
        ("paula", "changed", "visit", visit.id, "Carl Called", "call"),
        ("paula", "viewed", "visit", visit.id, "Carl Called", "call room"),
    ]


def test_a_refused_action_and_another_clinics_visit_write_nothing(provider, outsider, clinic_a):
    visit = in_call(clinic_a, provider, "Nora Nobody")
    AccessEvent.objects.all()._purge()
    client_for(provider).post(f"/dashboard/{clinic_a.slug}/visits/{visit.id}/call/")  # already in it
    client_for(outsider).get(f"/dashboard/{clinic_a.slug}/visits/{visit.id}/chat/")
    assert entries() == []


def test_the_visit_page_in_the_admin_records_a_read_of_the_intake_answers(clinic_admin, clinic_a):
    visit = ready(clinic_a, "Ida Intake")
    assert client_for(clinic_admin).get(f"/admin/visits/visit/{visit.id}/change/").status_code == 200
    assert entries() == [("ada", "viewed", "intake_answers", visit.id, "Ida Intake", "admin")]


def test_the_trail_is_per_clinic_filterable_by_staff_and_patient(
    rf, clinic_admin, clinic_a, clinic_b, provider
):
    other_admin = staff(username="bob", clinic=clinic_b, role=Role.CLINIC_ADMIN, is_staff=True)
    entry(rf, provider, clinic_a, "Alice Own")
    entry(rf, clinic_admin, clinic_a, "Alan Own")
    entry(rf, other_admin, clinic_b, "Bella Elsewhere")
    client = client_for(clinic_admin)
    page = client.get(TRAIL)
    assert page.status_code == 200
    assert b"Alice Own" in page.content and b"Alan Own" in page.content
    assert b"Bella Elsewhere" not in page.content and b"bob" not in page.content
    by_staff = client.get(TRAIL, {"user__id__exact": provider.id})
    assert b"Alice Own" in by_staff.content and b"Alan Own" not in by_staff.content
    by_patient = client.get(TRAIL, {"q": "Alan"})
    assert b"Alan Own" in by_patient.content and b"Alice Own" not in by_patient.content
    day = timezone.now()
    dated = client.get(TRAIL, {"at__year": day.year, "at__month": day.month, "at__day": day.day})
    assert b"Alice Own" in dated.content
    # Another clinic's entry, asked for directly: not theirs.
    elsewhere = AccessEvent.objects.get(patient_label="Bella Elsewhere")
    assert client.get(f"{TRAIL}{elsewhere.pk}/change/").status_code == 302


def test_entries_cannot_be_added_changed_or_deleted(rf, clinic_admin, clinic_a):
    made = entry(rf, clinic_admin, clinic_a, "Fixed Forever")
    client = client_for(clinic_admin)
    assert client.get(f"{TRAIL}add/").status_code == 403
    assert client.post(f"{TRAIL}add/", {"patient_label": "Forged"}).status_code == 403
    page = client.get(f"{TRAIL}{made.pk}/change/")
    assert page.status_code == 200 and b'name="patient_label"' not in page.content  # read-only
    client.post(f"{TRAIL}{made.pk}/change/", {"patient_label": "Edited"})
    assert client.post(f"{TRAIL}{made.pk}/delete/", {"post": "yes"}).status_code == 403
    client.post(TRAIL, {"action": "delete_selected", helpers.ACTION_CHECKBOX_NAME: [made.pk], "post": "yes"})
    assert entries() == [("ada", "viewed", "chat", 1, "Fixed Forever", "")]
    made.patient_label = "Edited"
    with pytest.raises(TrailIsAppendOnly):
        made.save()
    with pytest.raises(TrailIsAppendOnly):
        made.delete()
    with pytest.raises(TrailIsAppendOnly):
        AccessEvent.objects.filter(pk=made.pk).update(patient_label="Edited")
    with pytest.raises(TrailIsAppendOnly):
        AccessEvent.objects.all().delete()
    assert AccessEvent.objects.get().patient_label == "Fixed Forever"


def test_csv_export_of_own_clinic_entries_with_formulas_defused(rf, clinic_admin, clinic_a, clinic_b):
    own = entry(rf, clinic_admin, clinic_a, "=HYPERLINK(1)")
    other = entry(rf, clinic_admin, clinic_b, "Not Yours")
    response = client_for(clinic_admin).post(
        TRAIL, {"action": "export_csv", helpers.ACTION_CHECKBOX_NAME: [own.pk, other.pk]}
    )
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:3] == ["at", "clinic", "username"]
    assert [r[1:] for r in rows[1:]] == [
        ["clinic-a", "ada", "viewed", "chat", "1", "'=HYPERLINK(1)", "", "203.0.113.9"]
    ]


def test_a_scheduler_and_a_provider_get_no_trail(rf, clinic_admin, clinic_a, provider):
    entry(rf, clinic_admin, clinic_a, "Hidden Patient")
    scheduler = staff(username="sam", clinic=clinic_a, role=Role.SCHEDULER, is_staff=True)
    for user in (scheduler, provider):
        response = client_for(user).get(TRAIL)
        assert response.status_code in (302, 403) and b"Hidden Patient" not in response.content


def test_entries_past_the_retention_period_are_purged(rf, settings, clinic_admin, clinic_a):
    settings.AUDIT_RETENTION_DAYS = 30
    now = timezone.now()
    entry(rf, clinic_admin, clinic_a, "Too Old", at=now - timedelta(days=31))
    entry(rf, clinic_admin, clinic_a, "Just Kept", at=now - timedelta(days=29))
    assert purge_access_events() == 1
    assert purge_access_events() == 0  # safe to run twice
    assert [e[4] for e in entries()] == ["Just Kept"]


def test_the_retention_period_defaults_to_six_years_and_beat_purges():
    from waitingroom import settings as project_settings

    assert project_settings.AUDIT_RETENTION_DAYS == 2192
    assert "waitingroom.audit.tasks.purge_access_events" in {
        job["task"] for job in project_settings.CELERY_BEAT_SCHEDULE.values()
    }


def test_the_trail_shows_and_files_times_in_the_clinics_zone_for_its_staff_and_utc_for_a_superuser(
    rf, clinic_admin, clinic_a, provider, django_user_model
):
    """02:30 UTC on 7 Dec is 21:30 on 6 Dec in New York: the clinic's admin reads it, and finds it
    under 6 Dec, as the clinic's clocks say; a superuser (clinics of any zone) reads UTC."""
    from datetime import UTC, datetime

    entry(rf, provider, clinic_a, at=datetime(2026, 12, 7, 2, 30, tzinfo=UTC))
    admin_page = client_for(clinic_admin).get(TRAIL).content.decode()
    assert "Dec. 6, 2026, 9:30 p.m." in admin_page and "2:30 a.m." not in admin_page
    on_the_6th = client_for(clinic_admin).get(TRAIL, {"at__day": 6, "at__month": 12, "at__year": 2026})
    assert "Pat Patient" in on_the_6th.content.decode()
    on_the_7th = client_for(clinic_admin).get(TRAIL, {"at__day": 7, "at__month": 12, "at__year": 2026})
    assert "Pat Patient" not in on_the_7th.content.decode()

    root = django_user_model.objects.create_superuser("root", "root@example.test", "root-pass-123")
    root_page = client_for(root).get(TRAIL).content.decode()
    assert "Dec. 7, 2026, 2:30 a.m." in root_page


def test_staff_of_clinics_in_several_zones_read_the_admin_in_utc_whatever_the_clinics_names(
    rf, clinic_admin, clinic_a, clinic_b, provider
):
    """Two New York clinics named before a Chicago one: the zones were read as DISTINCT (zone, name)
    rows (Clinic's ordering) cut to two, both New York, so the admin ran in New York time for
    someone whose third clinic is in Chicago (docs: across zones, UTC)."""
    from datetime import UTC, datetime

    from tests.factories import ClinicFactory, MembershipFactory
    from waitingroom.admin_time import admin_zone

    chicago = ClinicFactory(name="Clinic C", slug="clinic-c", time_zone="America/Chicago")
    for clinic in (clinic_b, chicago):
        MembershipFactory(user=clinic_admin, clinic=clinic, role=Role.CLINIC_ADMIN)
    entry(rf, provider, clinic_a, at=datetime(2026, 12, 7, 2, 30, tzinfo=UTC))
    request = rf.get(TRAIL)
    request.user = clinic_admin
    assert admin_zone(request) is None
    page = client_for(clinic_admin).get(TRAIL).content.decode()
    assert "Dec. 7, 2026, 2:30 a.m." in page and "9:30 p.m." not in page
