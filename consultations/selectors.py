"""Consultation reads with a fixed number of queries, whatever the number of rows."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from consultations.lifecycle import Status
from consultations.models import Consultation
from scheduling.availability import Busy
from scheduling.models import Requester
from waitingroom.models import Clinic

# --- Busy time (settings.BUSY_TIME_SOURCES) ------------------------------------------------------


def busy_times(*, provider_ids: Collection[int], start: datetime, end: datetime) -> list[Busy]:
    """Consultations holding their expert's time (lifecycle.HOLDS_TIME, with an expert) that
    overlap [start, end), any clinic: what scheduling's availability, dispatch conflicts and
    meeting bookings count beside meetings. One query."""
    rows = (
        Consultation.objects.holding_time()
        .filter(expert_id__in=list(provider_ids), starts_at__lt=end, ends_at__gt=start)
        .values_list("pk", "expert_id", "starts_at", "ends_at", "clinic_id", "service__name", "client_name")
    )
    return [
        Busy(expert_id, starts_at, ends_at, clinic_id, label, who, f"consultation:{pk}")
        for pk, expert_id, starts_at, ends_at, clinic_id, label, who in rows
    ]


def unclaimed_windows(*, clinic: Clinic, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The clinic's Available consultations (booked for "any expert", no expert yet) overlapping
    [start, end): time some expert of the clinic will have to give (consultations/slots.py). One
    query."""
    return list(
        Consultation.objects.filter(
            clinic=clinic, status=Status.AVAILABLE, expert__isnull=True, starts_at__lt=end, ends_at__gt=start
        ).values_list("starts_at", "ends_at")
    )


# --- The requester's page ------------------------------------------------------------------------


def requester_consultations(*, requester: Requester) -> list[Consultation]:
    """The requester's consultations by time, as their meetings are (one query)."""
    return list(
        Consultation.objects.filter(requester=requester)
        .select_related("clinic", "service", "expert")
        .order_by("starts_at", "id")
    )
