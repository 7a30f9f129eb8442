"""The staff dashboard's visit cards: read in two queries for any number of visits, rendered in
Python.

One card is rendered for the first page load, the board re-fetch, the action's JSON answer and
the push to every dashboard, always by `render()`, so they cannot drift apart. Cards are built with
f-strings and `escape` rather than a template because a clinic's page holds hundreds of them: the template
cost about 0.26 ms a card (variable lookups, a `{% url %}` and a CSRF token per button), 261 ms
for 1,000 visits, while this costs a few hundredths of that (docs/performance.md, scenario 6).
Cards carry no CSRF token: pushed cards are rendered without a request, so dashboard.js posts
every form with the page's token in a header.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from html import escape

from django.db.models import Q
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

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
)
from visits.models import CallParticipant, IntakeField, Visit
from waitingroom.models import Clinic
from waitingroom.outbox.models import SmsMessage

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

# Badges without variable parts (constant markup, safe as written).
BADGE_LOST = mark_safe('<span class="badge badge-lost" data-connection-lost>connection lost</span>')
BADGE_NO_RESPONSE = mark_safe('<span class="badge badge-lost" data-no-response>no response</span>')
BADGE_SMS_FAILED = mark_safe('<span class="badge badge-lost" data-sms-failed>SMS failed</span>')
BADGE_VERIFIED = mark_safe('<span class="badge" title="Mobile number verified">📱</span>')
BADGE_CALL_FAILED = mark_safe('<span class="badge badge-lost" data-call-failed>call failed</span>')

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
    in_call: list[str] = field(default_factory=list)

    @property
    def phase(self) -> Phase:
        return phase_of(self.status)

    @property
    def since(self) -> datetime:
        waiting_phase = self.phase in (Phase.GETTING_READY, Phase.READY)
        return self.arrived_at if waiting_phase else self.status_changed_at


@dataclass
class Section:
    phase: Phase
    title: str
    cards: list[SafeString] = field(default_factory=list)
    expanded_by_default: bool = False

    @property
    def html(self) -> SafeString:
        return mark_safe("".join(self.cards))  # noqa: S308 - a join of rendered (escaped) cards


def _read(clinic: Clinic, visits: Q) -> list[CardData]:
    """Cards of the clinic's visits matching `visits`, in arrival order: two queries."""
    rows = Visit.objects.filter(visits, clinic=clinic).order_by("arrived_at", "id").values_list(*COLUMNS)
    cards = {row[0]: CardData(row[0], Status(row[1]), *row[2:]) for row in rows}
    if cards:
        names = (
            CallParticipant.objects.filter(visit_id__in=list(cards))
            .order_by("joined_at", "id")
            .values_list("visit_id", "user__first_name", "user__last_name", "user__username")
        )
        for visit_id, first, last, username in names:
            cards[visit_id].in_call.append(f"{first} {last}".strip() or username)
    return list(cards.values())


def shown_fields(*, clinic: Clinic) -> list[tuple[str, str]]:
    """(key, label) of the intake answers the clinic shows on cards."""
    return list(IntakeField.objects.filter(clinic=clinic, show_on_card=True).values_list("key", "label"))


class Renderer:
    """Renders cards of one clinic: the URLs and shown fields are worked out once per page.

    Every variable part goes through `escape` (the standard library's html.escape, which Django's
    own `escape` wraps: the same output without the lazy-string checks that made format_html the
    largest cost of a 1,000-card page). tests/visits/test_cards.py feeds markup into every field.
    """

    def __init__(self, clinic: Clinic) -> None:
        self.fields = shown_fields(clinic=clinic)
        # reverse() costs ~25 µs; a page of 1,000 cards with three buttons each would spend 75 ms
        # on it. The URLs differ only in the visit id and action (tests check them against reverse).
        self.prefix = escape(reverse("visit_chat", args=[clinic.slug, 1]).removesuffix("1/chat/"))

    def render(self, card: CardData) -> SafeString:
        status, vid, prefix = card.status, card.id, self.prefix
        answers = card.answers
        parts = [
            f'<article class="visit-card status-{status}" id="visit-{vid}" data-visit="{vid}" '
            f'data-status="{status}" data-phase="{card.phase}" data-arrived="{int(card.arrived_at.timestamp())}" '
            f'data-since="{int(card.since.timestamp())}"><header>'
            f'<strong class="patient-name">{escape(card.patient_name)}</strong> '
            f'<span class="badge badge-{status}" data-badge>{STATUS_LABELS[status]}</span>'
        ]
        parts += [badge for on, badge in self._badges(card) if on]
        if card.unread_by_staff:
            parts.append(
                f' <span class="badge badge-unread" data-unread title="Unread messages">'
                f"{int(card.unread_by_staff)} unread</span>"
            )
        parts.append('<time class="elapsed" data-elapsed>0:00</time></header>')
        if appointment := answers.get("appointment"):
            parts.append(
                f'<p class="appointment" data-appointment>Appointment: {escape(str(appointment))}</p>'
            )
        shown = [(label, value) for key, label in self.fields if (value := answers.get(key))]
        if shown:
            parts.append('<dl class="answers">')
            parts += [f"<dt>{escape(label)}</dt><dd>{escape(str(value))}</dd>" for label, value in shown]
            parts.append("</dl>")
        if card.in_call:
            parts.append(f'<p class="in-call" data-in-call>In call: {escape(", ".join(card.in_call))}</p>')
        parts.append('<footer class="actions">')
        parts += [
            f'<form method="post" action="{prefix}{vid}/{event}/" data-action="{event}">'
            f'<button class="{style}">{label}</button></form>'
            for event, label, style in actions(status)
        ]
        if chat_allowed(status):
            parts.append(f'<button type="button" data-chat-open="{prefix}{vid}/chat/">Chat</button>')
        parts.append("</footer></article>")
        return mark_safe("".join(parts))  # noqa: S308 - every variable part is escaped above

    @staticmethod
    def _badges(card: CardData) -> tuple[tuple[bool, str], ...]:
        return (
            (card.connection_lost, BADGE_LOST),
            (card.recall_no_response, BADGE_NO_RESPONSE),
            (card.last_sms_status in SmsMessage.FAILED, BADGE_SMS_FAILED),
            (bool(card.verified_phone), BADGE_VERIFIED),
            (card.call_failed_at is not None, BADGE_CALL_FAILED),
        )


@functools.cache
def actions(status: Status) -> tuple[tuple[str, str, str], ...]:
    """(event, label, style) of the buttons staff get on a card in `status` (constant text)."""
    events = allowed_events(status, Actor.STAFF)
    in_call = status in (Status.IN_CALL, Status.AWAY)
    return tuple(
        (event.value, "Join call" if in_call and event is Event.CALL else label, style)
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
