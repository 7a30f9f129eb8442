"""Booking: every write that takes (or gives back) a provider's time. Staff schedule directly or
by proposing times, the guest picks one, staff reschedule, cancel or pass a meeting to a colleague,
and an accepted request books through create_meeting here. Bookings of one provider are serialised
on the provider's row (lock_provider), so the overlap check (check_free) can't be passed twice; an
overlap raises BookingConflict, which staff may override. Emails go only after commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from scheduling import availability
from scheduling.availability import person
from scheduling.meetings import emails, publishing
from scheduling.meetings.services import MeetingRefused, locked, record, store_status
from scheduling.meetings.status import rules_of
from scheduling.models import MAX_PROPOSED_TIMES, Meeting, MeetingProposal, Service, new_guest_key, new_nonce
from scheduling.times import local_time
from visits import services as visit_services
from waitingroom.models import Clinic


class BookingConflict(Exception):
    """The provider already has a session overlapping this one; book again with override."""

    def __init__(self, busy: list[availability.Busy]) -> None:
        super().__init__("The provider already has a session at that time.")
        self.busy = busy

    def describe(self, clinic: Clinic) -> str:
        # Another clinic's sessions show only as busy times: their patients are not ours to see.
        clashes = ", ".join(
            f"{b.label if b.clinic_id == clinic.pk else 'Busy (another clinic)'} {local_time(b.starts_at, clinic)}"
            for b in self.busy
        )
        return f"{self} ({clashes}). Tick “Book even though it overlaps” to book anyway."


# --- Steps ---------------------------------------------------------------------------------------


def lock_provider(*, clinic: Clinic, provider_id: int) -> User:
    """The provider's user row under a lock: bookings of one provider are serialised on it, so two
    of them can't both pass the overlap check."""
    if provider_id not in set(availability.clinic_providers(clinic).values_list("id", flat=True)):
        raise MeetingRefused("Choose one of the clinic's providers.")
    return get_user_model().objects.select_for_update().get(pk=provider_id)


def check_free(
    *, provider_id: int, starts_at: datetime, ends_at: datetime, override: bool, exclude_id: int | None = None
) -> list[availability.Busy]:
    clashes = availability.overlapping(
        provider_id=provider_id, starts_at=starts_at, ends_at=ends_at, exclude_id=exclude_id
    )
    if clashes and not override:
        raise BookingConflict(clashes)
    return clashes


def create_meeting(*, now: datetime, event: str, by=None, detail: str = "", **fields) -> Meeting:
    """A new meeting with a guest key no other meeting has (nine digits: a clash is rare, and then
    the insert is retried with a new key inside a savepoint)."""
    for _attempt in range(5):
        try:
            with transaction.atomic():
                meeting = Meeting.objects.create(guest_key=new_guest_key(), **fields)
            break
        except IntegrityError:
            continue  # a guest-key clash: the savepoint rolled back; try another key
    else:  # pragma: no cover - five clashes in 10^9 keys
        raise MeetingRefused("Could not make a guest key; please try again.")
    store_status(meeting, now)
    record(meeting, event, by=by, now=now, detail=detail)
    publishing.meetings_changed(meeting.clinic)
    return meeting


def _not_started(meeting: Meeting, now: datetime, what: str, expected_sequence: int | None = None) -> None:
    """Changes of time, host or plan are for meetings that have not begun; `expected_sequence` is
    the version the person changing it saw (a page opened before a colleague's change is stale)."""
    if expected_sequence is not None and expected_sequence != meeting.sequence:
        raise MeetingRefused("Someone changed this meeting meanwhile: check it again, then make your change.")
    if meeting.cancelled_at is not None:
        raise MeetingRefused("This meeting was cancelled.")
    if not rules_of(meeting.current_status(now)).changeable or (
        meeting.starts_at is not None and meeting.starts_at <= now
    ):
        raise MeetingRefused(f"A meeting that has started or ended can't be {what}.")


