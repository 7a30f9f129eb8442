"""What a consultation change tells whom. Pushes are hints: a room re-fetches the parts named over
HTTP (which checks what each viewer may see), and the dashboards re-fetch their Upcoming
Appointments panel, so there is one rendering path."""

from __future__ import annotations

from enum import StrEnum

from consultations.models import Consultation
from waitingroom.realtime import groups, messages, publisher


class Part(StrEnum):
    STATUS = "status"  # the control bar, times, expert, the client's view of the status
    MESSAGES = "messages"
    ATTACHMENTS = "attachments"
    NOTE = "note"
    RECORDINGS = "recordings"  # the calls' recordings (consultations/recordings.py)
    CALL = "call"  # the phone call's progress (consultations/calls.py)
    PAYMENT = "payment"  # a paid service's card payment (consultations/payments.py)


UPCOMING_PANEL = "consultations"


def room_changed(consultation: Consultation, *parts: Part) -> None:
    """Both sides of the room re-fetch `parts`, once the current transaction commits."""
    payload = {
        "type": messages.CONSULTATION.name,
        "version": consultation.version,
        "parts": sorted(str(part) for part in parts),
    }
    publisher.publish_many(
        [
            (groups.consultation_staff_group(consultation.pk), payload),
            (groups.consultation_client_group(consultation.pk), payload),
        ]
    )


def upcoming_changed(clinic_id: int) -> None:
    """Every dashboard of the clinic re-fetches its Upcoming Appointments panel (claims, new
    bookings, unread counts, cancellations)."""
    publisher.publish(
        groups.clinic_staff_group(clinic_id), {"type": messages.PANEL.name, "panel": UPCOMING_PANEL}
    )


def link_reissued(consultation: Consultation) -> None:
    """Client sockets opened with the old link close (their consumer re-checks its token)."""
    publisher.publish(
        groups.consultation_client_group(consultation.pk), {"type": messages.CONSULTATION_LINK_REISSUED.name}
    )
