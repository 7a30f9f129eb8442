"""What a meeting change tells whom. Pushes are hints: an open overview re-fetches its rows over
HTTP, so there is one rendering path."""

from __future__ import annotations

from waitingroom.models import Clinic
from waitingroom.realtime import groups, messages, publisher


def meetings_changed(clinic: Clinic) -> None:
    """A meeting was booked, changed, entered, or its status moved on: open meetings overviews of
    the clinic re-fetch their rows (scheduling/meetings/consumers.py)."""
    meetings_changed_in(clinic.pk)


def meetings_changed_in(clinic_id: int) -> None:
    """meetings_changed() by the clinic's id (a payment names its clinic by id): open overviews and
    meeting payment pages of the clinic re-fetch."""
    publisher.publish(groups.clinic_meetings_group(clinic_id), {"type": messages.MEETINGS.name})
