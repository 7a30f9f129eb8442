"""The appointment request lifecycle as data: statuses, events, who may trigger each, and the
allowed transitions, in the same table shape as visits/lifecycle.py.

Pure Python, no database: services ask `transition()` for the next status and record it. A
request is decided once: the first accept, decline, expiry or withdrawal wins, and every later
attempt is refused (the service checks this under a row lock). Every (status, event, actor) is
tested, allowed or refused (tests/scheduling/requests/test_lifecycle.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.db import models


class RequestStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    EXPIRED = "expired", "Expired"
    WITHDRAWN = "withdrawn", "Withdrawn"


class Event(StrEnum):
    ACCEPT = "accept"  # staff: book one requested time (a Now request: this moment)
    DECLINE = "decline"  # staff: say no, with a response
    EXPIRE = "expire"  # system: nobody decided before the request's expiry
    WITHDRAW = "withdraw"  # requester: takes back a request nobody has decided yet


class Actor(StrEnum):
    REQUESTER = "requester"
    STAFF = "staff"
    SYSTEM = "system"


@dataclass(frozen=True)
class Transition:
    source: RequestStatus
    event: Event
    target: RequestStatus
    actor: Actor


S, E, A = RequestStatus, Event, Actor
TRANSITIONS: dict[tuple[RequestStatus, Event], Transition] = {
    (t.source, t.event): t
    for t in (
        Transition(S.PENDING, E.ACCEPT, S.ACCEPTED, A.STAFF),
        Transition(S.PENDING, E.DECLINE, S.DECLINED, A.STAFF),
        Transition(S.PENDING, E.EXPIRE, S.EXPIRED, A.SYSTEM),
        Transition(S.PENDING, E.WITHDRAW, S.WITHDRAWN, A.REQUESTER),
    )
}
DECIDED_STATUSES = frozenset(s for s in RequestStatus if not any(src == s for src, _ in TRANSITIONS))


class TransitionRefused(Exception):
    """The event is not allowed from this status, or not for this actor. Changes nothing."""


class AlreadyDecided(TransitionRefused):
    """The request is no longer pending (someone else decided it, or it expired)."""

    def __init__(self, status: str) -> None:
        super().__init__(f"This request was already {RequestStatus(status).label.lower()}.")
        self.status = status


def transition(status: str, event: str, actor: str) -> RequestStatus:
    """The status after `event` by `actor` from `status`: AlreadyDecided once the request has been
    decided, TransitionRefused for an actor the event is not for."""
    row = TRANSITIONS.get((RequestStatus(status), Event(event)))
    if row is None and RequestStatus(status) in DECIDED_STATUSES:
        raise AlreadyDecided(status)
    if row is None or row.actor != actor:
        raise TransitionRefused(f"A {Actor(actor)} can't {Event(event)} a request.")
    return row.target


def allowed_events(status: str, actor: str) -> set[Event]:
    return {t.event for (source, _), t in TRANSITIONS.items() if source == status and t.actor == actor}
