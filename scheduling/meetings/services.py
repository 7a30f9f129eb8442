"""The meeting once booked: the guest and the host entering the room, the summary and the review,
the guest key that opens a meeting page, and the sweep that keeps stored statuses current; and the
steps every meeting write shares (MeetingRefused, the row lock, the event record, the stored status),
which booking.py builds on. Each write locks the meeting, records a MeetingEvent, and publishes only
after commit. Statuses are never assigned: facts are stored and status.derive() reads them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import cast

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from scheduling.availability import person
from scheduling.meetings import payments, publishing
from scheduling.meetings.status import STARTING_SOON_WITHIN, MeetingStatus, rules_of
from scheduling.models import Meeting, MeetingEvent
from scheduling.times import local_time
from visits import services as visit_services
from visits.lifecycle import Status, TransitionRefused
from visits.models import APPOINTMENT_ANSWER, Visit
from waitingroom import ratelimit
from waitingroom.models import Clinic


class MeetingRefused(ValueError):
    """The change is not possible as asked (the message says why)."""


# --- Shared steps --------------------------------------------------------------------------------


def record(meeting: Meeting, event: str, *, by=None, now: datetime, detail: str = "") -> None:
    MeetingEvent.objects.create(meeting=meeting, event=event, user=by, at=now, detail=detail)


def store_status(meeting: Meeting, now: datetime) -> bool:
    """Bring the stored status (a cache of derive()) in line with the facts; True if it changed."""
    status = meeting.current_status(now)
    if meeting.status == status:
        return False
    meeting.status = status
    meeting.save(update_fields=["status"])
    return True


def locked(meeting_id: int) -> Meeting:
    """The meeting under a row lock (the caller has checked who may change it: a view through
    selectors.staff_meeting, a guest through their link or key)."""
    return (
        Meeting.objects.select_for_update(of=("self",))
        .select_related("clinic", "service", "provider", "visit")
        .get(pk=meeting_id)
    )


# --- Entering, summary, review -------------------------------------------------------------------

# The room opens this long before the start, and stays open until the end.
JOIN_OPENS_BEFORE = timedelta(minutes=15)


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


def meeting_enter(*, meeting_id: int) -> tuple[Visit, str]:
    """The guest enters (key or link) while the room is open: they join the clinic's waiting room as
    a visit linked to the meeting; coming back reuses the open visit with a fresh link for this
    browser. Once the call took place and ended the meeting is over (a new visit would start its
    facts afresh), so the room no longer opens. A paid session opens once its card is saved."""
    now = timezone.now()
    with transaction.atomic():
        meeting = locked(meeting_id)
        # Checked again under the lock: a cancel or a move may have committed since the page.
        if not can_join(meeting, now):
            raise MeetingRefused("This session can't be joined now.")
        if payments.card_state(meeting).required:
            raise MeetingRefused("This session is paid: save a card on your meeting page before you join.")
        if meeting.guest_entered_at is None:
            meeting.guest_entered_at = now
            meeting.save(update_fields=["guest_entered_at"])
            record(meeting, "guest_enter", now=now)
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
            clinic=meeting.clinic,
            patient_name=meeting.guest_name,
            answers={APPOINTMENT_ANSWER: label},
            booked=True,  # the guest has an appointment: opening hours and the queue cap are for walk-ins
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
        meeting = locked(meeting_id)
        if meeting.cancelled_at is not None:
            raise MeetingRefused("This meeting was cancelled.")
        record(meeting, "host_enter", by=user, now=now)
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
        meeting = locked(meeting_id)
        meeting.summary = summary.strip()[:5000]
        meeting.save(update_fields=["summary"])
        record(meeting, "summary", by=by, now=now)
        publishing.meetings_changed(meeting.clinic)
    return meeting


def meeting_review(*, meeting_id: int, rating: int, text: str = "") -> Meeting:
    """The guest's review after a completed meeting: once."""
    now = timezone.now()
    if not 1 <= rating <= 5:
        raise MeetingRefused("Give a rating from 1 to 5.")
    with transaction.atomic():
        meeting = locked(meeting_id)
        if not rules_of(meeting.current_status(now)).reviewable:
            raise MeetingRefused("A review can be left once the meeting has taken place.")
        if meeting.reviewed_at is not None:
            raise MeetingRefused("You already reviewed this meeting. Thank you!")
        meeting.review_rating, meeting.review_text, meeting.reviewed_at = rating, text.strip()[:2000], now
        meeting.save(update_fields=["review_rating", "review_text", "reviewed_at"])
        record(meeting, "review", now=now, detail=f"{rating}/5")
        publishing.meetings_changed(meeting.clinic)
    return meeting


# --- The sweep -----------------------------------------------------------------------------------

# The sweep looks again at meetings that ended this recently (a late call can still change them).
SWEEP_LOOKBACK = timedelta(days=1)


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
            if store_status(meeting, now):
                changed.append(meeting)
        for clinic in {meeting.clinic for meeting in changed}:
            publishing.meetings_changed(clinic)
    return len(changed)


# --- Guest keys ----------------------------------------------------------------------------------


class TooManyAttempts(MeetingRefused):
    pass


def meeting_by_guest_key(*, key: str, client: str, clinic: Clinic | None = None) -> Meeting:
    """The meeting a guest key opens (on a clinic's own page, only that clinic's). Every attempt
    is recorded (waitingroom/ratelimit.py; the caller is not in a transaction), so a wrong key
    counts even though it raises; past the "guest-key" limit of wrong ones the client is refused
    before the key is even looked at."""
    try:
        attempt = ratelimit.attempt(
            "guest-key",
            client,
            message="Too many wrong keys. Please wait 15 minutes, or use the link in your email.",
        )
    except ratelimit.RateLimited as refused:
        raise TooManyAttempts(str(refused)) from None
    meetings = Meeting.objects.select_related("clinic").filter(guest_key=key)
    if clinic is not None:
        meetings = meetings.filter(clinic=clinic)
    meeting = meetings.first()
    if meeting is None:
        raise MeetingRefused("That guest key is not recognised. Check the key in your invitation.")
    ratelimit.forgive(attempt)
    return meeting
