"""Who may see and do what in a consultation room: one place for the rules every view, consumer
and file download asks.

- Staff reach a consultation of their own clinic only (any other: Http404, whatever exists).
  Providers (the experts) and clinic admins see everything; CSRs see the room (client details,
  answers, messages, files) and may message and attach, but never read notes (or, in part 2,
  recordings); schedulers see no consultation at all.
- A client reaches only their own consultation, through its link's unguessable token.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User
from django.http import Http404

from consultations.models import Consultation
from waitingroom.models import Membership, Role

# Roles that see a clinic's consultations at all (the dashboard's Upcoming list, the room).
ROOM_ROLES = frozenset({Role.PROVIDER, Role.CSR, Role.CLINIC_ADMIN})
# Roles that read the expert's notes (and, with part 2, recordings).
NOTE_ROLES = frozenset({Role.PROVIDER, Role.CLINIC_ADMIN})


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
    def is_expert(self) -> bool:
        """A provider of the clinic: may claim, and acts on what they hold."""
        return self.role == Role.PROVIDER

    @property
    def holds_claim(self) -> bool:
        return self.consultation.expert_id == self.user.pk

    @property
    def is_admin(self) -> bool:
        return self.role == Role.CLINIC_ADMIN


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
