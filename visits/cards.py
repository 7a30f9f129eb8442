"""The staff dashboard's visit cards: read in two queries for any number of visits, rendered by
one autoescaped Jinja2 macro (fragments/visits/_card.html).

One card is rendered for the first page load, the board re-fetch, the action's JSON answer and
the push to every dashboard, always by `Renderer.render()`, so they cannot drift apart. A clinic's
page holds up to 1,000 cards: the macro is compiled once per process and given plain values
(no model instances, URLs worked out once per page), which keeps 1,000 cards within the render
budget (docs/performance.md, items 10 and 16).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import FilteredRelation, Q
from django.template import engines
from django.urls import reverse
from markupsafe import Markup

from visits.guest_lifecycle import GuestStatus
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
    phase_of,
    phone_switch_refusal,
)
from visits.models import CallGuest, CallParticipant, IntakeField, Visit
from visits.signalling import guest_peer, staff_peer
from waitingroom.models import Clinic
from waitingroom.outbox.models import SmsMessage
from waitingroom.voice.lifecycle import ACTIVE, CallStatus, Outcome

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

# Statuses in which staff are in the call with the patient (a Recents card keeps the names of
# those it was with, but is in no call).
CALL_STATUSES = frozenset((Status.IN_CALL, Status.AWAY))

# What a card shows of a visit, read with values_list (no model instances: 1,000 Visit objects
# with their 30 fields cost more than rendering the cards).
COLUMNS = (
    "id",
    "status",
    "patient_name",
    "answers",
    "arrived_at",
    "status_changed_at",
    "connection_lost",
    "recall_no_response",
    "last_recall_sms__status",
    "verified_phone",
    "call_failed_at",
    "unread_by_staff",
    # Switch to phone: the latest phone call, joined in the same query (visits/phone.py).
    "phone_call__status",
    "phone_call__outcome",
    "phone_call__connected_at",
    "phone_call__duration_seconds",
    "phone_call__staff__first_name",
    "phone_call__staff__username",
    "phone_requested_at",  # "Call me instead" (visits/phone_request.py)
    # The call guest admitted into the call (visits/call_guests.py), joined in the same query.
    "call_guest_id",
    "call_guest__name",
    "call_guest__relation",
    # A call guest asking to join (at most one live guest per visit: a LEFT JOIN of one row).
    "asking_guest__name",
    "asking_guest__relation",
)


@dataclass(slots=True)
class CardData:
    id: int
    status: Status
    patient_name: str
    answers: dict
    arrived_at: datetime
    status_changed_at: datetime
    connection_lost: bool
    recall_no_response: bool
    last_sms_status: str | None
    verified_phone: str
    call_failed_at: datetime | None
    unread_by_staff: int
    phone_status: str | None
    phone_outcome: str | None
    phone_connected_at: datetime | None
    phone_duration: int | None
    phone_staff_first_name: str | None
    phone_staff_username: str | None
    phone_requested_at: datetime | None
    guest_id: int | None
    guest_name: str | None
    guest_relation: str | None
    asking_name: str | None
    asking_relation: str | None
    in_call: list[str] = field(default_factory=list)  # staff names, in joining order
    in_call_ids: list[int] = field(default_factory=list)  # their user ids

    @property
    def in_a_call(self) -> bool:
        return self.status in CALL_STATUSES

    @property
    def phase(self) -> Phase:
        return phase_of(self.status)

    @property
    def since(self) -> datetime:
        waiting_phase = self.phase in (Phase.GETTING_READY, Phase.READY)
        return self.arrived_at if waiting_phase else self.status_changed_at


@dataclass(frozen=True, slots=True)
class PhoneState:
    """The card's line for the visit's phone call, in words (the template compares no status)."""

    words: str
    since: int | None = None  # connected: the timer runs from here (lib/format.js clock())
    failed: bool = False


def phone_state(card: CardData) -> PhoneState | None:
    if card.phone_status is None:
        return None
    status = CallStatus(card.phone_status)
    staff = card.phone_staff_first_name or card.phone_staff_username or "the staff member"
    if status == CallStatus.IN_CALL:
        assert card.phone_connected_at is not None
        return PhoneState("On the phone", since=int(card.phone_connected_at.timestamp()))
    if status == CallStatus.ENDED:
        duration = card.phone_duration
        return PhoneState("Phone call ended" + (f" ({clock(duration)})" if duration is not None else ""))
    if status == CallStatus.FAILED:
        outcome = Outcome(card.phone_outcome or Outcome.ERROR)
        return PhoneState(PHONE_FAILURES.get(outcome, outcome.label).format(staff=staff), failed=True)
    return PhoneState(
        {
            CallStatus.QUEUED: "Calling {staff}'s phone…",
            CallStatus.CALLING_STAFF: "Calling {staff}'s phone…",
            CallStatus.SCREENING: "Waiting for {staff} to press 1…",
            CallStatus.CONNECTING_CLIENT: "Connecting the patient…",
        }[status].format(staff=staff)
    )


# The bridge's outcomes (waitingroom.voice.lifecycle.Outcome) in the waiting room's words; the
# others keep the bridge's.
PHONE_FAILURES = {
    Outcome.STAFF_NO_ANSWER: "{staff}'s phone did not answer",
    Outcome.CLIENT_BUSY: "The patient's line was busy",
    Outcome.CLIENT_NO_ANSWER: "The patient did not answer the phone",
    Outcome.CLIENT_FAILED: "The call to the patient could not be made",
}


def clock(seconds: int) -> str:
    return f"{seconds // 60}:{seconds % 60:02d}"


def call_peers(card: CardData | None) -> list[tuple[str, str]]:
    """(peer id, name) of each staff member in the card's call, then of its admitted call guest, for
    the patient's screen: the ids signalling uses (visits/signalling.py), so each name goes on the
    right video."""
    if card is None:
        return []
    peers = [
        (staff_peer(user_id), name) for user_id, name in zip(card.in_call_ids, card.in_call, strict=True)
    ]
    if card.guest_id is not None and card.in_a_call:
        # The admitted call guest's video: "Alex (interpreter)".
        peers.append((guest_peer(card.guest_id), _guest_label(card.guest_name, card.guest_relation)))
    return peers


def guest_line(card: CardData) -> str:
    """The card's line on the visit's call guest: "Alex (interpreter) in the call" while admitted,
    "… asking to join" while a staff member in the call has yet to admit them; "" otherwise (an
    invitation not yet used, or a guest gone, is the call panel's business).

    In Recents (the patient dropped) an admitted guest is still admitted and their socket still in
    the call: only the call's end (waiting again, or closed) ends their part. The staff's panels
    closed with the drop, so the guest waits there alone until the patient comes back (into the
    call again, with the guest) or the visit ends: "… still in the call, waiting for the patient"."""
    if card.guest_id is not None:
        label = _guest_label(card.guest_name, card.guest_relation)
        if card.phase is Phase.RECENTS:
            return f"{label} still in the call, waiting for the patient"
        return f"{label} in the call"
    if card.asking_name is not None:
        return f"{_guest_label(card.asking_name, card.asking_relation)} asking to join"
    return ""


def _guest_label(name: str | None, relation: str | None) -> str:
    """As CallGuest.label: "Alex (interpreter)"."""
    return f"{name} ({CallGuest.Relation(relation or CallGuest.Relation.OTHER).label})"


def may_switch_to_phone(card: CardData) -> bool:
    """Switch to phone on this card: the visit allows it (the server still refuses a staff member
    without a verified phone, or a clinic without a voice number, in words)."""
    return not phone_switch_refusal(
        card.status,
        verified_phone=bool(card.verified_phone),
        call_failed=card.call_failed_at is not None,
        phone_ringing=card.phone_status in ACTIVE,
        phone_requested=card.phone_requested_at is not None,
    )


@dataclass
class Section:
    phase: Phase
    title: str
    cards: list[Markup] = field(default_factory=list)
    expanded_by_default: bool = False

    @property
    def html(self) -> Markup:
        return Markup("").join(self.cards)


def _read(clinic: Clinic, visits: Q) -> list[CardData]:
    """Cards of the clinic's visits matching `visits`, in arrival order: two queries."""
    rows = (
        Visit.objects.filter(visits, clinic=clinic)
        .alias(
            asking_guest=FilteredRelation(
                "call_guests", condition=Q(call_guests__status=GuestStatus.ASKING.value)
            )
        )
        .order_by("arrived_at", "id")
        .values_list(*COLUMNS)
    )
    cards = {row[0]: CardData(row[0], Status(row[1]), *row[2:]) for row in rows}
    if cards:
        names = (
            CallParticipant.objects.filter(visit_id__in=list(cards))
            .order_by("joined_at", "id")
            .values_list("visit_id", "user_id", "user__first_name", "user__last_name", "user__username")
        )
        for visit_id, user_id, first, last, username in names:
            cards[visit_id].in_call.append(f"{first} {last}".strip() or username)
            cards[visit_id].in_call_ids.append(user_id)
    return list(cards.values())


def shown_fields(*, clinic: Clinic) -> list[tuple[str, str]]:
    """(key, label) of the intake answers the clinic shows on cards."""
    return list(IntakeField.objects.filter(clinic=clinic, show_on_card=True).values_list("key", "label"))


@functools.cache
def card_macro() -> Callable[..., Markup]:
    """The card template's macro, compiled once per process (looking the template up per card
    would check its file each time with auto_reload on)."""
    return engines["fragments"].env.get_template("visits/_card.html").module.card  # type: ignore[attr-defined]


class Renderer:
    """Renders cards of one clinic: the URLs and shown fields are worked out once per page.
    tests/visits/test_cards.py feeds markup into every field."""

    def __init__(self, clinic: Clinic) -> None:
        self.fields = shown_fields(clinic=clinic)
        # reverse() costs ~25 µs; a page of 1,000 cards with three buttons each would spend 75 ms
        # on it. The URLs differ only in the visit id and action (tests check them against reverse).
        self.prefix = reverse("visit_chat", args=[clinic.slug, 1]).removesuffix("1/chat/")
        self.macro = card_macro()

    def render(self, card: CardData) -> Markup:
        answers = card.answers
        return self.macro(
            c=card,
            label=STATUS_LABELS[card.status],
            sms_failed=card.last_sms_status in SmsMessage.FAILED,
            sms_stuck=card.last_sms_status == SmsMessage.STUCK,
            appointment=answers.get("appointment"),
            shown=[(label, value) for key, label in self.fields if (value := answers.get(key))],
            actions=actions(card.status),
            chat=chat_allowed(card.status),
            prefix=self.prefix,
            phone=phone_state(card),
            may_phone=may_switch_to_phone(card),
            guest=guest_line(card),
        )


@functools.cache
def actions(status: Status) -> tuple[tuple[str, str, str], ...]:
    """(event, label, style) of the buttons staff get on a card in `status` (constant text)."""
    events = allowed_events(status, Actor.STAFF)
    return tuple(
        (event.value, "Join call" if status in CALL_STATUSES and event is Event.CALL else label, style)
        for event, (label, style) in STAFF_ACTIONS.items()
        if event in events
    )


def dashboard_sections(*, clinic: Clinic) -> list[Section]:
    """The four phases with their rendered cards, in arrival order: three queries for any number
    of visits."""
    sections = {
        phase: Section(
            phase=phase, title=title, expanded_by_default=phase in (Phase.READY, Phase.IN_PROGRESS)
        )
        for phase, title in PHASE_TITLES.items()
    }
    renderer = Renderer(clinic)
    for card in _read(clinic, Q(status__in=list(OPEN_STATUSES))):
        sections[card.phase].cards.append(renderer.render(card))
    return list(sections.values())


def card_html(*, visit: Visit) -> str:
    """One visit's card as it is in the database now, or an empty string once the visit is closed:
    it leaves the board."""
    return card_state(visit=visit)[1]


def read_card(*, visit: Visit) -> CardData | None:
    """What one visit's card shows, as it is in the database now (two queries)."""
    found = _read(visit.clinic, Q(pk=visit.pk))
    return found[0] if found else None


def card_state(*, visit: Visit, card: CardData | None = None) -> tuple[Phase, str]:
    """The visit's phase and rendered card (`card` if already read): closed visits have none."""
    card = card or read_card(visit=visit)
    if card is None or card.phase is Phase.CLOSED:
        state = Phase.CLOSED, ""
    else:
        state = card.phase, Renderer(visit.clinic).render(card)
    if (kept := _kept.get()) is not None:
        kept[visit.pk] = state
    return state


_kept: ContextVar[dict[int, tuple[Phase, str]] | None] = ContextVar("kept_cards", default=None)


@contextmanager
def keeping_rendered() -> Iterator[dict[int, tuple[Phase, str]]]:
    """Inside the block, every card rendered (for the push to the dashboards) is kept by visit id,
    so a staff action can answer with the card the dashboards were sent instead of reading and
    rendering it again (three queries)."""
    kept: dict[int, tuple[Phase, str]] = {}
    token = _kept.set(kept)
    try:
        yield kept
    finally:
        _kept.reset(token)
