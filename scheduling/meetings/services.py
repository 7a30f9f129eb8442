"""Every meeting write: booking (from an accepted request or scheduled directly, one time or
several proposed), the guest picking a time, rescheduling, cancelling, assigning to a colleague,
the guest and the host entering, the summary and the review, and the sweep that keeps stored
statuses current. Each locks the meeting, records a MeetingEvent, and emails and publishes only
after commit. Statuses are never assigned: facts are stored and status.derive() reads them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, cast

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from scheduling import availability
from scheduling.availability import person
from scheduling.meetings import emails, publishing
from scheduling.meetings.status import STARTING_SOON_WITHIN, MeetingStatus
from scheduling.models import (
    MAX_PROPOSED_TIMES,
    GuestKeyAttempt,
    Meeting,
    MeetingEvent,
    MeetingProposal,
    Service,
    new_guest_key,
)
from scheduling.times import local_time
from visits import services as visit_services
from visits.lifecycle import Status, TransitionRefused
from visits.models import APPOINTMENT_ANSWER, Visit
from waitingroom.models import Clinic

# The room opens this long before the start, and stays open until the end.
JOIN_OPENS_BEFORE = timedelta(minutes=15)
# The sweep looks again at meetings that ended this recently (a late call can still change them).
SWEEP_LOOKBACK = timedelta(days=1)


class MeetingRefused(ValueError):
    """The change is not possible as asked (the message says why)."""


class BookingConflict(Exception):
    """The provider already has a session overlapping this one; book again with override."""

    def __init__(self, meetings: list[Meeting]) -> None:
        super().__init__("The provider already has a session at that time.")
        self.meetings = meetings

    def describe(self, clinic: Clinic) -> str:
        # Another clinic's sessions show only as busy times: their patients are not ours to see.
        clashes = ", ".join(
            f"{m.service.name if m.clinic_id == clinic.pk else 'Busy (another clinic)'} "
            f"{local_time(cast(datetime, m.starts_at), clinic)}"  # booked: they have a time
            for m in self.meetings
        )
        return f"{self} ({clashes}). Tick “Book even though it overlaps” to book anyway."


# --- Shared steps --------------------------------------------------------------------------------


def lock_provider(*, clinic: Clinic, provider_id: int) -> User:
    """The provider's user row under a lock: bookings of one provider are serialised on it, so two
    of them can't both pass the overlap check."""
    if provider_id not in set(availability.clinic_providers(clinic).values_list("id", flat=True)):
        raise MeetingRefused("Choose one of the clinic's providers.")
    return get_user_model().objects.select_for_update().get(pk=provider_id)


def check_free(
    *, provider_id: int, starts_at: datetime, ends_at: datetime, override: bool, exclude_id: int | None = None
) -> list[Meeting]:
    clashes = availability.overlapping(
        provider_id=provider_id, starts_at=starts_at, ends_at=ends_at, exclude_id=exclude_id
    )
    if clashes and not override:
        raise BookingConflict(clashes)
    return clashes


def _record(meeting: Meeting, event: str, *, by=None, now: datetime, detail: str = "") -> None:
    MeetingEvent.objects.create(meeting=meeting, event=event, user=by, at=now, detail=detail)


def _store_status(meeting: Meeting, now: datetime) -> bool:
    """Bring the stored status (a cache of derive()) in line with the facts; True if it changed."""
    status = meeting.current_status(now)
    if meeting.status == status:
        return False
    meeting.status = status
    meeting.save(update_fields=["status"])
    return True


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
    _store_status(meeting, now)
    _record(meeting, event, by=by, now=now, detail=detail)
    publishing.meetings_changed(meeting.clinic)
    return meeting


def _locked(meeting_id: int) -> Meeting:
    """The meeting under a row lock (the caller has checked who may change it: a view through
    selectors.staff_meeting, a guest through their link or key)."""
    return (
        Meeting.objects.select_for_update(of=("self",))
        .select_related("clinic", "service", "provider", "visit")
        .get(pk=meeting_id)
    )


def _not_started(meeting: Meeting, now: datetime, what: str, expected_sequence: int | None = None) -> None:
    """Changes of time, host or plan are for meetings that have not begun; `expected_sequence` is
    the version the person changing it saw (a page opened before a colleague's change is stale)."""
    if expected_sequence is not None and expected_sequence != meeting.sequence:
        raise MeetingRefused("Someone changed this meeting meanwhile: check it again, then make your change.")
    if meeting.cancelled_at is not None:
        raise MeetingRefused("This meeting was cancelled.")
    if meeting.current_status(now) not in (
        MeetingStatus.PLANNING,
        MeetingStatus.SCHEDULED,
        MeetingStatus.STARTING_SOON,
    ) or (meeting.starts_at is not None and meeting.starts_at <= now):
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


