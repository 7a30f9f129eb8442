"""A third participant in a visit's call (issue 20): a staff member in the call invites an
interpreter, family member or carer by SMS or email; the guest opens a single-use link, checks
their camera and asks to join; a staff member in the call admits or declines them; they leave or
are removed; the call's end ends their part. Every write here locks the visit row, then the
guest's (always in that order), asks visits/guest_lifecycle.py for the next status, records a
VisitEvent naming the guest (from_status == to_status: wait-time figures don't see it) and
publishes after commit (visits/publishing.py)."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from visits import publishing
from visits.guest_lifecycle import (
    INVITED_EVENT,
    LIVE_STATUSES,
    VISIT_EVENTS,
    GuestActor,
    GuestEvent,
    GuestStatus,
    GuestTransitionRefused,
    transition,
)
from visits.lifecycle import IN_PROGRESS_STATUSES, Status
from visits.models import CallGuest, CallParticipant, Visit, VisitEvent, hash_token, new_token
from visits.phone_codes import VerificationError, normalise_phone
from waitingroom.outbox.queueing import email_queue, sms_queue
from waitingroom.outbox.rendering import render_email
from waitingroom.sms_limit import sms_allowed
from waitingroom.validators import validate_single_line

MAX_NAME = 80
RELATIONS = {choice.value: choice for choice in CallGuest.Relation}


class GuestRefused(Exception):
    """The action cannot be done; the message says why, in plain words. Nothing changed."""


class NotInThisCall(GuestRefused):
    """Only staff in the visit's call may invite, admit, decline, remove or revoke."""


class GuestNotFound(Exception):
    """No guest of this link for this browser: made up, expired, revoked, used up by another
    browser, or ended. The page says only that the link is not valid (waitingroom/errors.py)."""


def invite_minutes() -> int:
    return settings.CALL_GUEST_INVITE_MINUTES


# --- Input -----------------------------------------------------------------------------------------


def clean_invite(*, name: str, relation: str, contact: str, region: str) -> tuple[str, str, str, str]:
    """(name, relation, phone, email) from what the staff member typed, or GuestRefused saying
    what is wrong. `contact` is a mobile number or an email address."""
    name = (name or "").strip()
    if not name:
        raise GuestRefused("Enter the guest's name.")
    if len(name) > MAX_NAME:
        raise GuestRefused(f"The guest's name can be at most {MAX_NAME} characters.")
    try:
        validate_single_line(name)
    except ValidationError as bad:
        raise GuestRefused("The guest's name can't contain line breaks or control characters.") from bad
    if relation not in RELATIONS:
        raise GuestRefused("Choose who the guest is: interpreter, family member, carer or other.")
    contact = (contact or "").strip()
    if not contact:
        raise GuestRefused("Enter the guest's mobile number or email address.")
    if "@" in contact:
        try:
            validate_single_line(contact)  # a quoted local part may hold control characters
            validate_email(contact)
        except ValidationError as bad:
            raise GuestRefused("Enter a valid email address.") from bad
        return name, relation, "", contact
    try:
        phone = normalise_phone(contact, region=region)
    except VerificationError as bad:
        raise GuestRefused("Enter a valid mobile number or email address.") from bad
    return name, relation, phone, ""


# --- Locks and bookkeeping -----------------------------------------------------------------------


def _locked_visit(visit_id: int) -> Visit:
    return Visit.objects.select_for_update(of=("self",)).select_related("clinic").get(pk=visit_id)


def _locked_guest(visit: Visit, guest_id: int) -> CallGuest:
    """The visit's guest row, locked (the visit row is locked first, always)."""
    guest = CallGuest.objects.select_for_update().filter(pk=guest_id, visit=visit).first()
    if guest is None:
        raise GuestRefused("No such guest in this call.")
    guest.visit = visit  # the publishing builders read the visit and its clinic from here
    return guest


def _require_participant(visit: Visit, user: User) -> None:
    if not CallParticipant.objects.filter(visit=visit, user=user).exists():
        raise NotInThisCall("Only staff in this call can do that. Join the call first.")


