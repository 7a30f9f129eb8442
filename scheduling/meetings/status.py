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


def indicator(*, entered: bool, media_check: str | None) -> str:
    """The overview's media-check symbol: `absent` (grey ?), `checking` (yellow ?), `failed` (red
    cross) or `passed` (green check). `media_check` is the visit's value when the guest entered."""
    if not entered:
        return "absent"
    return {"passed": "passed", "failed": "failed"}.get(media_check or "", "checking")


INDICATOR_LABELS = {
    "absent": "The guest has not entered yet",
    "checking": "Entered; camera and microphone check not completed",
    "failed": "Entered; camera and microphone check failed",
    "passed": "Entered; camera and microphone check passed",
}