def can_join(meeting: Meeting, now: datetime) -> bool:
    """The guest may enter the room: from JOIN_OPENS_BEFORE the start until the end, unless it was
    cancelled or has already taken place (a call that happened and ended)."""
    return (
        meeting.cancelled_at is None
        and meeting.starts_at is not None
        and meeting.ends_at is not None
        and meeting.starts_at - JOIN_OPENS_BEFORE <= now < meeting.ends_at
        and meeting.current_status(now) != MeetingStatus.COMPLETED
    )


def _future_times(times: Iterable[datetime], now: datetime) -> list[datetime]:
    times = sorted(set(times))
    if not 1 <= len(times) <= MAX_PROPOSED_TIMES:
        raise MeetingRefused(f"Give one to {MAX_PROPOSED_TIMES} times.")
    if any(t <= now for t in times):
        raise MeetingRefused("Times must be in the future.")
    return times


# --- Scheduling ----------------------------------------------------------------------------------


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
    if service.clinic_id != clinic.pk or not service.active:
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
        meeting = _locked(meeting_id)
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
        _store_status(meeting, now)
        _record(meeting, "pick", now=now, detail=local_time(starts_at, meeting.clinic))
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
        meeting = _locked(meeting_id)
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
        meeting.save(update_fields=["starts_at", "ends_at", "sequence"])
        meeting.proposals.all().delete()
        _withdraw_guest(meeting)
        _store_status(meeting, now)
        _record(
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
        meeting = _locked(meeting_id)
        _not_started(meeting, now, "cancelled", expected_sequence)
        meeting.cancelled_at, meeting.cancelled_by_guest = now, by_guest
        meeting.sequence += 1
        meeting.save(update_fields=["cancelled_at", "cancelled_by_guest", "sequence"])
        _withdraw_guest(meeting)
        _store_status(meeting, now)
        _record(meeting, "cancel", by=by, now=now, detail="by the guest" if by_guest else "")
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
        meeting = _locked(meeting_id)
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
        _record(meeting, "assign", by=by, now=now, detail=f"{before} -> {person(provider)}")

        def tell() -> None:
            emails.host_assigned(meeting)
            if meeting.starts_at is not None:
                emails.invitation(meeting, intro=f"Your meeting is now with {person(provider)}.")

        transaction.on_commit(tell)
        publishing.meetings_changed(meeting.clinic)
    return meeting


# --- Entering, summary, review -------------------------------------------------------------------


def meeting_enter(*, meeting_id: int) -> tuple[Visit, str]:
    """The guest enters (key or link) while the room is open: they join the clinic's waiting room as
    a visit linked to the meeting; coming back reuses the open visit with a fresh link for this
    browser. Once the call took place and ended the meeting is over (a new visit would start its
    facts afresh), so the room no longer opens."""
    now = timezone.now()
    with transaction.atomic():
        meeting = _locked(meeting_id)
        # Checked again under the lock: a cancel or a move may have committed since the page.
        if not can_join(meeting, now):
            raise MeetingRefused("This session can't be joined now.")
        if meeting.guest_entered_at is None:
            meeting.guest_entered_at = now
            meeting.save(update_fields=["guest_entered_at"])
            _record(meeting, "guest_enter", now=now)
        publishing.meetings_changed(meeting.clinic)
        # visit_id None matches no row (the first entry), which the lookup's type does not allow.
        visit = Visit.objects.select_for_update(of=("self",)).filter(pk=meeting.visit_id).first()  # type: ignore[misc]
        if visit is not None and not visit.is_closed:
            return visit, visit_services.visit_reissue_token(visit=visit)
        label = (
            f"{meeting.service.name} with {person(meeting.provider)}, "
            f"{local_time(cast(datetime, meeting.starts_at), meeting.clinic)}"  # can_join: it has a time
        )
        visit, token = visit_services.visit_start(
            clinic=meeting.clinic, patient_name=meeting.guest_name, answers={APPOINTMENT_ANSWER: label}
        )
        meeting.visit = visit
        meeting.save(update_fields=["visit"])
    return visit, token


def meeting_host_enter(*, meeting_id: int, user: User) -> Visit | None:
    """The host's Enter room: when the guest is waiting (or the call has a free place), the host
    calls them into the video call through the waiting room; the visit is returned so the
    dashboard can open the call. None: the guest has not come in yet."""
    now = timezone.now()
    with transaction.atomic():
        meeting = _locked(meeting_id)
        if meeting.cancelled_at is not None:
            raise MeetingRefused("This meeting was cancelled.")
        _record(meeting, "host_enter", by=user, now=now)
        visit = meeting.visit
        if visit is None or visit.is_closed:
            return None
        if not visit.call_participants.filter(user=user).exists():
            call = (
                visit_services.visit_call_back
                if visit.status == Status.DISCONNECTED
                else visit_services.visit_call
            )
            try:
                call(visit_id=visit.pk, user=user)
            except TransitionRefused:
                return None  # still getting ready (camera check): they show on the dashboard
            except visit_services.CallFull as full:
                raise MeetingRefused(str(full)) from None
        publishing.meetings_changed(meeting.clinic)
    return visit


def meeting_summary_set(*, meeting_id: int, by: User, summary: str) -> Meeting:
    """The summary the guest reads on their meeting page."""
    now = timezone.now()
    with transaction.atomic():
        meeting = _locked(meeting_id)
        meeting.summary = summary.strip()[:5000]
        meeting.save(update_fields=["summary"])
        _record(meeting, "summary", by=by, now=now)
        publishing.meetings_changed(meeting.clinic)
    return meeting


def meeting_review(*, meeting_id: int, rating: int, text: str = "") -> Meeting:
    """The guest's review after a completed meeting: once."""
    now = timezone.now()
    if not 1 <= rating <= 5:
        raise MeetingRefused("Give a rating from 1 to 5.")
    with transaction.atomic():
        meeting = _locked(meeting_id)
        if meeting.current_status(now) != MeetingStatus.COMPLETED:
            raise MeetingRefused("A review can be left once the meeting has taken place.")
        if meeting.reviewed_at is not None:
            raise MeetingRefused("You already reviewed this meeting. Thank you!")
        meeting.review_rating, meeting.review_text, meeting.reviewed_at = rating, text.strip()[:2000], now
        meeting.save(update_fields=["review_rating", "review_text", "reviewed_at"])
        _record(meeting, "review", now=now, detail=f"{rating}/5")
        publishing.meetings_changed(meeting.clinic)
    return meeting


# --- The sweep -----------------------------------------------------------------------------------


def meetings_refresh_statuses(*, now: datetime | None = None, limit: int = 2000) -> int:
    """The beat sweep: meetings whose stored status no longer matches the facts and the clock
    (starting soon, missed, a call that started, failed or ended) are updated, and the clinics'
    open pages are told. Rows locked by a service right now are looked at next time."""
    now = now or timezone.now()
    changed: list[Meeting] = []
    with transaction.atomic():
        # Only where the clock or a call can still move a status: from an hour before the start
        # (starting soon) until a day after the end (a late call, a failure, the end of a call).
        # Later meetings were stored as scheduled or planning when they were last changed.
        candidates = (
            Meeting.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("visit", "clinic")
            .filter(
                cancelled_at__isnull=True,
                starts_at__lte=now + STARTING_SOON_WITHIN,
                ends_at__gte=now - SWEEP_LOOKBACK,
            )
            .order_by("-starts_at")[:limit]
        )
        for meeting in candidates:
            if _store_status(meeting, now):
                changed.append(meeting)
        for clinic in {meeting.clinic for meeting in changed}:
            publishing.meetings_changed(clinic)
    return len(changed)


# --- Guest keys ----------------------------------------------------------------------------------

# Wrong keys allowed from one client in the window before /meet/ refuses it for a while.
KEY_ATTEMPTS = 5
KEY_WINDOW = timedelta(minutes=15)


class TooManyAttempts(MeetingRefused):
    pass


def meeting_by_guest_key(*, key: str, client: str, clinic: Clinic | None = None) -> Meeting:
    """The meeting a guest key opens (on a clinic's own page, only that clinic's). Every attempt
    is recorded (committed: the caller is not in a transaction), so a wrong key counts even though
    it raises; past KEY_ATTEMPTS wrong ones in KEY_WINDOW the client is refused before the key is
    even looked at."""
    now = timezone.now()
    client_hash = hashlib.sha256(f"guest-key:{client}".encode()).hexdigest()
    # The attempt is committed before counting, so of a burst of parallel guesses each counts the
    # others that came before it, and no more than KEY_ATTEMPTS are ever looked up in a window.
    attempt = GuestKeyAttempt.objects.create(client=client_hash, at=now, succeeded=False)
    recent = GuestKeyAttempt.objects.filter(client=client_hash, succeeded=False, at__gt=now - KEY_WINDOW)
    if recent.count() > KEY_ATTEMPTS:
        raise TooManyAttempts("Too many wrong keys. Please wait 15 minutes, or use the link in your email.")
    meetings = Meeting.objects.select_related("clinic").filter(guest_key=key)
    if clinic is not None:
        meetings = meetings.filter(clinic=clinic)
    meeting = meetings.first()
    if meeting is not None:
        attempt.succeeded = True
        attempt.save(update_fields=["succeeded"])
    if meeting is None:
        raise MeetingRefused("That guest key is not recognised. Check the key in your invitation.")
    return meeting


def guest_key_attempts_purge(*, now: datetime | None = None) -> int:
    """Attempts older than the window count for nothing: the beat task deletes them."""
    now = now or timezone.now()
    deleted, _ = GuestKeyAttempt.objects.filter(at__lte=now - KEY_WINDOW).delete()
    return deleted
