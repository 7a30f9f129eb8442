"""Consultation writes: the shared steps every service takes (lock the row, check the page's
version, apply the lifecycle, record the event) and the room's changes built on them.

Every service runs in one transaction, locks the consultation row (so two experts claiming at once
are serialised: the second sees the first's claim), writes a ConsultationEvent, and publishes only
after commit (consultations/publishing.py).
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from consultations import access, emails, lifecycle, publishing
from consultations.lifecycle import Actor, Event
from consultations.models import (
    Consultation,
    ConsultationEvent,
    ConsultationMessage,
    ConsultationNote,
    Sender,
    new_nonce,
)
from consultations.publishing import Part
from scheduling.availability import person


class ConsultationRefused(Exception):
    """The change is not possible as asked (the message says why, for the person who asked).
    Raised before anything is written, so it changes nothing."""


class RoomClosed(ConsultationRefused):
    """The client may not post: the room is Locked, or the consultation was cancelled."""


class StalePage(ConsultationRefused):
    """The page that asked was opened before a later change (a colleague's claim, say)."""

    def __init__(self) -> None:
        super().__init__("This consultation changed meanwhile: check it again, then make your change.")


def locked(consultation_id: int) -> Consultation:
    """The consultation under a row lock, with what services and emails read of it.

    The lock is taken first and the row read after it: a statement that waited for the lock gets
    the locked row's new version from PostgreSQL, but rows of the tables it joined as they were
    when it started (the second of two claims saw `expert_id` set and `expert` None). Read after
    the lock is held, everything is as committed."""
    Consultation.objects.select_for_update().filter(pk=consultation_id).values_list("pk").get()
    return Consultation.objects.select_related("clinic", "service", "expert", "requester").get(
        pk=consultation_id
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


# --- The room's changes --------------------------------------------------------------------------

MAX_MESSAGE = 2000
MAX_NOTE = 10000
MAX_REASON = 1000


def _role(consultation: Consultation, user: User) -> str | None:
    return access.room_role(user=user, clinic_id=consultation.clinic_id)


def _refuse_unless_actor(consultation: Consultation, user: User, event: Event) -> Actor:
    """The actor `user` is for `event`, else ConsultationRefused: the lifecycle's words when the
    status no longer allows it (a claim of a cancelled consultation says it was cancelled), else
    why their role may not."""
    role = _role(consultation, user)
    if role is None:
        raise ConsultationRefused("You can't change this consultation.")
    actor = access.staff_actor(role=role, user_id=user.pk, consultation=consultation, event=event)
    if actor is None:
        if consultation.status in lifecycle.ENDED_STATUSES:
            raise ConsultationRefused(lifecycle.MESSAGES[lifecycle.Status(consultation.status)])
        raise ConsultationRefused(
            "Only the consultation's expert can do that."
            if event in (Event.RELEASE, Event.COMPLETE, Event.CLAIM)
            else "Only the consultation's expert or a clinic admin can do that."
        )
    try:
        lifecycle.transition(consultation.status, event, actor)
    except lifecycle.TransitionRefused as refused:
        raise ConsultationRefused(str(refused)) from None
    return actor


def _changed(consultation: Consultation) -> None:
    """What every lifecycle change tells: both sides of the room re-fetch the status, and the
    message box, the attach form, the call part (Start Phone Call) and the payment part (Charge),
    which open and close with it; every dashboard of the clinic its panel."""
    publishing.room_changed(
        consultation, Part.STATUS, Part.MESSAGES, Part.ATTACHMENTS, Part.CALL, Part.PAYMENT
    )
    publishing.upcoming_changed(consultation.clinic_id)


def consultation_claim(*, consultation_id: int, by: User, expected_version: int | None) -> Consultation:
    """An expert takes an Available consultation. Two experts at once are serialised by the row
    lock: the second is told who was first."""
    now = timezone.now()
    with transaction.atomic():
        consultation = locked(consultation_id)
        if (
            consultation.expert_id is not None
            and consultation.expert_id != by.pk
            and not consultation.is_ended
        ):
            raise ConsultationRefused(f"{person(consultation.expert)} claimed this consultation first.")
        actor = _refuse_unless_actor(consultation, by, Event.CLAIM)
        check_version(consultation, expected_version)
        consultation.expert, consultation.claimed_at = by, now
        apply(consultation, Event.CLAIM, actor, now=now, user=by, fields=("expert", "claimed_at"))
        _changed(consultation)
    return consultation


def consultation_release(*, consultation_id: int, by: User, expected_version: int | None) -> Consultation:
    """The expert gives their claim back (before the start only): Available to every expert again."""
    now = timezone.now()
    with transaction.atomic():
        consultation = locked(consultation_id)
        actor = _refuse_unless_actor(consultation, by, Event.RELEASE)
        check_version(consultation, expected_version)
        if consultation.has_started(now):
            raise ConsultationRefused("This consultation has started: it can no longer be released.")
        consultation.expert, consultation.claimed_at = None, None
        apply(consultation, Event.RELEASE, actor, now=now, user=by, fields=("expert", "claimed_at"))
        _changed(consultation)
    return consultation


def consultation_cancel(
    *, consultation_id: int, by: User, reason: str, expected_version: int | None
) -> Consultation:
    """Staff cancel with a reason; the client is emailed it (and a link to book again) once the
    cancellation is committed."""
    reason = (reason or "").strip()
    if not reason:
        raise ConsultationRefused("Give the client a reason for the cancellation.")
    if len(reason) > MAX_REASON:
        raise ConsultationRefused(f"The reason is limited to {MAX_REASON} characters.")
    now = timezone.now()
    with transaction.atomic():
        consultation = locked(consultation_id)
        actor = _refuse_unless_actor(consultation, by, Event.CANCEL)
        check_version(consultation, expected_version)
        consultation.cancelled_at, consultation.cancel_reason = now, reason
        apply(
            consultation,
            Event.CANCEL,
            actor,
            now=now,
            user=by,
            detail=reason,
            fields=("cancelled_at", "cancel_reason"),
        )
        emails.cancelled(consultation, reason)  # stored now, sent after commit (waitingroom/outbox)
        _changed(consultation)
    return consultation


def consultation_start(*, consultation_id: int) -> Consultation:
    """The system moves a claimed consultation to in progress: the first connected phone call
    does it (the phone bridge). Starting one that is already in progress changes nothing."""
    now = timezone.now()
    with transaction.atomic():
        consultation = locked(consultation_id)
        if consultation.status == lifecycle.Status.IN_PROGRESS:
            return consultation
        consultation.started_at = now
        apply(consultation, Event.START, Actor.SYSTEM, now=now, fields=("started_at",))
        _changed(consultation)
    return consultation


def consultation_complete(*, consultation_id: int, by: User, expected_version: int | None) -> Consultation:
    """The expert marks the consultation completed (after the call). The room stays Open: the
    client may go on messaging until staff lock it."""
    now = timezone.now()
    with transaction.atomic():
        consultation = locked(consultation_id)
        actor = _refuse_unless_actor(consultation, by, Event.COMPLETE)
        check_version(consultation, expected_version)
        consultation.completed_at = now
        apply(consultation, Event.COMPLETE, actor, now=now, user=by, fields=("completed_at",))
        _changed(consultation)
    return consultation


def consultation_set_open(
    *, consultation_id: int, by: User, is_open: bool, expected_version: int | None
) -> Consultation:
    """Open (the client may post messages and files) or Locked (they may not)."""
    event = Event.UNLOCK if is_open else Event.LOCK
    now = timezone.now()
    with transaction.atomic():
        consultation = locked(consultation_id)
        actor = _refuse_unless_actor(consultation, by, event)
        check_version(consultation, expected_version)
        if consultation.is_open == is_open:
            raise ConsultationRefused(f"This consultation is already {'open' if is_open else 'locked'}.")
        consultation.is_open = is_open
        apply(consultation, event, actor, now=now, user=by, fields=("is_open",))
        _changed(consultation)
    return consultation


def message_post(*, consultation_id: int, body: str, by: User | None = None) -> ConsultationMessage:
    """A message from the client (`by` None: the view checked their link) or from staff of the
    clinic (any room role: CSRs message too). Messages do not bump the page version: a message
    must not make the expert's next button press stale."""
    body = (body or "").strip()
    if not body:
        raise ConsultationRefused("Type a message first.")
    if len(body) > MAX_MESSAGE:
        raise ConsultationRefused(f"Messages are limited to {MAX_MESSAGE} characters.")
    with transaction.atomic():
        consultation = locked(consultation_id)
        if by is None:
            if not lifecycle.client_may_post(consultation.status, consultation.is_open):
                raise RoomClosed(closed_reason(consultation))
        else:
            if _role(consultation, by) is None:
                raise ConsultationRefused("You can't message in this consultation.")
            if not lifecycle.staff_may_post(consultation.status):
                raise ConsultationRefused(lifecycle.MESSAGES[lifecycle.Status.CANCELLED])
        message = ConsultationMessage.objects.create(
            consultation=consultation,
            sender=Sender.STAFF if by else Sender.CLIENT,
            user=by,
            body=body,
            sent_at=timezone.now(),
        )
        counter = "unread_by_client" if by else "unread_by_staff"
        Consultation.objects.filter(pk=consultation.pk).update(**{counter: F(counter) + 1})
        publishing.room_changed(consultation, Part.MESSAGES)
        if by is None:
            publishing.upcoming_changed(consultation.clinic_id)  # the Upcoming list's unread count
    return message


def closed_reason(consultation: Consultation) -> str:
    """What the client's message box says when they may not post."""
    if consultation.status == lifecycle.Status.CANCELLED:
        return lifecycle.MESSAGES[lifecycle.Status.CANCELLED]
    return "This consultation is closed for messages."


def messages_mark_read(*, consultation_id: int, by_staff: bool) -> bool:
    """One side read the messages: its unread count goes back to zero. True if it was not zero
    (staff reading changes the dashboards' Upcoming list)."""
    counter = "unread_by_staff" if by_staff else "unread_by_client"
    with transaction.atomic():
        changed = Consultation.objects.filter(pk=consultation_id, **{f"{counter}__gt": 0}).update(
            **{counter: 0}
        )
        if changed and by_staff:
            clinic_id = Consultation.objects.values_list("clinic_id", flat=True).get(pk=consultation_id)
            publishing.upcoming_changed(clinic_id)
    return bool(changed)


def note_save(
    *, consultation_id: int, by: User, body: str, expected_note_version: int | None
) -> ConsultationNote:
    """A new version of the expert's note (every version is kept; the newest is the note the
    client reads). `expected_note_version` is the version the form showed (0: none yet): a save
    over a version the writer never saw is refused instead of silently replacing it."""
    body = (body or "").strip()
    if not body:
        raise ConsultationRefused("Write the note first.")
    if len(body) > MAX_NOTE:
        raise ConsultationRefused(f"The note is limited to {MAX_NOTE} characters.")
    with transaction.atomic():
        consultation = locked(consultation_id)
        role = _role(consultation, by)
        if not access.may_write_note(role=role, user_id=by.pk, consultation=consultation):
            raise ConsultationRefused(
                lifecycle.MESSAGES[lifecycle.Status.CANCELLED]
                if consultation.status == lifecycle.Status.CANCELLED
                else "Only the consultation's expert writes its note."
            )
        latest = (
            ConsultationNote.objects.filter(consultation=consultation)
            .order_by("-version")
            .values_list("version", flat=True)
            .first()
            or 0
        )
        if expected_note_version is not None and expected_note_version != latest:
            raise ConsultationRefused("The note was changed meanwhile: check it again, then save yours.")
        note = ConsultationNote.objects.create(
            consultation=consultation, version=latest + 1, body=body, author=by, written_at=timezone.now()
        )
        publishing.room_changed(consultation, Part.NOTE)
    return note


def client_link_reissue(*, consultation_id: int) -> str:
    """A new link for the client (the old one stops working, its open pages close); returns the
    new token."""
    with transaction.atomic():
        consultation = locked(consultation_id)
        consultation.access_nonce = new_nonce()
        consultation.save(update_fields=["access_nonce"])
        publishing.link_reissued(consultation)
    return consultation.client_token