def _record(
    visit: Visit, guest: CallGuest, event: str, *, now: datetime, user: User | None, actor: str
) -> None:
    VisitEvent.objects.create(
        visit=visit,
        event=event,
        from_status=visit.status,
        to_status=visit.status,
        actor=str(actor),  # guest, staff or system
        user=user,
        at=now,
        guest=guest,
    )


def _apply(
    visit: Visit,
    guest: CallGuest,
    event: GuestEvent,
    actor: GuestActor,
    *,
    now: datetime,
    user: User | None,
    publish_visit: bool = True,
) -> GuestStatus:
    """Move a locked guest through one transition with its event row; returns the status it left."""
    source = GuestStatus(guest.status)
    target = transition(source, event, actor)
    guest.status = target
    fields = ["status"]
    if target is GuestStatus.ADMITTED:
        guest.admitted_at = now
        fields.append("admitted_at")
    if target not in LIVE_STATUSES:
        guest.ended_at = now
        fields.append("ended_at")
    guest.save(update_fields=fields)
    if GuestStatus.ADMITTED in (source, target):
        visit.call_guest = guest if target is GuestStatus.ADMITTED else None
        visit.save(update_fields=["call_guest"])
    _record(visit, guest, VISIT_EVENTS[event], now=now, user=user, actor=actor)
    publishing.call_guest_changed(copy.copy(guest), announce=_announcement(guest, event))
    if publish_visit and GuestStatus.ADMITTED in (source, target):
        # The patient's screen names who is in the call (the guest's video caption), and the
        # dashboards' card says "Alex (interpreter) in the call".
        publishing.visit_changed(visit, before=Status(visit.status))
    elif publish_visit and GuestStatus.ASKING in (source, target):
        # The dashboards' card says who is asking to join (cards.guest_line); the patient's
        # screen shows nothing of it.
        publishing.card_changed(copy.copy(visit))
    return source


def _announcement(guest: CallGuest, event: GuestEvent) -> str:
    """What the staff call panel says aloud about this change (assertive: someone is waiting)."""
    return {
        GuestEvent.ASK: f"{guest.label} is asking to join",
        GuestEvent.LEAVE: f"{guest.label} left the call",
        GuestEvent.EXPIRE: f"The invitation to {guest.name} has expired",
    }.get(event, "")


def _expire_if_due(visit: Visit, guest: CallGuest, now: datetime) -> bool:
    """An unused invitation past its time expires, under the visit's and the guest's row locks: the
    status is read under them, so of the sweep and a look at the link at once only one expires it
    (one VisitEvent, one push). True if this call did."""
    if guest.status == GuestStatus.INVITED and now >= guest.expires_at:
        _apply(visit, guest, GuestEvent.EXPIRE, GuestActor.SYSTEM, now=now, user=None)
        return True
    return False


# --- Staff ------------------------------------------------------------------------------------------


def guest_invite(
    *, visit_id: int, user: User, name: str, relation: str, contact: str
) -> tuple[CallGuest, str]:
    """Invite a guest into the visit's call; the link goes by SMS (within the clinic's daily SMS
    limit) or email. Returns the guest and the link's raw token (only its hash is stored).
    GuestRefused says why not (bad input, not in the call, a guest already invited, the SMS limit)."""
    now = timezone.now()
    refusal: GuestRefused | None = None
    with transaction.atomic():
        visit = _locked_visit(visit_id)
        if visit.status not in IN_PROGRESS_STATUSES:
            raise GuestRefused("A guest can only be invited into a call in progress.")
        _require_participant(visit, user)
        name, relation, phone, email = clean_invite(
            name=name, relation=relation, contact=contact, region=visit.clinic.default_phone_region
        )
        live = CallGuest.objects.select_for_update().filter(visit=visit, status__in=LIVE_STATUSES).first()
        if live is not None:
            live.visit = visit
        if live is not None and not _expire_if_due(visit, live, now):
            raise GuestRefused(
                f"{live.label} is already invited to this call. Withdraw that invitation first."
            )
        if phone and not sms_allowed(visit.clinic):
            # Raised after the block: the clinic admins' alert commits (waitingroom/sms_limit.py).
            refusal = GuestRefused("The clinic's daily SMS limit is reached: send the link by email instead.")
        else:
            token = new_token()
            guest = CallGuest.objects.create(
                visit=visit,
                invited_by=user,
                name=name,
                relation=relation,
                phone=phone,
                email=email,
                token_hash=hash_token(token),
                created_at=now,
                expires_at=now + timedelta(minutes=invite_minutes()),
            )
            _record(visit, guest, INVITED_EVENT, now=now, user=user, actor=GuestActor.STAFF)
            _send_invitation(visit, guest, token, user)
            publishing.call_guest_changed(copy.copy(guest), announce="")
    if refusal is not None:
        raise refusal
    return guest, token


