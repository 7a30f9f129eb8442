"""Booking a phone consultation through the service: the status the lifecycle gives, the time it
holds, the "any expert" rule, and every refusal changing nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import mail

from consultations import slots
from consultations.lifecycle import Event, Status
from consultations.models import Consultation, ConsultationEvent
from consultations.services import ConsultationRefused
from scheduling.models import Requester, Service
from scheduling.requests import services as request_services
from tests.consultations.booking_support import ANSWERS, book
from tests.factories import staff
from tests.scheduling.conftest import MONDAY_NOON, on_demand, tomorrow, weekday_hours
from waitingroom.models import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def frozen():
    with time_machine.travel(MONDAY_NOON, tick=False) as traveller:
        yield traveller


@pytest.fixture
def hours(clinic_a, provider):
    weekday_hours(clinic_a, provider)


@pytest.fixture
def pete(clinic_a):
    """A second expert, working the same hours as Paula."""
    expert = staff(username="pete", clinic=clinic_a, role=Role.PROVIDER, first_name="Pete", last_name="Vet")
    weekday_hours(clinic_a, expert)
    return expert


def test_any_expert_booking_is_available_and_a_named_one_is_claimed_by_that_expert(
    frozen, clinic_a, provider, phone_service, hours, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        anyone = book(clinic_a, phone_service, starts_at=tomorrow(clinic_a, 10))
        named = book(clinic_a, phone_service, starts_at=tomorrow(clinic_a, 11), expert=provider)
    assert (anyone.status, anyone.expert_id, anyone.claimed_at) == (Status.AVAILABLE, None, None)
    assert (named.status, named.expert_id, named.claimed_at) == (Status.CLAIMED, provider.pk, MONDAY_NOON)
    assert named.ends_at - named.starts_at == timedelta(minutes=20) and named.mode == Consultation.Mode.SLOT
    assert named.answers == ANSWERS and named.client_phone == "+12025550143"
    assert list(
        ConsultationEvent.objects.order_by("id").values_list("event", "from_status", "to_status")
    ) == [
        (Event.BOOK_ANY, "new", Status.AVAILABLE),
        (Event.BOOK_EXPERT, "new", Status.CLAIMED),
    ]
    # One requester by email, as requests have; both confirmations sent after commit.
    assert Requester.objects.get().consultations.count() == 2
    assert len(mail.outbox) == 2


def test_a_taken_slot_is_refused_and_no_longer_offered(frozen, clinic_a, provider, phone_service, hours):
    book(clinic_a, phone_service, starts_at=tomorrow(clinic_a, 10), expert=provider)
    offered = {
        s.starts_at for s in slots.open_slots(clinic=clinic_a, service=phone_service, expert_id=provider.pk)
    }
    assert tomorrow(clinic_a, 10) not in offered and tomorrow(clinic_a, 11) in offered
    with pytest.raises(ConsultationRefused, match="no longer free"):
        book(
            clinic_a, phone_service, starts_at=tomorrow(clinic_a, 10), expert=provider, email="b@example.com"
        )
    with pytest.raises(
        ConsultationRefused, match="no longer free"
    ):  # nor for "any expert": Paula is the only one
        book(clinic_a, phone_service, starts_at=tomorrow(clinic_a, 10), email="c@example.com")
    assert Consultation.objects.count() == 1


def test_a_time_that_is_no_slot_is_refused(frozen, clinic_a, provider, phone_service, hours):
    for starts_at in (tomorrow(clinic_a, 10) + timedelta(minutes=7), tomorrow(clinic_a, 20), MONDAY_NOON):
        with pytest.raises(ConsultationRefused):
            book(clinic_a, phone_service, starts_at=starts_at)
    assert not Consultation.objects.exists()


def test_a_video_service_or_another_clinics_service_or_expert_is_refused(
    frozen, clinic_a, clinic_b, provider, outsider, phone_service, hours
):
    video = Service.objects.create(
        clinic=clinic_a, name="Video", kind=Service.Kind.VIDEO, duration_minutes=20
    )
    theirs = Service.objects.create(
        clinic=clinic_b, name="Theirs", kind=Service.Kind.PHONE, duration_minutes=20
    )
    weekday_hours(clinic_b, outsider)
    at = tomorrow(clinic_a, 10)
    with pytest.raises(ConsultationRefused, match="phone consultations"):
        book(clinic_a, video, starts_at=at)
    with pytest.raises(ConsultationRefused, match="phone consultations"):
        book(clinic_a, theirs, starts_at=at)
    with pytest.raises(ConsultationRefused, match="experts"):
        book(clinic_a, phone_service, starts_at=at, expert=outsider)
    inactive = Service.objects.create(clinic=clinic_a, name="Old", kind=Service.Kind.PHONE, active=False)
    with pytest.raises(ConsultationRefused):
        book(clinic_a, inactive, starts_at=at)
    assert not Consultation.objects.exists() and not Requester.objects.exists()


@pytest.mark.parametrize("field", ["name", "email", "phone", "answer"])
@pytest.mark.parametrize("odd", ["\x00", "a\r\nBcc: x@example.com", "a\x0bb", "a\u2028b"])
def test_control_characters_in_any_text_are_refused(
    frozen, clinic_a, provider, phone_service, hours, field, odd
):
    changes = {"answers": {**ANSWERS, "pet_name": f"Rex{odd}"}} if field == "answer" else {field: f"x{odd}"}
    with pytest.raises(ConsultationRefused, match="not allowed"):
        book(clinic_a, phone_service, starts_at=tomorrow(clinic_a, 10), **changes)
    assert not Consultation.objects.exists() and not Requester.objects.exists()


def test_video_services_are_not_offered_to_requests(frozen, clinic_a, provider, phone_service, hours):
    with pytest.raises(request_services.RequestRefused, match="not offered"):
        request_services.request_submit(
            clinic=clinic_a, service=phone_service, provider_id=None, kind="scheduled",
            name="Rita", email="rita@example.com", times=[tomorrow(clinic_a, 10)],
        )  # fmt: skip


def test_as_soon_as_possible_needs_an_expert_available_now(frozen, clinic_a, provider, phone_service):
    on_demand(clinic_a)
    with pytest.raises(ConsultationRefused, match="Nobody is available"):
        book(clinic_a, phone_service, starts_at=None)
    request_services.availability_set(clinic=clinic_a, provider=provider, available=True)
    consultation = book(clinic_a, phone_service, starts_at=None)
    assert (consultation.mode, consultation.starts_at) == (Consultation.Mode.ASAP, MONDAY_NOON)
    assert consultation.ends_at == MONDAY_NOON + phone_service.duration
    # Paula is now taken for the next 20 minutes by the unclaimed one: no second ASAP booking.
    assert slots.asap(clinic=clinic_a, service=phone_service) is None
    with pytest.raises(ConsultationRefused, match="Nobody is available"):
        book(clinic_a, phone_service, starts_at=None, expert=provider)
    frozen.shift(timedelta(minutes=21))
    assert book(clinic_a, phone_service, starts_at=None, expert=provider).status == Status.CLAIMED


def test_any_expert_slots_need_a_free_expert_beyond_the_unclaimed_ones(
    frozen, clinic_a, provider, pete, phone_service, hours
):
    """slots.py's rule: free experts > unclaimed consultations overlapping the slot."""
    at = tomorrow(clinic_a, 10)

    def offered(expert=None) -> bool:
        expert_id = expert.pk if expert else None
        return at in {
            s.starts_at for s in slots.open_slots(clinic=clinic_a, service=phone_service, expert_id=expert_id)
        }

    book(clinic_a, phone_service, starts_at=at, email="one@example.com")  # 2 free, 0 unclaimed
    book(clinic_a, phone_service, starts_at=at, email="two@example.com")  # 2 free, 1 unclaimed
    assert not offered() and not offered(provider) and not offered(pete)  # 2 free, 2 unclaimed
    with pytest.raises(ConsultationRefused, match="no longer free"):
        book(clinic_a, phone_service, starts_at=at, email="three@example.com")
    with pytest.raises(ConsultationRefused, match="no longer free"):
        book(clinic_a, phone_service, starts_at=at, expert=pete, email="three@example.com")
    assert at + timedelta(minutes=20) in {
        s.starts_at for s in slots.open_slots(clinic=clinic_a, service=phone_service)
    }


