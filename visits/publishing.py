"""What a visit change tells whom. Payloads carry fragments rendered by the same code as the first
page load (visits/cards.py, the patient's status template); `waitingroom.realtime.publisher` sends
them after commit."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string

from visits import cards, selectors
from visits.lifecycle import Phase, Status, phase_of
from visits.models import ChatMessage, Visit
from waitingroom.realtime import groups, publisher


def render_patient_status(visit: Visit, *, staff_names: list[str] | None = None) -> str:
    state = selectors.patient_state(visit=visit, staff_names=staff_names)
    return render_to_string("visits/_patient_status.html", {"state": state})


def visit_changed(visit: Visit, *, before: Status | None, alert: bool = False) -> None:
    """Tell the clinic's dashboards, the patient's screen and (when the queue moved) every waiting
    patient of the clinic: one batch, sent after commit."""
    card = cards.read_card(visit=visit)  # its names serve the patient's screen too
    html = cards.card_state(visit=visit, card=card)[1]
    staff_names = card.in_call if card is not None else []
    batch: list[tuple[str, dict[str, Any]]] = [
        (
            groups.clinic_staff_group(visit.clinic_id),
            {
                "type": "visit",
                "visit_id": visit.id,
                "status": visit.status,
                "phase": visit.phase.value,
                "html": html,
                "alert": alert,
            },
        ),
        (
            groups.visit_group(visit.id),
            {
                "type": "visit",
                "status": visit.status,
                "html": render_patient_status(visit, staff_names=staff_names),
            },
        ),
    ]
    was_queued = before is not None and phase_of(before) is Phase.READY
    is_queued = visit.phase is Phase.READY
    if was_queued != is_queued:
        batch.append(
            (
                groups.clinic_patients_group(visit.clinic_id),
                {
                    "type": "queue",
                    "visit_id": visit.id,
                    "arrived": visit.arrived_at.timestamp(),
                    "change": 1 if is_queued else -1,
                },
            )
        )
    publisher.publish_many(batch)


def chat_posted(message: ChatMessage) -> None:
    html = render_to_string("visits/_chat_message.html", {"message": message})
    payload = {"type": "chat", "visit_id": message.visit_id, "html": html, "sender": message.sender}
    publisher.publish_many(
        [
            (groups.visit_group(message.visit_id), payload),
            (groups.clinic_staff_group(message.visit.clinic_id), payload),
        ]
    )


def broadcast_changed(*, clinic_id: int, message: str) -> None:
    payload = {"type": "broadcast", "message": message}
    publisher.publish_many(
        [
            (groups.clinic_patients_group(clinic_id), payload),
            (groups.clinic_staff_group(clinic_id), payload),
        ]
    )