def guest_link(token: str) -> str:
    return settings.PUBLIC_BASE_URL + reverse("guest_call", args=[token])


def _send_invitation(visit: Visit, guest: CallGuest, token: str, user: User) -> None:
    clinic = visit.clinic
    inviter = user.get_full_name() or user.username
    link = guest_link(token)
    minutes = invite_minutes()
    if guest.phone:
        sms_queue(
            clinic=clinic,
            reference=f"guest-invite:{guest.id}",
            to=guest.phone,
            body=(
                f"{inviter} at {clinic.name} invites you to join a video call as "
                f"{guest.get_relation_display()}. The link works once, for {minutes} minutes: {link}"
            ),
        )
    else:
        email_queue(
            clinic=clinic,
            reference=f"guest-invite:{guest.id}",
            to=[guest.email],
            content=render_email(
                "visits/emails/guest_invite",
                {"clinic": clinic, "guest": guest, "inviter": inviter, "link": link, "minutes": minutes},
            ),
        )


def _act(
    *, visit_id: int, guest_id: int, event: GuestEvent, actor: GuestActor, user: User | None = None
) -> CallGuest:
    """One event on a guest under the visit's row lock, by staff in the call (`user`) or by the guest.
    An invitation past its time expires instead (committed), and the caller hears why."""
    now = timezone.now()
    with transaction.atomic():
        visit = _locked_visit(visit_id)
        if user is not None:
            _require_participant(visit, user)
        guest = _locked_guest(visit, guest_id)
        expired = _expire_if_due(visit, guest, now)
        if not expired:
            if event is GuestEvent.ASK and visit.status not in IN_PROGRESS_STATUSES:
                raise GuestRefused("The call has ended.")
            _apply(visit, guest, event, actor, now=now, user=user)
    if expired:
        raise GuestRefused("The invitation has expired.")
    return guest


def _staff_action(event: GuestEvent):
    def service(*, visit_id: int, guest_id: int, user: User) -> CallGuest:
        return _act(visit_id=visit_id, guest_id=guest_id, event=event, actor=GuestActor.STAFF, user=user)

    service.__name__ = f"guest_{event.value}"
    return service


guest_admit = _staff_action(GuestEvent.ADMIT)
guest_admit.__doc__ = "Let a guest who asks to join into the call: only now may their socket join it."
guest_decline = _staff_action(GuestEvent.DECLINE)
guest_decline.__doc__ = "Turn down a guest who asks to join: their link is dead."
guest_remove = _staff_action(GuestEvent.REMOVE)
guest_remove.__doc__ = (
    "Take an admitted guest out of the call: their socket closes at once, their link is dead."
)
guest_revoke = _staff_action(GuestEvent.REVOKE)
guest_revoke.__doc__ = "Withdraw an unused invitation: its link is dead."

STAFF_ACTIONS = {
    "admit": guest_admit,
    "decline": guest_decline,
    "remove": guest_remove,
    "revoke": guest_revoke,
}


# --- The guest --------------------------------------------------------------------------------------


def browser_hash(browser_key: str) -> str:
    return hash_token(browser_key)


def guest_open(*, token: str, browser_key: str) -> CallGuest:
    """The guest's browser opened the link. The first browser to open an invited link is bound to
    it; afterwards only that browser gets it (also in its final state, to see how it ended).
    GuestNotFound for anyone else and for a made-up, expired or revoked link."""
    now = timezone.now()
    found = CallGuest.objects.filter(token_hash=hash_token(token)).values_list("id", "visit_id").first()
    if found is None or not browser_key:
        raise GuestNotFound
    guest_id, visit_id = found
    with transaction.atomic():
        visit = _locked_visit(visit_id)
        guest = _locked_guest(visit, guest_id)
        expired = _expire_if_due(visit, guest, now)
        if not expired and not guest.browser_hash and guest.status == GuestStatus.INVITED:
            guest.browser_hash = browser_hash(browser_key)
            guest.opened_at = now
            guest.save(update_fields=["browser_hash", "opened_at"])
    if expired or guest.browser_hash != browser_hash(browser_key):
        raise GuestNotFound
    return guest


