"""The phone consultation lifecycle as data: statuses, events, who may trigger each, and the
allowed transitions, in the same table shape as visits/lifecycle.py and requests/lifecycle.py.

Pure Python, no database: services ask `transition()` for the next status and record it under the
consultation's row lock. Every (status, event, actor) is tested, allowed or refused
(tests/consultations/test_lifecycle.py).

Open/Locked is a second, independent flag (whether the client may post messages and files): LOCK
and UNLOCK keep the status and are rows of the same table, so who may toggle it, and when, is
decided here too. Checks that depend on the clock (release only before the start) stay in the
services.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.db import models


class Status(models.TextChoices):
    AVAILABLE = "available", "Available"
    CLAIMED = "claimed", "Claimed"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


class Event(StrEnum):
    BOOK_ANY = "book_any"  # client: booked for "any expert" -> every expert may claim it
    BOOK_EXPERT = "book_expert"  # client: booked for a named expert -> claimed by them
    CLAIM = "claim"  # expert: takes an available consultation
    RELEASE = "release"  # expert: gives their claim back before the start
    START = "start"  # system: the first connected phone call (part 2, the phone bridge)
    COMPLETE = "complete"  # expert: the consultation is over
    CANCEL = "cancel"  # staff: with a reason the client is emailed
    CLIENT_CANCEL = "client_cancel"  # client: before it starts
    LOCK = "lock"  # staff: the client may no longer post
    UNLOCK = "unlock"  # staff: the client may post again


class Actor(StrEnum):
    CLIENT = "client"
    EXPERT = "expert"  # a provider of the clinic (the claim's holder, for claimed ones)
    STAFF = "staff"  # the expert, or a clinic admin
    SYSTEM = "system"


# Booking has no source status: a new consultation starts from NEW.
NEW = "new"


@dataclass(frozen=True)
class Transition:
    source: str
    event: Event
    target: Status | None  # None: the status stays (Open/Locked)
    actor: Actor


S, E, A = Status, Event, Actor
_NOT_ENDED = (S.AVAILABLE, S.CLAIMED, S.IN_PROGRESS)
_NOT_CANCELLED = (S.AVAILABLE, S.CLAIMED, S.IN_PROGRESS, S.COMPLETED)


def _rows() -> list[Transition]:
    rows = [
        Transition(NEW, E.BOOK_ANY, S.AVAILABLE, A.CLIENT),
        Transition(NEW, E.BOOK_EXPERT, S.CLAIMED, A.CLIENT),
        Transition(S.AVAILABLE, E.CLAIM, S.CLAIMED, A.EXPERT),
        Transition(S.CLAIMED, E.RELEASE, S.AVAILABLE, A.EXPERT),
        Transition(S.CLAIMED, E.START, S.IN_PROGRESS, A.SYSTEM),
        Transition(S.CLAIMED, E.COMPLETE, S.COMPLETED, A.EXPERT),
        Transition(S.IN_PROGRESS, E.COMPLETE, S.COMPLETED, A.EXPERT),
        Transition(S.AVAILABLE, E.CLIENT_CANCEL, S.CANCELLED, A.CLIENT),
        Transition(S.CLAIMED, E.CLIENT_CANCEL, S.CANCELLED, A.CLIENT),
    ]
    rows += [Transition(s, E.CANCEL, S.CANCELLED, A.STAFF) for s in _NOT_ENDED]
    rows += [Transition(s, E.LOCK, None, A.STAFF) for s in _NOT_CANCELLED]
    rows += [Transition(s, E.UNLOCK, None, A.STAFF) for s in _NOT_CANCELLED]
    return rows


TRANSITIONS: dict[tuple[str, Event], Transition] = {(t.source, t.event): t for t in _rows()}
ENDED_STATUSES = frozenset({S.COMPLETED, S.CANCELLED})
# Statuses that hold the expert's time (availability, dispatch conflicts, booking checks).
HOLDS_TIME = frozenset({S.AVAILABLE, S.CLAIMED, S.IN_PROGRESS, S.COMPLETED})
# The Upcoming Appointments list on the dashboard.
UPCOMING_STATUSES = frozenset({S.AVAILABLE, S.CLAIMED, S.IN_PROGRESS})
# A paid service's card is charged once the consultation has taken place (consultations/payments.py):
# never before (the booking page promises it), never once cancelled.
CHARGEABLE_STATUSES = frozenset({S.IN_PROGRESS, S.COMPLETED})


class TransitionRefused(Exception):
    """The event is not allowed from this status, or not for this actor. Changes nothing."""


MESSAGES = {
    S.CANCELLED: "This consultation was cancelled.",
    S.COMPLETED: "This consultation is already completed.",
}


def transition(status: str, event: str, actor: str) -> Status:
    """The status after `event` by `actor` from `status` (the same status for LOCK and UNLOCK)."""
    row = TRANSITIONS.get((status, Event(event)))
    if row is None or row.actor != actor:
        if status in MESSAGES:
            raise TransitionRefused(MESSAGES[Status(status)])
        # Booking's source, NEW, is no status: refusing a booking by the wrong actor says so too.
        state = "not booked yet" if status == NEW else Status(status).label.lower()
        raise TransitionRefused(f"A consultation that is {state} can't be {VERBS[Event(event)]}.")
    return row.target if row.target is not None else Status(status)


def allowed_events(status: str, actor: str) -> set[Event]:
    return {t.event for (source, _), t in TRANSITIONS.items() if source == status and t.actor == actor}


def client_may_post(status: str, is_open: bool) -> bool:
    """Messages and files from the client: while the room is Open, and never once cancelled."""
    return is_open and status != Status.CANCELLED


def staff_may_post(status: str) -> bool:
    return status != Status.CANCELLED


VERBS = {
    E.BOOK_ANY: "booked",
    E.BOOK_EXPERT: "booked",
    E.CLAIM: "claimed",
    E.RELEASE: "released",
    E.START: "started",
    E.COMPLETE: "completed",
    E.CANCEL: "cancelled",
    E.CLIENT_CANCEL: "cancelled",
    E.LOCK: "locked",
    E.UNLOCK: "opened",
}
