"""Reads for pages and sockets. Lists use a fixed number of queries whatever their length."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Prefetch, Q
from django.http import Http404
from django.utils import timezone

from visits.lifecycle import (
    OPEN_STATUSES,
    PHASE_TITLES,
    STATUS_LABELS,
    Actor,
    Event,
    Phase,
    Status,
    allowed_events,
    chat_allowed,
)
from visits.models import CallParticipant, ChatMessage, IntakeField, Visit, hash_token
from waitingroom.models import Clinic

# The browser session's key listing the visits its patient may open.
PATIENT_SESSION_KEY = "visit_ids"
# A link of a visit that ended longer ago than this is a plain 404 (nothing to show any more).
CLOSED_LINK_LIFETIME = timedelta(hours=24)
READY_STATUSES = [Status.WAITING, Status.OFFLINE, Status.RECALLED]
# An estimate needs this many recent called visits; with fewer, the patient is told so.
ESTIMATE_MIN_SAMPLES = 3
ESTIMATE_SAMPLES = 20
ESTIMATE_LOOKBACK = timedelta(days=7)

# Staff buttons per lifecycle event, in card order: (label, style).
STAFF_ACTIONS: dict[Event, tuple[str, str]] = {
    Event.CALL: ("Call", "primary"),
    Event.RECALL: ("Recall", "primary"),
    Event.CALL_BACK: ("Call back", "primary"),
    Event.LEAVE_CALL: ("Leave call", ""),
    Event.SEND_BACK: ("Send back to waiting room", ""),
    Event.END: ("End visit", "danger"),
    Event.CANCEL: ("Cancel", "danger"),
}


@dataclass
class Card:
    visit: Visit
    fields: list[tuple[str, str]]
    in_call: list[str]
    actions: list[tuple[str, str, str]]  # (event, label, style)
    chat: bool
    status_label: str
    since: datetime


@dataclass
class Section:
    phase: Phase
    title: str
    cards: list[Card] = field(default_factory=list)
    expanded_by_default: bool = False


def shown_fields(*, clinic: Clinic) -> list[IntakeField]:
    return list(IntakeField.objects.filter(clinic=clinic, show_on_card=True))


def card_for(visit: Visit, fields: list[IntakeField]) -> Card:
    """The card's content; `visit.call_participants` should be prefetched with their users."""
    names = [p.user.get_full_name() or p.user.username for p in visit.call_participants.all()]
    events = allowed_events(visit.status, Actor.STAFF)
    actions = [(e.value, label, style) for e, (label, style) in STAFF_ACTIONS.items() if e in events]
    if visit.status in (Status.IN_CALL, Status.AWAY):
        actions = [(e, "Join call" if e == Event.CALL else label, style) for e, label, style in actions]
    waiting_phase = visit.phase in (Phase.GETTING_READY, Phase.READY)
    return Card(
        visit=visit,
        fields=[(f.label, str(visit.answers.get(f.key, ""))) for f in fields if visit.answers.get(f.key)],
        in_call=names,
        actions=actions,
        chat=chat_allowed(visit.status),
        status_label=STATUS_LABELS[Status(visit.status)],
        since=visit.arrived_at if waiting_phase else visit.status_changed_at,
    )


def _participants_prefetch() -> Prefetch:
    return Prefetch("call_participants", queryset=CallParticipant.objects.select_related("user"))


def dashboard_sections(*, clinic: Clinic) -> list[Section]:
    """The four phases with their cards, in arrival order: three queries for any number of visits."""
    fields = shown_fields(clinic=clinic)
    sections = {
        phase: Section(
            phase=phase, title=title, expanded_by_default=phase in (Phase.READY, Phase.IN_PROGRESS)
        )
        for phase, title in PHASE_TITLES.items()
    }
    visits = (
        Visit.objects.filter(clinic=clinic, status__in=list(OPEN_STATUSES))
        .order_by("arrived_at", "id")
        .select_related("last_recall_sms")
        .prefetch_related(_participants_prefetch())
    )
    for visit in visits:
        visit.clinic = clinic  # the card links through it: no query per card
        sections[visit.phase].cards.append(card_for(visit, fields))
    return list(sections.values())


