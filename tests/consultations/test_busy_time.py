"""A consultation and a meeting count against each other, one engine for both: availability, the
dispatch conflicts and the meetings' booking check see the consultation; the consultation's slots
see the meeting. On the 2027-03-14 spring-forward day in New York (clinic A), where wall-clock
arithmetic and real time part: 01:40 EST + 20 minutes is 03:00 EDT."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest
import time_machine

from consultations import slots
from consultations.lifecycle import Status
from consultations.models import Consultation
from scheduling import availability
from scheduling.meetings import booking as meeting_booking
from scheduling.models import Service
from tests.consultations.booking_support import book
from tests.scheduling.conftest import at, weekday_hours
from waitingroom.models import Clinic, Membership, Role

pytestmark = pytest.mark.django_db

SUNDAY = 6
FRIDAY_NOON = datetime(2027, 3, 12, 17, 0, tzinfo=UTC)  # two days before the change


def wall(clinic: Clinic, hour: int, minute: int = 0) -> datetime:
    return at(clinic, 2027, 3, 14, hour, minute)


@pytest.fixture
def spring_forward(clinic_a, provider):
    """Paula works 01:00-04:00 on Sundays: two real hours on the day the clocks skip 02:00-03:00."""
    weekday_hours(clinic_a, provider, start=time(1), end=time(4), days=[SUNDAY])
    with time_machine.travel(FRIDAY_NOON, tick=False):
        yield


def starts(found) -> set[datetime]:
    return {slot.starts_at for slot in found}


def test_consultations_and_meetings_hold_each_others_time_across_the_spring_forward(
    spring_forward, clinic_a, provider, phone_service
):
    video = Service.objects.create(clinic=clinic_a, name="Video visit", duration_minutes=30)
    assert wall(clinic_a, 1, 40) == datetime(2027, 3, 14, 6, 40, tzinfo=UTC)  # EST
    assert wall(clinic_a, 3) == datetime(2027, 3, 14, 7, 0, tzinfo=UTC)  # EDT: 20 real minutes later
    phone_starts = starts(slots.open_slots(clinic=clinic_a, service=phone_service, expert_id=provider.pk))
    assert {wall(clinic_a, 1, 40), wall(clinic_a, 3), wall(clinic_a, 3, 20)} <= phone_starts

    consultation = book(clinic_a, phone_service, starts_at=wall(clinic_a, 1, 40), expert=provider)
    assert consultation.ends_at == wall(clinic_a, 3)

    # Scheduling's engine counts the consultation: the 01:30 EST video slot (until 07:00 UTC) is
    # gone, the 03:00 EDT one, right after it, is not.
    video_starts = starts(availability.open_slots(clinic=clinic_a, service=video, provider_id=provider.pk))
    assert wall(clinic_a, 1, 30) not in video_starts
    assert {wall(clinic_a, 1), wall(clinic_a, 3)} <= video_starts
    assert availability.available_at(
        clinic=clinic_a, provider_ids=[provider.pk], starts_at=wall(clinic_a, 1, 30), duration=video.duration
    ) == {provider.pk: False}

    # The meetings' booking check refuses the overlap, naming the consultation in clinic time.
    with pytest.raises(meeting_booking.BookingConflict) as conflict:
        meeting_booking.meeting_schedule(
            clinic=clinic_a, by=provider, provider_id=provider.pk, service=video,
            guest_name="Gus", guest_email="gus@example.com", times=[wall(clinic_a, 1, 30)],
        )  # fmt: skip
    assert "Phone consultation Sunday 14 March 2027, 01:40 EST" in conflict.value.describe(clinic_a)
    meeting = meeting_booking.meeting_schedule(
        clinic=clinic_a, by=provider, provider_id=provider.pk, service=video,
        guest_name="Gus", guest_email="gus@example.com", times=[wall(clinic_a, 3)],
    )  # fmt: skip

    # ...and the consultation's slots count the meeting (03:00-03:30 EDT).
    phone_starts = starts(slots.open_slots(clinic=clinic_a, service=phone_service))
    assert wall(clinic_a, 3) not in phone_starts and wall(clinic_a, 3, 20) not in phone_starts
    assert wall(clinic_a, 3, 40) in phone_starts
    with pytest.raises(Exception, match="no longer free"):
        book(clinic_a, phone_service, starts_at=wall(clinic_a, 3, 20), email="late@example.com")

    # The dispatch dialog's conflicts list both, by start.
    near = availability.conflicts_near(provider_id=provider.pk, times=[wall(clinic_a, 3)])[wall(clinic_a, 3)]
    assert [b.ref for b in near] == [f"consultation:{consultation.pk}", f"meeting:{meeting.pk}"]
    # Schedulers read this list: the consultation's client stays unnamed.
    assert near[0].who == "a client" and near[0].clinic_id == clinic_a.pk
    assert Consultation.objects.count() == 1


def test_another_clinics_expert_time_counts_but_shows_only_as_busy(
    spring_forward, clinic_a, clinic_b, provider, phone_service
):
    """One expert in two clinics: a consultation in clinic A holds their time for clinic B, whose
    dialogs see "Busy (another clinic)", not the client."""
    Membership.objects.create(user=provider, clinic=clinic_b, role=Role.PROVIDER)
    weekday_hours(clinic_b, provider, start=time(1), end=time(4), days=[SUNDAY])
    book(clinic_a, phone_service, starts_at=wall(clinic_a, 1, 40), expert=provider)
    theirs = Service.objects.create(clinic=clinic_b, name="B video", duration_minutes=30)
    with pytest.raises(meeting_booking.BookingConflict) as conflict:
        meeting_booking.meeting_schedule(
            clinic=clinic_b, by=provider, provider_id=provider.pk, service=theirs,
            guest_name="Bea", guest_email="bea@example.com", times=[wall(clinic_b, 1, 30)],
        )  # fmt: skip
    text = conflict.value.describe(clinic_b)
    assert "Busy (another clinic)" in text and "Phone consultation" not in text and "Casey" not in text
    assert wall(clinic_b, 1, 30) not in starts(
        availability.open_slots(clinic=clinic_b, service=theirs, provider_id=provider.pk)
    )


def test_cancelled_consultations_hold_no_time(spring_forward, clinic_a, provider, phone_service):
    consultation = book(clinic_a, phone_service, starts_at=wall(clinic_a, 1, 40), expert=provider)
    Consultation.objects.filter(pk=consultation.pk).update(status=Status.CANCELLED)
    assert wall(clinic_a, 1, 40) in starts(slots.open_slots(clinic=clinic_a, service=phone_service))
    assert (
        availability.busy_times(provider_ids=[provider.pk], start=wall(clinic_a, 1), end=wall(clinic_a, 4))
        == []
    )
