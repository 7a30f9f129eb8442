"""The appointment request's states and events, as data (pure Python, no database).

A request is decided once: the first accept, decline, expiry or withdrawal wins, and every
later attempt is refused (the service checks this under a row lock)."""

from __future__ import annotations

from django.db import models


class RequestStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    EXPIRED = "expired", "Expired"
    WITHDRAWN = "withdrawn", "Withdrawn"


class AlreadyDecided(Exception):
    """The request is no longer pending (someone else decided it, or it expired)."""

    def __init__(self, status: str) -> None:
        super().__init__(f"This request was already {RequestStatus(status).label.lower()}.")
        self.status = status


# event -> (from status, to status)
TRANSITIONS: dict[str, tuple[RequestStatus, RequestStatus]] = {
    "accept": (RequestStatus.PENDING, RequestStatus.ACCEPTED),
    "decline": (RequestStatus.PENDING, RequestStatus.DECLINED),
    "expire": (RequestStatus.PENDING, RequestStatus.EXPIRED),
    "withdraw": (RequestStatus.PENDING, RequestStatus.WITHDRAWN),
}


def target(status: str, event: str) -> RequestStatus:
    """The status `event` leads to from `status`, or AlreadyDecided."""
    source, to = TRANSITIONS[event]
    if status != source:
        raise AlreadyDecided(status)
    return to