def card_for_visit(*, visit: Visit) -> Card:
    visit = (
        Visit.objects.select_related("clinic", "last_recall_sms")
        .prefetch_related(_participants_prefetch())
        .get(pk=visit.pk)
    )
    return card_for(visit, shown_fields(clinic=visit.clinic))


def staff_visit(*, clinic: Clinic, visit_id: int) -> Visit:
    """A visit of `clinic` (already checked against the user), else 404."""
    visit = Visit.objects.filter(clinic=clinic, pk=visit_id).select_related("clinic").first()
    if visit is None:
        raise Http404("No such visit")
    return visit


def patient_visit(*, token: str, bound_visit_ids: list[int]) -> Visit:
    """The visit behind a patient's link, if this browser session is bound to it and the visit did
    not end longer than CLOSED_LINK_LIFETIME ago; else 404 (a wrong token learns nothing)."""
    visit = Visit.objects.filter(token_hash=hash_token(token)).select_related("clinic").first()
    if visit is None or visit.id not in bound_visit_ids:
        raise Http404("No such visit")
    if visit.ended_at and visit.ended_at < timezone.now() - CLOSED_LINK_LIFETIME:
        raise Http404("No such visit")
    return visit


def queue_position(*, visit: Visit) -> int:
    """1 for the first in line: ready-phase visits that arrived earlier, plus one."""
    ahead = Visit.objects.filter(clinic_id=visit.clinic_id, status__in=READY_STATUSES).filter(
        Q(arrived_at__lt=visit.arrived_at) | Q(arrived_at=visit.arrived_at, id__lt=visit.id)
    )
    return ahead.exclude(pk=visit.pk).count() + 1


def seconds_per_place(*, clinic: Clinic, now: datetime | None = None) -> float | None:
    """Median seconds of waiting per place in the queue over this clinic's recent called visits,
    or None when there are too few of them to say anything honest."""
    now = now or timezone.now()
    rows = list(
        Visit.objects.filter(
            clinic=clinic,
            first_called_at__gte=now - ESTIMATE_LOOKBACK,
            ready_at__isnull=False,
            position_when_ready__gt=0,
        )
        .order_by("-first_called_at")
        .values_list("ready_at", "first_called_at", "position_when_ready")[:ESTIMATE_SAMPLES]
    )
    if len(rows) < ESTIMATE_MIN_SAMPLES:
        return None
    return statistics.median(max(0.0, (called - ready).total_seconds()) / pos for ready, called, pos in rows)


def chat_messages(*, visit: Visit) -> list[ChatMessage]:
    return list(visit.messages.select_related("user", "visit__clinic"))


@dataclass
class PatientState:
    visit: Visit
    position: int | None
    seconds_per_place: float | None
    status_label: str
    staff_names: list[str]
    code_sent_to: str | None = None  # offline queueing: a code is waiting to be typed in

    @property
    def estimate_minutes(self) -> int | None:
        if self.position is None or self.seconds_per_place is None:
            return None
        return max(1, round(self.position * self.seconds_per_place / 60))


def patient_state(*, visit: Visit) -> PatientState:
    waiting = visit.status in READY_STATUSES
    return PatientState(
        visit=visit,
        position=queue_position(visit=visit) if waiting else None,
        seconds_per_place=seconds_per_place(clinic=visit.clinic) if waiting else None,
        status_label=STATUS_LABELS[Status(visit.status)],
        staff_names=[
            p.user.get_full_name() or p.user.username for p in visit.call_participants.select_related("user")
        ],
        code_sent_to=_pending_code_phone(visit) if waiting and visit.clinic.offline_queueing else None,
    )


def _pending_code_phone(visit: Visit) -> str | None:
    if visit.verified_phone:
        return None
    latest = visit.phone_verifications.first()
    if latest is None or latest.used_at or latest.expires_at <= timezone.now():
        return None
    return "•••• " + latest.phone[-4:]  # only the last digits on screen
