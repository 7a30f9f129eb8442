"""A meeting's status, derived from stored facts and the clock (pure Python, no database).

Nothing assigns a meeting's status by hand: services record facts (a time was chosen, someone
cancelled, the guest entered, the call started or failed) and `derive()` says what they mean at a
given moment. The stored `Meeting.status` is a cache of this answer that the beat sweep keeps
current, so lists can filter on it and open pages hear when the clock alone changed it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import models

# "Starting soon" from this long before the start.
STARTING_SOON_WITHIN = timedelta(hours=1)


class MeetingStatus(models.TextChoices):
    PLANNING = "planning", "Planning"
    SCHEDULED = "scheduled", "Scheduled"
    STARTING_SOON = "starting_soon", "Starting soon"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    MISSED = "missed", "Missed"
    CANCELLED = "cancelled", "Cancelled"
    FAILED = "failed", "Failed"


@dataclass(frozen=True)
class Facts:
    """What is stored about one meeting and its guest's waiting-room visit."""

    starts_at: datetime | None  # None while the guest has not picked one of the proposed times
    ends_at: datetime | None
    cancelled: bool
    # A staff member of the clinic called the guest's visit (the host, or a colleague covering):
    # both were in the call, since the guest waits in the room until called.
    call_started: bool
    # The current call's video connection could not be set up (cleared by a new call).
    call_failed: bool
    # The call is going on now (the visit is in the In Progress phase).
    in_call: bool


def derive(facts: Facts, now: datetime) -> MeetingStatus:
    if facts.cancelled:
        return MeetingStatus.CANCELLED
    if facts.starts_at is None or facts.ends_at is None:
        return MeetingStatus.PLANNING
    if facts.call_started:
        if facts.call_failed:
            return MeetingStatus.FAILED
        return MeetingStatus.IN_PROGRESS if facts.in_call else MeetingStatus.COMPLETED
    if now >= facts.ends_at:
        # One of them (or both) did not enter the call before the end.
        return MeetingStatus.MISSED
    if now >= facts.starts_at - STARTING_SOON_WITHIN:
        return MeetingStatus.STARTING_SOON
    return MeetingStatus.SCHEDULED


@dataclass(frozen=True)
class Rules:
    """What a meeting in one status offers. Pages and services ask these instead of naming
    statuses, so a new status is decided here once (tests/scheduling/meetings/test_status.py
    states every status's answers)."""

    # Cancelled: the guest's link says so, and no key, agenda entry or "Open" link is offered.
    cancelled: bool
    # No time is fixed yet: the guest picks one of the proposed times.
    picking_time: bool
    # Not begun by the clock: time, host or plan may still change and the guest may cancel (both
    # also need a start that is still ahead, which the caller checks against now).
    changeable: bool
    # A time is fixed and has not come: the guest page says from when the room opens.
    awaiting_start: bool
    # The staff's Enter room: a time is fixed and the call has not ended (a failed call is retried).
    host_may_enter: bool
    # The call took place: the guest may review it (once).
    reviewable: bool
    # A paid service's card may still be saved on the guest's page: not cancelled or missed (a
    # completed meeting too, so a clinic whose guest forgot can still be paid).
    card_savable: bool
    # The call took place: the host or a clinic admin may charge a paid service's card.
    chargeable: bool


_S = MeetingStatus
# One row per status, in field order:
#     cancelled, picking_time, changeable, awaiting_start, host_may_enter, reviewable,
#     card_savable, chargeable.
RULES: dict[MeetingStatus, Rules] = {
    _S.PLANNING: Rules(False, True, True, False, False, False, True, False),
    _S.SCHEDULED: Rules(False, False, True, True, True, False, True, False),
    _S.STARTING_SOON: Rules(False, False, True, True, True, False, True, False),
    _S.IN_PROGRESS: Rules(False, False, False, False, True, False, True, False),
    _S.COMPLETED: Rules(False, False, False, False, False, True, True, True),
    _S.MISSED: Rules(False, False, False, False, False, False, False, False),
    _S.CANCELLED: Rules(True, False, False, False, False, False, False, False),
    _S.FAILED: Rules(False, False, False, False, True, False, True, False),
}


def rules_of(status: str) -> Rules:
    """The rules of a status (a member or the stored string)."""
    return RULES[MeetingStatus(status)]


def indicator(*, entered: bool, media_check: str | None) -> str:
    """The overview's media-check symbol: `absent` (grey ?), `checking` (yellow ?), `failed` (red
    cross) or `passed` (green check). `media_check` is the visit's value when the guest entered."""
    if not entered:
        return "absent"
    return {"passed": "passed", "failed": "failed"}.get(media_check or "", "checking")


# What each indicator shows, so the overview's fragment does not name them.
INDICATOR_SYMBOLS = {"absent": "?", "checking": "?", "failed": "✗", "passed": "✓"}


INDICATOR_LABELS = {
    "absent": "The guest has not entered yet",
    "checking": "Entered; camera and microphone check not completed",
    "failed": "Entered; camera and microphone check failed",
    "passed": "Entered; camera and microphone check passed",
}
