"""Consultation reads, each with a fixed number of queries whatever the rows: the room and the
dashboard's Upcoming Appointments (callers have checked who asks, consultations/access.py), the
busy time scheduling counts, and the requester's page."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import User
from django.db.models import OuterRef, Subquery

from consultations import lifecycle
from consultations.lifecycle import Status
from consultations.models import Attachment, Consultation, ConsultationMessage, ConsultationNote
from scheduling.availability import Busy
from scheduling.models import Requester
from waitingroom.models import Clinic, Role

# The Upcoming panel lists at most this many of each list (soonest first).
UPCOMING_LIMIT = 100
HISTORY_LIMIT = 50


@dataclass(frozen=True)
class Upcoming:
    """The dashboard panel: `claimed` is the expert's own claimed consultations (for a CSR or a
    clinic admin: every claimed one of the clinic), `available` the clinic's unclaimed ones."""

    claimed: list[Consultation]
    available: list[Consultation]
    # The viewer is a provider: they may claim, and `claimed` is theirs.
    is_expert: bool


def upcoming(*, clinic: Clinic, user: User, role: str) -> Upcoming:
    """Two queries: the clinic's Claimed and In-progress consultations (the expert's own, for an
    expert), and its Available ones, soonest first."""
    is_expert = role == Role.PROVIDER
    base = (
        Consultation.objects.filter(clinic=clinic)
        .select_related("service", "expert")
        .order_by("starts_at", "id")
    )
    claimed = base.filter(status__in=lifecycle.UPCOMING_STATUSES - {Status.AVAILABLE})
    if is_expert:
        claimed = claimed.filter(expert=user)
    return Upcoming(
        claimed=list(claimed[:UPCOMING_LIMIT]),
        available=list(base.filter(status=Status.AVAILABLE)[:UPCOMING_LIMIT]),
        is_expert=is_expert,
    )


def messages(consultation: Consultation) -> list[ConsultationMessage]:
    return list(
        ConsultationMessage.objects.filter(consultation=consultation)
        .select_related("user")
        .order_by("sent_at", "id")
    )


def attachments(consultation: Consultation) -> list[Attachment]:
    return list(Attachment.objects.filter(consultation=consultation).order_by("uploaded_at", "id"))


def note(consultation: Consultation) -> ConsultationNote | None:
    """The note: its newest version."""
    return (
        ConsultationNote.objects.filter(consultation=consultation)
        .select_related("author")
        .order_by("-version")
        .first()
    )


def notes(consultation: Consultation) -> list[ConsultationNote]:
    """Every version of the note, newest first."""
    return list(
        ConsultationNote.objects.filter(consultation=consultation)
        .select_related("author")
        .order_by("-version")
    )


@dataclass(frozen=True)
class HistoryRow:
    consultation: Consultation
    # The newest version of its note; "" without one (or for a viewer who may not read notes).
    note: str


def history(consultation: Consultation, *, with_notes: bool, for_client: bool = False) -> list[HistoryRow]:
    """The client's earlier consultations with this clinic (the same requester, the same clinic),
    newest first, each with its expert and, for viewers who may read notes, its latest note:
    one query.

    `for_client`: the client's own room shows only those booked with this consultation's number
    too. The booking page hands the new room's link to whoever booked, who proved the number (its
    SMS code) but not the email address: typing someone else's address must not open their
    earlier consultations and notes. (Their requester page, reached through the emailed link,
    lists them all.)"""
    rows = Consultation.objects.filter(
        requester_id=consultation.requester_id, clinic_id=consultation.clinic_id
    ).filter(starts_at__lt=consultation.starts_at)
    if for_client:
        rows = rows.filter(client_phone=consultation.client_phone)
    rows = rows.select_related("service", "expert").order_by("-starts_at", "-id")
    if with_notes:
        latest = ConsultationNote.objects.filter(consultation=OuterRef("pk")).order_by("-version")
        rows = rows.annotate(latest_note=Subquery(latest.values("body")[:1]))
    return [
        HistoryRow(consultation=row, note=(getattr(row, "latest_note", None) or "") if with_notes else "")
        for row in rows[:HISTORY_LIMIT]
    ]


def answers(consultation: Consultation) -> list[tuple[str, str]]:
    """The booking answers as (question, answer) in the order the booking form asked them: the
    clinic's question labels where the question still exists, then the answers to questions
    removed since (the stored key made readable). The stored order means nothing: a jsonb column
    keeps its keys sorted by length. One query."""
    questions = consultation.clinic.booking_questions.order_by("position", "id")
    given = {key: str(value) for key, value in (consultation.answers or {}).items()}
    asked = [(label, given.pop(key)) for key, label in questions.values_list("key", "label") if key in given]
    return asked + [(key.replace("_", " ").capitalize(), value) for key, value in sorted(given.items())]


def status_of(consultation: Consultation, now: datetime) -> dict:
    """The flags pages show instead of comparing status strings (tests/test_rules_once.py)."""
    status = Status(consultation.status)
    return {
        "label": status.label,
        "is_available": status == Status.AVAILABLE,
        "is_claimed": consultation.expert_id is not None and status != Status.CANCELLED,
        "is_cancelled": status == Status.CANCELLED,
        "is_completed": status == Status.COMPLETED,
        "is_ended": status in lifecycle.ENDED_STATUSES,
        "has_started": consultation.has_started(now),
        "client_may_post": lifecycle.client_may_post(status, consultation.is_open),
        "staff_may_post": lifecycle.staff_may_post(status),
    }


# --- Busy time (settings.BUSY_TIME_SOURCES) ------------------------------------------------------


def busy_times(*, provider_ids: Collection[int], start: datetime, end: datetime) -> list[Busy]:
    """Consultations holding their expert's time (lifecycle.HOLDS_TIME, with an expert) that
    overlap [start, end), any clinic: what scheduling's availability, dispatch conflicts and
    meeting bookings count beside meetings. One query.

    The client stays unnamed ("a client"): these lists reach schedulers, who see no consultation."""
    rows = (
        Consultation.objects.holding_time()
        .filter(expert_id__in=list(provider_ids), starts_at__lt=end, ends_at__gt=start)
        .values_list("pk", "expert_id", "starts_at", "ends_at", "clinic_id", "service__name")
    )
    return [
        Busy(expert_id, starts_at, ends_at, clinic_id, label, "a client", f"consultation:{pk}")
        for pk, expert_id, starts_at, ends_at, clinic_id, label in rows
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
