"""The public request form: what it offers, what a submission creates and tells whom, and bad
input that is explained and changes nothing."""

from __future__ import annotations

from datetime import time

import pytest
from django.core import mail
from django.test import Client

from scheduling import availability
from scheduling.models import AppointmentRequest, RequestQuestion, Service
from scheduling.requests import services
from scheduling.times import slot_value
from tests.scheduling.conftest import at, on_demand, tomorrow, weekday_hours
from tests.support.fields import EMAIL, NAME, TEL, assert_field, fields
from waitingroom.outbox.models import EmailMessage

# Emails leave after commit: the tests that read them run in real transactions.
mails_sent = pytest.mark.django_db(transaction=True)


def form_data(clinic, chosen, **overrides) -> dict:
    data = {
        "service": str(chosen.pk),
        "provider": "",
        "kind": "scheduled",
        "slots": [slot_value(tomorrow(clinic, 10)), slot_value(tomorrow(clinic, 14))],
        "name": "Rita Requester",
        "email": "Rita@Example.com",
        "phone": "+1 212 555 0100",
        "note": "Mornings are best",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_form_offers_now_only_while_someone_is_available(client, frozen, clinic_a, provider, service, hours):
    page = client.get(f"/c/{clinic_a.slug}/request/")
    assert b'value="now"' in page.content  # 12:00 is inside Paula's hours
    assert slot_value(tomorrow(clinic_a, 10)).encode() in page.content
    frozen.move_to(tomorrow(clinic_a, 20))
    page = client.get(f"/c/{clinic_a.slug}/request/")
    assert b'value="now"' not in page.content
    assert b"data-now-unavailable" in page.content


@mails_sent
def test_scheduled_request_is_stored_and_announced(
    client, frozen, clinic_a, provider, service, hours, scheduler, csr
):
    response = client.post(f"/c/{clinic_a.slug}/request/", form_data(clinic_a, service))
    assert response.status_code == 302
    assert response["Location"] == f"/c/{clinic_a.slug}/request/sent/"
    request = AppointmentRequest.objects.get()
    assert (request.kind, request.status, request.email, request.provider) == (
        "scheduled",
        "pending",
        "rita@example.com",
        None,
    )
    assert [t.starts_at for t in request.times.all()] == [tomorrow(clinic_a, 10), tomorrow(clinic_a, 14)]
    # A Scheduled request expires at its earliest requested time.
    assert request.expires_at == tomorrow(clinic_a, 10)
    assert request.events.get().event == "submit"

    staff_mail = next(m for m in mail.outbox if m.subject.startswith("Video Session Request"))
    assert "General consultation" in staff_mail.subject
    # To the host group (every provider, none chosen) and the schedulers; not the front desk.
    assert sorted(staff_mail.to) == sorted([provider.email, scheduler.email])
    assert csr.email not in staff_mail.to
    assert "Tuesday 24 November 2026, 10:00 EST" in staff_mail.body and "Mornings are best" in staff_mail.body
    received = next(m for m in mail.outbox if m.to == ["rita@example.com"])
    assert "/requests/link/" in received.body
    assert EmailMessage.objects.filter(status="sent").count() == 2
    assert b"request #" in client.get(response["Location"]).content


@mails_sent
def test_request_to_one_provider_is_emailed_to_them_not_the_host_group(
    client, frozen, clinic_a, provider, service, hours, scheduler
):
    from tests.factories import staff
    from waitingroom.models import Role

    other = staff(username="pia", clinic=clinic_a, role=Role.PROVIDER)
    weekday_hours(clinic_a, other)
    client.post(f"/c/{clinic_a.slug}/request/", form_data(clinic_a, service, provider=str(other.pk)))
    request = AppointmentRequest.objects.get()
    assert request.provider == other
    staff_mail = next(m for m in mail.outbox if m.subject.startswith("Video Session Request"))
    assert sorted(staff_mail.to) == sorted([other.email, scheduler.email])


@mails_sent
def test_now_request_expires_after_the_clinic_setting(client, frozen, clinic_a, provider, service, hours):
    profile = availability.profile_for(clinic_a)
    profile.now_request_expiry_minutes = 20
    profile.save()
    response = client.post(
        f"/c/{clinic_a.slug}/request/", form_data(clinic_a, service, kind="now", slots=None)
    )
    assert response.status_code == 302
    request = AppointmentRequest.objects.get()
    assert request.kind == "now" and not request.times.exists()
    assert (request.expires_at - request.created_at).total_seconds() == 20 * 60
    assert (
        "As soon as possible (Now)" in mail.outbox[0].body
        or "As soon as possible (Now)" in mail.outbox[1].body
    )


def test_pre_request_questions_are_asked_and_kept(client, frozen, clinic_a, provider, service, hours):
    RequestQuestion.objects.create(clinic=clinic_a, key="reason", label="Reason", required=True)
    page = client.get(f"/c/{clinic_a.slug}/request/")
    assert b'name="q_reason"' in page.content
    missing = client.post(f"/c/{clinic_a.slug}/request/", form_data(clinic_a, service))
    assert missing.status_code == 400 and not AppointmentRequest.objects.exists()
    client.post(f"/c/{clinic_a.slug}/request/", form_data(clinic_a, service, q_reason="Rash"))
    assert AppointmentRequest.objects.get().answers == {"reason": "Rash"}


@pytest.mark.parametrize(
    "overrides, error",
    [
        ({"slots": []}, b"Choose at least one time"),
        (
            {"slots": ["2026-11-24T15:00Z", "2026-11-24T15:30Z", "2026-11-24T16:00Z", "2026-11-24T16:30Z"]},
            b"at most 3",
        ),
        ({"slots": ["2026-11-24T03:00Z"]}, b"not one of the available choices"),  # 22:00, outside hours
        ({"slots": ["yesterday"]}, b"not one of the available choices"),
        ({"kind": "now", "slots": None, "provider": "999999"}, b"Select a valid choice"),
        ({"kind": "later"}, b"Select a valid choice"),
        ({"email": "not-an-email"}, b"Enter a valid email"),
        ({"name": ""}, b"This field is required"),
        ({"service": "999999"}, b"Select a valid choice"),
        ({"phone": "call me maybe"}, b"Enter a phone number"),
    ],
)
def test_bad_requests_are_explained_and_create_nothing(
    client, frozen, clinic_a, provider, service, hours, overrides, error
):
    response = client.post(f"/c/{clinic_a.slug}/request/", form_data(clinic_a, service, **overrides))
    assert response.status_code == 400
    assert error in response.content
    assert not AppointmentRequest.objects.exists() and not mail.outbox


def test_another_clinics_service_cannot_be_requested(
    client, frozen, clinic_a, clinic_b, provider, service, hours
):
    foreign = Service.objects.create(clinic=clinic_b, name="B only")
    response = client.post(f"/c/{clinic_a.slug}/request/", form_data(clinic_a, foreign))
    assert response.status_code == 400 and not AppointmentRequest.objects.exists()


def test_now_is_refused_when_the_last_provider_went_away_meanwhile(
    frozen, clinic_a, provider, service, hours
):
    on_demand(clinic_a)
    with pytest.raises(services.RequestRefused, match="Nobody is available"):
        services.request_submit(
            clinic=clinic_a, service=service, provider_id=None, kind="now", name="R", email="r@example.com"
        )


def test_a_slot_taken_meanwhile_is_refused(frozen, clinic_a, provider, service, hours):
    from scheduling.models import Meeting

    Meeting.objects.create(
        clinic=clinic_a, provider=provider, service=service, starts_at=tomorrow(clinic_a, 10),
        ends_at=tomorrow(clinic_a, 11), guest_name="G", guest_email="g@example.com",
    )  # fmt: skip
    with pytest.raises(services.RequestRefused, match="no longer open"):
        services.request_submit(
            clinic=clinic_a, service=service, provider_id=None, kind="scheduled", name="R",
            email="r@example.com", times=[tomorrow(clinic_a, 10)],
        )  # fmt: skip


def test_patient_group_limits_who_may_request(client, frozen, clinic_a, provider, service, hours):
    profile = availability.profile_for(clinic_a)
    profile.patient_group_name, profile.patient_email_domains = (
        "Acme staff",
        "acme.example\n@Acme-Health.example",
    )
    profile.save()
    refused = client.post(f"/c/{clinic_a.slug}/request/", form_data(clinic_a, service))
    assert refused.status_code == 400 and b"open to Acme staff only" in refused.content
    accepted = client.post(
        f"/c/{clinic_a.slug}/request/", form_data(clinic_a, service, email="ann@acme-health.example")
    )
    assert accepted.status_code == 302


def test_on_demand_clinics_take_proposed_times_in_the_clinic_zone(
    client, frozen, clinic_a, provider, service
):
    on_demand(clinic_a)
    page = client.get(f"/c/{clinic_a.slug}/request/")
    assert b'type="datetime-local"' in page.content and b'value="now"' not in page.content
    response = client.post(
        f"/c/{clinic_a.slug}/request/",
        form_data(clinic_a, service, slots=None, time_1="2026-11-25T09:30", time_2="2026-11-26T15:00"),
    )
    assert response.status_code == 302
    times = [t.starts_at for t in AppointmentRequest.objects.get().times.all()]
    assert times == [at(clinic_a, 2026, 11, 25, 9, 30), at(clinic_a, 2026, 11, 26, 15)]


@pytest.mark.parametrize(
    "proposed, error",
    [
        ("2027-03-14T02:30", b"does not exist in the clinic"),  # New York springs forward that night
        ("2026-11-20T09:00", b"in the future"),
        ("next tuesday", b"Enter a valid date/time"),
    ],
)
def test_on_demand_proposed_times_are_checked(client, frozen, clinic_a, provider, service, proposed, error):
    on_demand(clinic_a)
    response = client.post(
        f"/c/{clinic_a.slug}/request/", form_data(clinic_a, service, slots=None, time_1=proposed)
    )
    assert response.status_code == 400 and error in response.content
    assert not AppointmentRequest.objects.exists()


def test_public_calendar_lists_open_slots_for_the_clinic_and_one_provider(
    client, frozen, clinic_a, provider, service, hours
):
    from tests.factories import staff
    from waitingroom.models import Membership, Role

    late = staff(username="lee", clinic=clinic_a, role=Role.PROVIDER)
    weekday_hours(clinic_a, late, start=time(18), end=time(19))
    page = client.get(f"/c/{clinic_a.slug}/calendar/")
    assert page.status_code == 200
    assert slot_value(tomorrow(clinic_a, 10)).encode() in page.content
    assert slot_value(tomorrow(clinic_a, 18)).encode() in page.content
    paula = Membership.objects.get(user=provider, clinic=clinic_a)
    own = client.get(f"/c/{clinic_a.slug}/calendar/{paula.pk}/")
    assert slot_value(tomorrow(clinic_a, 10)).encode() in own.content
    assert slot_value(tomorrow(clinic_a, 18)).encode() not in own.content
    # Times show in the clinic's zone.
    assert b"10:00" in own.content
    assert client.get(f"/c/{clinic_a.slug}/calendar/999999/").status_code == 404
    assert client.get("/c/no-such-clinic/calendar/").status_code == 404
    assert client.get("/c/no-such-clinic/request/").status_code == 404


def test_every_personal_field_tells_a_phone_its_keyboard_and_saved_value(
    client, frozen, clinic_a, service, hours
):
    page = fields(client.get(f"/c/{clinic_a.slug}/request/").content.decode())
    assert_field(page["name"], NAME)
    assert_field(page["email"], EMAIL)
    assert_field(page["phone"], TEL)
    # A refused submission keeps them (the form is rendered again, bound).
    refused = client.post(f"/c/{clinic_a.slug}/request/", {"name": "Ann", "email": "not-an-address"})
    again = fields(refused.content.decode())
    assert refused.status_code == 400
    for name, expected in (("name", NAME), ("email", EMAIL), ("phone", TEL)):
        assert_field(again[name], expected)


@pytest.mark.django_db
def test_the_requesters_sign_in_asks_for_an_email_address_a_phone_can_fill():
    assert_field(fields(Client().get("/requests/").content.decode())["email"], {**EMAIL, "required": ""})