def _withdraw_guest(meeting: Meeting) -> None:
    """A guest already in the waiting room for a meeting that is cancelled or moved leaves it (their
    screen says the visit was cancelled); for a new time they enter again."""
    visit = meeting.visit
    if visit is not None and not visit.is_closed:
        visit_services.visit_withdraw(visit_id=visit.pk)
    if meeting.visit_id is not None or meeting.guest_entered_at is not None:
        meeting.visit, meeting.guest_entered_at = None, None
        meeting.save(update_fields=["visit", "guest_entered_at"])


def _future_times(times: Iterable[datetime], now: datetime) -> list[datetime]:
    times = sorted(set(times))
    if not 1 <= len(times) <= MAX_PROPOSED_TIMES:
        raise MeetingRefused(f"Give one to {MAX_PROPOSED_TIMES} times.")
    if any(t <= now for t in times):
        raise MeetingRefused("Times must be in the future.")
    return times


# --- Booking -------------------------------------------------------------------------------------


def meeting_schedule(
    *,
    clinic: Clinic,
    by: User,
    provider_id: int,
    service: Service,
    guest_name: str,
    guest_email: str,
    guest_phone: str = "",
    description: str = "",
    times: Iterable[datetime],
    override: bool = False,
) -> Meeting:
    """Staff schedule a meeting directly: one time books it and invites the guest; several make it
    planning, and the guest is sent a link to pick one."""
    now = timezone.now()
    if service.clinic_id != clinic.pk or not service.active or service.kind != Service.Kind.VIDEO:
        raise MeetingRefused("Choose one of the clinic's meeting types.")
    times = _future_times(times, now)
    with transaction.atomic():
        provider = lock_provider(clinic=clinic, provider_id=provider_id)
        fields: dict[str, Any] = {
            "clinic": clinic,
            "provider": provider,
            "service": service,
            "guest_name": guest_name,
            "guest_email": guest_email.lower(),
            "guest_phone": guest_phone,
            "description": description,
            "created_by": by,
        }
        if len(times) == 1:
            starts_at, ends_at = times[0], times[0] + service.duration
            check_free(provider_id=provider.pk, starts_at=starts_at, ends_at=ends_at, override=override)
            meeting = create_meeting(
                now=now, event="schedule", by=by, starts_at=starts_at, ends_at=ends_at, **fields
            )
            transaction.on_commit(
                lambda: emails.invitation(meeting, intro=f"{clinic.name} scheduled a video session with you.")
            )
        else:
            meeting = create_meeting(now=now, event="propose", by=by, **fields)
            MeetingProposal.objects.bulk_create(
                [MeetingProposal(meeting=meeting, starts_at=t) for t in times]
            )
            transaction.on_commit(lambda: emails.proposals(meeting, times))
    return meeting


def meeting_pick_time(*, meeting_id: int, starts_at: datetime) -> Meeting:
    """The guest picks one of the proposed times; the meeting is then scheduled and they get the
    invitation. A time the host has since filled is refused (the guest can't book over it)."""
    now = timezone.now()
    with transaction.atomic():
        meeting = locked(meeting_id)
        if meeting.cancelled_at is not None or meeting.starts_at is not None:
            raise MeetingRefused("A time was already chosen for this meeting.")
        if starts_at not in set(meeting.proposals.values_list("starts_at", flat=True)) or starts_at <= now:
            raise MeetingRefused("Pick one of the proposed times that is still ahead.")
        lock_provider(clinic=meeting.clinic, provider_id=meeting.provider_id)
        ends_at = starts_at + meeting.service.duration
        try:
            check_free(provider_id=meeting.provider_id, starts_at=starts_at, ends_at=ends_at, override=False)
        except BookingConflict:
            raise MeetingRefused("That time is no longer free; please pick another.") from None
        meeting.starts_at, meeting.ends_at = starts_at, ends_at
        meeting.save(update_fields=["starts_at", "ends_at"])
        store_status(meeting, now)
        record(meeting, "pick", now=now, detail=local_time(starts_at, meeting.clinic))
        transaction.on_commit(lambda: emails.invitation(meeting, intro="Your meeting is scheduled."))
        publishing.meetings_changed(meeting.clinic)
    return meeting


