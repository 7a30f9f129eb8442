"""Consultation writes: the shared steps every service takes (lock the row, check the page's
version, apply the lifecycle, record the event) and the room's changes built on them.

Every service runs in one transaction, locks the consultation row (so two experts claiming at once
are serialised: the second sees the first's claim), writes a ConsultationEvent, and publishes only
after commit (consultations/publishing.py).
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import User

from consultations import lifecycle
from consultations.lifecycle import Actor, Event
from consultations.models import Consultation, ConsultationEvent


class ConsultationRefused(Exception):
    """The change is not possible as asked (the message says why, for the person who asked).
    Raised before anything is written, so it changes nothing."""


class StalePage(ConsultationRefused):
    """The page that asked was opened before a later change (a colleague's claim, say)."""

    def __init__(self) -> None:
        super().__init__("This consultation changed meanwhile: check it again, then make your change.")


def locked(consultation_id: int) -> Consultation:
    """The consultation under a row lock, with what services and emails read of it."""
    return (
        Consultation.objects.select_for_update(of=("self",))
        .select_related("clinic", "service", "expert", "requester")
        .get(pk=consultation_id)
    )


def check_version(consultation: Consultation, expected_version: int | None) -> None:
    """`expected_version` is what the acting page showed; None for actors without a page (tasks)."""
    if expected_version is not None and expected_version != consultation.version:
        raise StalePage()


def record(
    consultation: Consultation,
    event: Event,
    *,
    before: str,
    now: datetime,
    user: User | None = None,
    detail: str = "",
) -> ConsultationEvent:
    return ConsultationEvent.objects.create(
        consultation=consultation,
        event=event,
        from_status=before,
        to_status=consultation.status,
        user=user,
        at=now,
        detail=detail,
    )


def apply(
    consultation: Consultation,
    event: Event,
    actor: Actor,
    *,
    now: datetime,
    user: User | None = None,
    detail: str = "",
    fields: tuple[str, ...] = (),
) -> ConsultationEvent:
    """Move a locked consultation by the lifecycle table, save the status, the version and the
    caller's `fields` (set on the instance beforehand), and record the event. Raises
    ConsultationRefused, with the lifecycle's words, when the table does not allow it."""
    before = consultation.status
    try:
        consultation.status = lifecycle.transition(before, event, actor)
    except lifecycle.TransitionRefused as refused:
        raise ConsultationRefused(str(refused)) from None
    consultation.version += 1
    consultation.save(update_fields=["status", "version", *fields])
    return record(consultation, event, before=before, now=now, user=user, detail=detail)