def test_a_named_booking_must_leave_an_expert_for_each_unclaimed_one(
    frozen, clinic_a, provider, pete, phone_service, hours
):
    at = tomorrow(clinic_a, 10)
    book(clinic_a, phone_service, starts_at=at, email="one@example.com")  # unclaimed: 1
    book(clinic_a, phone_service, starts_at=at, expert=provider, email="two@example.com")  # 2 free > 1
    # Pete is free, but he is the one expert left for the unclaimed consultation.
    with pytest.raises(ConsultationRefused, match="no longer free"):
        book(clinic_a, phone_service, starts_at=at, expert=pete, email="three@example.com")
    assert Consultation.objects.count() == 2


def test_patient_email_domains_apply_to_consultations(frozen, clinic_a, provider, phone_service, hours):
    from scheduling import availability

    profile = availability.profile_for(clinic_a)
    profile.patient_email_domains = "members.example.org"
    profile.save(update_fields=["patient_email_domains"])
    with pytest.raises(ConsultationRefused, match="open to"):
        book(clinic_a, phone_service, starts_at=tomorrow(clinic_a, 10))
    assert book(clinic_a, phone_service, starts_at=tomorrow(clinic_a, 10), email="m@members.example.org")


def test_booking_publishes_the_upcoming_panel(frozen, clinic_a, provider, phone_service, hours, monkeypatch):
    told = []
    monkeypatch.setattr("consultations.publishing.upcoming_changed", told.append)
    book(clinic_a, phone_service, starts_at=tomorrow(clinic_a, 10))
    assert told == [clinic_a.pk]


def test_a_client_who_only_booked_a_consultation_can_ask_for_a_new_requester_link(
    frozen, client, clinic_a, provider, phone_service, hours, django_capture_on_commit_callbacks
):
    book(clinic_a, phone_service, starts_at=tomorrow(clinic_a, 10))
    assert Requester.objects.get().last_clinic == clinic_a
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        client.post("/requests/", {"email": "CASEY@example.com"})

    [email] = mail.outbox
    assert email.to == ["casey@example.com"] and "/requests/link/" in email.body
