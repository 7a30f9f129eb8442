"""What a visit change tells whom. Payloads carry fragments rendered by the same code as the first
page load (visits/cards.py, the patient's status template); `waitingroom.realtime.publisher` sends
them after commit."""

from __future__ import annotations

import copy
from functools import partial
from typing import Any

from django.template.loader import render_to_string

from visits import cards, selectors
from visits.lifecycle import Phase, Status, phase_of
from visits.models import APPOINTMENT_ANSWER, CallGuest, ChatMessage, Visit
from waitingroom.realtime import groups, messages, publisher


def render_patient_status(visit: Visit, *, staff_names: list[tuple[str, str]] | None = None) -> str:
    state = selectors.patient_state(visit=visit, staff_names=staff_names)
    return render_to_string("visits/_patient_status.html", {"state": state})


def visit_changed(visit: Visit, *, before: Status | None, alert: bool = False) -> None:
    """Tell the clinic's dashboards, the patient's screen, (when the queue moved) every waiting
    patient of the clinic and (for a meeting's guest) the meetings overviews: one batch, built and
    sent after commit, so that the card and the patient's status are read and rendered once the
    visit's row lock is released (waitingroom/realtime/publisher.py)."""
    was_queued = before is not None and phase_of(before) is Phase.READY
    is_queued = visit.phase is Phase.READY
    # A copy: the service may change the instance again before its transaction commits, and this
    # change's push shows this change's status.
    publisher.publish_built(
        partial(_visit_batch, copy.copy(visit), queue_change=int(is_queued) - int(was_queued), alert=alert)
    )


def card_changed(visit: Visit) -> None:
    """Only what the visit's card shows changed (a call guest asks to join or stops asking): the
    clinic's dashboards get the card, read and rendered after commit; the patient's screen, which
    shows nothing of it, is not sent anything."""
    publisher.publish_built(lambda: [_dashboard_leg(visit, cards.read_card(visit=visit), alert=False)])


def _dashboard_leg(visit: Visit, card: cards.CardData | None, *, alert: bool) -> tuple[str, dict[str, Any]]:
    phase, html = cards.card_state(visit=visit, card=card)
    # Read after commit, the card may already show a later change: its status and phase go with it.
    status = card.status if card is not None else visit.status
    return (
        groups.clinic_staff_group(visit.clinic_id),
        {
            "type": messages.VISIT.name,
            "visit_id": visit.id,
            "status": status,
            "phase": phase.value,
            "html": html,
            "alert": alert,
        },
    )


def _visit_batch(visit: Visit, *, queue_change: int, alert: bool) -> list[tuple[str, dict]]:
    card = cards.read_card(visit=visit)  # its names serve the patient's screen too
    batch: list[tuple[str, dict[str, Any]]] = [
        _dashboard_leg(visit, card, alert=alert),
        (
            groups.visit_group(visit.id),
            {
                "type": messages.VISIT.name,
                "status": visit.status,
                "html": render_patient_status(visit, staff_names=cards.call_peers(card)),
            },
        ),
    ]
    if queue_change:
        batch.append(
            (
                groups.clinic_patients_group(visit.clinic_id),
                {
                    "type": messages.QUEUE.name,
                    "visit_id": visit.id,
                    "arrived": visit.arrived_at.timestamp(),
                    "change": queue_change,
                },
            )
        )
    if card is not None and APPOINTMENT_ANSWER in card.answers:
        # A meeting's guest: the meetings overview shows their visit's progress (a hint; it
        # re-fetches its rows). Other visits are not its business.
        batch.append(
            (
                groups.clinic_meetings_group(visit.clinic_id),
                {"type": messages.VISIT.name, "visit_id": visit.id},
            )
        )
    return batch


def chat_posted(message: ChatMessage) -> None:
    """The visit's screen and the clinic's dashboards get the message, rendered after commit."""
    publisher.publish_built(partial(_chat_batch, message))


def _chat_batch(message: ChatMessage) -> list[tuple[str, dict]]:
    html = render_to_string("visits/_chat_message.html", {"message": message})
    payload = {
        "type": messages.CHAT.name,
        "visit_id": message.visit_id,
        "html": html,
        "sender": message.sender,
    }
    return [
        (groups.visit_group(message.visit_id), payload),
        (groups.clinic_staff_group(message.visit.clinic_id), payload),
    ]


def broadcast_changed(*, clinic_id: int, message: str) -> None:
    payload = {"type": messages.BROADCAST.name, "message": message}
    publisher.publish_many(
        [
            (groups.clinic_patients_group(clinic_id), payload),
            (groups.clinic_staff_group(clinic_id), payload),
        ]
    )


def link_reissued(*, visit_id: int) -> None:
    """The visit's link was re-issued: its sockets re-check their token after commit, and those
    opened with the old one close (visits/consumers.py, PatientConsumer)."""
    publisher.publish(groups.visit_group(visit_id), {"type": messages.LINK_REISSUED.name})


def call_guest_changed(guest: CallGuest, *, announce: str) -> None:
    """A call guest changed (invited, asking, admitted, gone): the staff in the visit's call get
    the panel's guest part (and the words to announce), the guest's screen its new state; built
    after commit (`guest` is the caller's copy, taken at the change)."""
    publisher.publish_built(partial(_call_guest_batch, guest, announce=announce))


def _call_guest_batch(guest: CallGuest, *, announce: str) -> list[tuple[str, dict]]:
    visit = guest.visit
    return [
        (
            groups.call_staff_group(visit.id),
            {"type": messages.CALL_GUEST.name, "html": render_guest_panel(visit), "announce": announce},
        ),
        (
            groups.call_guest_group(guest.id),
            {"type": messages.GUEST.name, "status": guest.status, "html": render_guest_status(guest)},
        ),
    ]


def render_guest_panel(visit: Visit) -> str:
    return render_to_string("visits/_call_guest.html", {"panel": selectors.guest_panel(visit=visit)})


def render_guest_status(guest: CallGuest) -> str:
    return render_to_string("visits/_guest_status.html", {"state": selectors.guest_state(guest=guest)})