def guest_of_browser(*, token: str, browser_key: str) -> CallGuest:
    """The guest of this link for the browser bound to it (read only); GuestNotFound otherwise."""
    guest = (
        CallGuest.objects.select_related("visit__clinic").filter(token_hash=hash_token(token)).first()
        if browser_key
        else None
    )
    if guest is None or guest.browser_hash != browser_hash(browser_key):
        raise GuestNotFound
    return guest


def _guest_action(event: GuestEvent):
    def service(*, guest_id: int) -> CallGuest:
        visit_id = CallGuest.objects.values_list("visit_id", flat=True).get(pk=guest_id)
        return _act(visit_id=visit_id, guest_id=guest_id, event=event, actor=GuestActor.GUEST)

    service.__name__ = f"guest_{event.value}"
    return service


guest_ask = _guest_action(GuestEvent.ASK)
guest_ask.__doc__ = "The guest pressed Ask to join: the staff call panel shows the request."
guest_leave = _guest_action(GuestEvent.LEAVE)
guest_leave.__doc__ = "The guest left the call (or stopped asking): their link is dead."


# --- Expiry on time -------------------------------------------------------------------------------

# Invitations expired per sweep; any left over are taken by the next one (a few seconds later).
EXPIRE_BATCH = 200


def guest_expire(*, guest_id: int, now: datetime | None = None) -> bool:
    """Expire one invitation if it is still unused and past its time: the staff call panel hears it
    (announced) and the guest's screen shows it, the VisitEvent `guest_expired` is recorded. True if
    this call expired it; False if it was used, withdrawn or already expired (by a look at the link
    or another sweep): compare-and-set under the row locks, so it expires once."""
    now = now or timezone.now()
    visit_id = CallGuest.objects.filter(pk=guest_id).values_list("visit_id", flat=True).first()
    if visit_id is None:
        return False
    with transaction.atomic():
        visit = _locked_visit(visit_id)
        guest = CallGuest.objects.select_for_update().filter(pk=guest_id, visit=visit).first()
        if guest is None:
            return False
        guest.visit = visit
        return _expire_if_due(visit, guest, now)


def guests_expire_due(*, now: datetime | None = None) -> int:
    """Beat, every few seconds (visits.tasks.expire_call_guests): every unused invitation past its
    time expires then, not when its link is next looked at, so the staff panel stops offering it on
    time. One query finds them (a partial index on the invited ones); each is expired in its own
    transaction, safe to run twice and alongside a look at the link. Returns how many expired."""
    now = now or timezone.now()
    due = list(
        CallGuest.objects.filter(status=GuestStatus.INVITED, expires_at__lte=now)
        .order_by("expires_at", "id")
        .values_list("id", flat=True)[:EXPIRE_BATCH]
    )
    return sum(guest_expire(guest_id=guest_id, now=now) for guest_id in due)


# --- The call's end -------------------------------------------------------------------------------


def visit_call_over(visit: Visit, *, now: datetime) -> None:
    """The visit (locked by the caller) ended or went back to the queue: a live guest's part ends
    (an invitation is withdrawn, an admitted guest has left), and their socket closes."""
    for guest in CallGuest.objects.select_for_update().filter(visit=visit, status__in=LIVE_STATUSES):
        guest.visit = visit
        # The caller's own change publishes the visit (apply_event): one push, not two.
        _apply(
            visit, guest, GuestEvent.CALL_ENDED, GuestActor.SYSTEM, now=now, user=None, publish_visit=False
        )


__all__ = [
    "GuestNotFound",
    "GuestRefused",
    "GuestTransitionRefused",
    "NotInThisCall",
    "guest_admit",
    "guest_ask",
    "guest_decline",
    "guest_expire",
    "guest_invite",
    "guest_leave",
    "guest_of_browser",
    "guest_open",
    "guest_remove",
    "guest_revoke",
    "guests_expire_due",
    "visit_call_over",
]
