"""Who may see and do what in a consultation room: one place for the rules every view, consumer
and file download asks.

- Staff reach a consultation of their own clinic only (any other: Http404, whatever exists).
  Providers (the experts) and clinic admins see everything; CSRs see the room (client details,
  answers, messages, files) and may message and attach, but never read notes or hear recordings;
  schedulers see no consultation at all. A paid service's card is charged by the expert holding
  the claim or a clinic admin; CSRs see the payment's state only.
- A client reaches only their own consultation, through its link's unguessable token, and hears
  its calls' recordings only when the clinic lets clients listen.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User
from django.http import Http404

from consultations import lifecycle
from consultations.lifecycle import Actor, Event
from consultations.models import Consultation, ConsultationProfile
from waitingroom.models import Membership, Role

# Roles that see a clinic's consultations at all (the dashboard's Upcoming list, the room).
ROOM_ROLES = frozenset({Role.PROVIDER, Role.CSR, Role.CLINIC_ADMIN})
# Roles that read the expert's notes (and, with part 2, recordings).
NOTE_ROLES = frozenset({Role.PROVIDER, Role.CLINIC_ADMIN})
# Roles that hear (and download) the calls' recordings.
RECORDING_ROLES = NOTE_ROLES


@dataclass(frozen=True)
class StaffViewer:
    """A staff member allowed into one consultation room, with what their role lets them do."""

    user: User
    consultation: Consultation
    role: str

    @property
    def reads_notes(self) -> bool:
        return self.role in NOTE_ROLES

    @property
    def hears_recordings(self) -> bool:
        """The issue: CSRs may not read notes or recordings."""
        return self.role in RECORDING_ROLES

    @property
    def is_expert(self) -> bool:
        """A provider of the clinic: may claim, and acts on what they hold."""
        return self.role == Role.PROVIDER

    @property
    def holds_claim(self) -> bool:
        return self.consultation.expert_id == self.user.pk

    @property
    def is_admin(self) -> bool:
        return self.role == Role.CLINIC_ADMIN

    @property
    def charges(self) -> bool:
        return may_charge(role=self.role, user_id=self.user.pk, consultation=self.consultation)


def room_role(*, user: User | AnonymousUser, clinic_id: int) -> str | None:
    """The user's role in the clinic if it lets them into its consultation rooms."""
    if not user.is_authenticated or not user.is_active:
        return None
    role = Membership.objects.filter(user=user, clinic_id=clinic_id).values_list("role", flat=True).first()
    return role if role in ROOM_ROLES else None


def staff_viewer(*, user: User | AnonymousUser, consultation_id: int) -> StaffViewer:
    """The consultation for a staff member allowed into its room, else Http404 (another clinic's
    staff and schedulers learn nothing, not even that it exists)."""
    consultation = (
        Consultation.objects.select_related("clinic", "service", "expert", "requester")
        .filter(pk=consultation_id)
        .first()
    )
    role = room_role(user=user, clinic_id=consultation.clinic_id) if consultation else None
    if consultation is None or role is None:
        raise Http404("No such consultation")
    assert isinstance(user, User)  # room_role() is None for anonymous users
    return StaffViewer(user=user, consultation=consultation, role=role)


def client_consultation(token: str) -> Consultation | None:
    """The consultation a client's link opens: `<id>-<signature>`, the signature checked in
    constant time; None for anything else (a bad, re-issued or other consultation's token)."""
    head, _, signature = (token or "").partition("-")
    if not (head.isascii() and head.isdigit() and len(head) <= 12 and signature):
        return None
    consultation = (
        Consultation.objects.select_related("clinic", "service", "expert", "requester")
        .filter(pk=int(head))
        .first()
    )
    if consultation is None or not consultation.token_matches(signature):
        return None
    return consultation


def client_may_listen(consultation: Consultation) -> bool:
    """Whether the clinic lets a client hear their calls' recordings (off unless it says so)."""
    return bool(
        ConsultationProfile.objects.filter(clinic_id=consultation.clinic_id)
        .values_list("clients_may_listen", flat=True)
        .first()
    )


# --- Who may move a consultation: one answer for the room's buttons and the services -----------


def staff_actor(
    *, role: str | None, user_id: int | None, consultation: Consultation, event: Event
) -> Actor | None:
    """The lifecycle actor a staff member acts as for `event`, or None when their role may not.

    - Claim: any provider (expert) of the clinic.
    - Release and Complete: the expert holding the claim.
    - Cancel, Lock and Unlock: the holding expert or a clinic admin; while nobody holds it
      (Available), any provider of the clinic too.
    CSRs message and attach, but change nothing of the consultation itself."""
    holder = consultation.expert_id is not None and consultation.expert_id == user_id
    if event == Event.CLAIM:
        return Actor.EXPERT if role == Role.PROVIDER else None
    if event in (Event.RELEASE, Event.COMPLETE):
        return Actor.EXPERT if role == Role.PROVIDER and holder else None
    if event in (Event.CANCEL, Event.LOCK, Event.UNLOCK):
        unheld_expert = role == Role.PROVIDER and consultation.expert_id is None
        return Actor.STAFF if role == Role.CLINIC_ADMIN or holder or unheld_expert else None
    return None


STAFF_EVENTS = (Event.CLAIM, Event.RELEASE, Event.COMPLETE, Event.CANCEL, Event.LOCK, Event.UNLOCK)


def staff_actions(
    *, role: str | None, user_id: int | None, consultation: Consultation, now
) -> frozenset[Event]:
    """What the room's control bar offers this staff member now: their role's events that the
    lifecycle allows from the status, Lock only while Open (and Unlock only while Locked), and
    Release only before the start."""
    allowed = set()
    for event in STAFF_EVENTS:
        actor = staff_actor(role=role, user_id=user_id, consultation=consultation, event=event)
        if actor is None or event not in lifecycle.allowed_events(consultation.status, actor):
            continue
        if event == Event.LOCK and not consultation.is_open:
            continue
        if event == Event.UNLOCK and consultation.is_open:
            continue
        if event == Event.RELEASE and consultation.has_started(now):
            continue
        allowed.add(event)
    return frozenset(allowed)


def may_charge(*, role: str | None, user_id: int | None, consultation: Consultation) -> bool:
    """Who charges the client's saved card (consultations/payments.py): the expert holding the
    claim, who knows what the consultation was, or a clinic admin. CSRs see the payment but don't
    charge; whether the consultation may be charged now is the lifecycle's (CHARGEABLE_STATUSES)."""
    if role == Role.CLINIC_ADMIN:
        return True
    return role == Role.PROVIDER and consultation.expert_id is not None and consultation.expert_id == user_id


def may_write_note(*, role: str | None, user_id: int | None, consultation: Consultation) -> bool:
    """The note is the expert's own summary: only the expert holding the claim writes it (a clinic
    admin reads it but does not write in the expert's name), and never on a cancelled one."""
    return (
        role == Role.PROVIDER
        and consultation.expert_id is not None
        and consultation.expert_id == user_id
        and consultation.status != lifecycle.Status.CANCELLED
    )