def meeting_reschedule(
    *,
    meeting_id: int,
    by: User,
    starts_at: datetime,
    override: bool = False,
    expected_sequence: int | None = None,
) -> Meeting:
    """A new time (the same length); the guest gets the updated invitation."""
    now = timezone.now()
    with transaction.atomic():
        meeting = locked(meeting_id)
        _not_started(meeting, now, "rescheduled", expected_sequence)
        _future_times([starts_at], now)
        lock_provider(clinic=meeting.clinic, provider_id=meeting.provider_id)
        ends_at = starts_at + meeting.service.duration
        check_free(
            provider_id=meeting.provider_id,
            starts_at=starts_at,
            ends_at=ends_at,
            override=override,
            exclude_id=meeting.pk,
        )
        before = local_time(meeting.starts_at, meeting.clinic) if meeting.starts_at else "planning"
        meeting.starts_at, meeting.ends_at, meeting.sequence = starts_at, ends_at, meeting.sequence + 1
        meeting.join_nonce = new_nonce()  # the old invitation's link stops working
        meeting.save(update_fields=["starts_at", "ends_at", "sequence", "join_nonce"])
        meeting.proposals.all().delete()
        _withdraw_guest(meeting)
        store_status(meeting, now)
        record(
            meeting,
            "reschedule",
            by=by,
            now=now,
            detail=f"{before} -> {local_time(starts_at, meeting.clinic)}",
        )
        transaction.on_commit(
            lambda: emails.invitation(meeting, intro="Your meeting was moved to a new time.")
        )
        publishing.meetings_changed(meeting.clinic)
    return meeting


def meeting_cancel(
    *,
    meeting_id: int,
    by: User | None = None,
    by_guest: bool = False,
    expected_sequence: int | None = None,
) -> Meeting:
    """Either side cancels before the meeting starts; the other side is emailed, and a guest already
    in the waiting room leaves it."""
    now = timezone.now()
    with transaction.atomic():
        meeting = locked(meeting_id)
        _not_started(meeting, now, "cancelled", expected_sequence)
        meeting.cancelled_at, meeting.cancelled_by_guest = now, by_guest
        meeting.sequence += 1
        meeting.join_nonce = new_nonce()  # every link sent so far stops working
        meeting.save(update_fields=["cancelled_at", "cancelled_by_guest", "sequence", "join_nonce"])
        _withdraw_guest(meeting)
        store_status(meeting, now)
        record(meeting, "cancel", by=by, now=now, detail="by the guest" if by_guest else "")
        transaction.on_commit(lambda: emails.cancelled(meeting))
        publishing.meetings_changed(meeting.clinic)
    return meeting


def meeting_assign(
    *,
    meeting_id: int,
    by: User,
    provider_id: int,
    override: bool = False,
    expected_sequence: int | None = None,
) -> Meeting:
    """Pass the meeting to a colleague; the guest gets the invitation naming their new host, and
    the colleague is told."""
    now = timezone.now()
    with transaction.atomic():
        meeting = locked(meeting_id)
        _not_started(meeting, now, "reassigned", expected_sequence)
        if provider_id == meeting.provider_id:
            raise MeetingRefused("That colleague already hosts this meeting.")
        provider = lock_provider(clinic=meeting.clinic, provider_id=provider_id)
        if meeting.starts_at is not None and meeting.ends_at is not None:
            check_free(
                provider_id=provider.pk,
                starts_at=meeting.starts_at,
                ends_at=meeting.ends_at,
                override=override,
                exclude_id=meeting.pk,
            )
        before = person(meeting.provider)
        meeting.provider, meeting.sequence = provider, meeting.sequence + 1
        meeting.save(update_fields=["provider", "sequence"])
        record(meeting, "assign", by=by, now=now, detail=f"{before} -> {person(provider)}")

        def tell() -> None:
            emails.host_assigned(meeting)
            if meeting.starts_at is not None:
                emails.invitation(meeting, intro=f"Your meeting is now with {person(provider)}.")

        transaction.on_commit(tell)
        publishing.meetings_changed(meeting.clinic)
    return meeting
