"""Chat between a visit's patient and the clinic's staff, and the clinic's broadcast message."""

from __future__ import annotations

from typing import cast

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from visits import publishing
from visits.lifecycle import Status, chat_allowed
from visits.models import ChatMessage, Visit
from visits.services import locked_visit
from waitingroom.models import Clinic

MAX_MESSAGE = 2000
# A CharField, so its max_length is set (the field type allows None).
MAX_BROADCAST = cast(int, Clinic._meta.get_field("broadcast_message").max_length)


class ChatRefused(Exception):
    pass


def _clean(body: str, limit: int) -> str:
    body = (body or "").strip()
    if not body:
        raise ChatRefused("Type a message first.")
    if len(body) > limit:
        raise ChatRefused(f"Messages are limited to {limit} characters.")
    return body


def chat_post(*, visit_id: int, body: str, user: User | None = None) -> ChatMessage:
    """A message from staff (`user` given) or from the patient (`user` None)."""
    body = _clean(body, MAX_MESSAGE)
    with transaction.atomic():
        visit = locked_visit(visit_id)
        if user is not None and not chat_allowed(visit.status):
            raise ChatRefused("Chat opens once the patient has passed the connection step.")
        if user is None and visit.is_closed:
            raise ChatRefused("This visit has ended.")
        message = ChatMessage.objects.create(
            visit=visit,
            sender=ChatMessage.Sender.STAFF if user else ChatMessage.Sender.PATIENT,
            user=user,
            body=body,
            sent_at=timezone.now(),
        )
        publishing.chat_posted(message)
        if user is None:
            Visit.objects.filter(pk=visit.pk).update(unread_by_staff=F("unread_by_staff") + 1)
            visit.refresh_from_db(fields=["unread_by_staff"])
            publishing.visit_changed(visit, before=Status(visit.status))
    return message


def chat_mark_read(*, visit_id: int) -> None:
    """Staff opened the chat: the card's unread count goes back to zero."""
    with transaction.atomic():
        visit = locked_visit(visit_id)
        if visit.unread_by_staff:
            visit.unread_by_staff = 0
            visit.save(update_fields=["unread_by_staff"])
            publishing.visit_changed(visit, before=Status(visit.status))


def clinic_broadcast_set(*, clinic: Clinic, message: str) -> None:
    """Shown to every waiting patient of the clinic (an empty message clears it)."""
    message = (message or "").strip()
    if len(message) > MAX_BROADCAST:
        raise ChatRefused(f"Broadcast messages are limited to {MAX_BROADCAST} characters.")
    with transaction.atomic():
        Clinic.objects.filter(pk=clinic.pk).update(broadcast_message=message)
        clinic.broadcast_message = message
        publishing.broadcast_changed(clinic_id=clinic.pk, message=message)
