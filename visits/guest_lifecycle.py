"""A call guest's lifecycle as data (visits/call_guests.py): an invited third participant of a
visit's call (an interpreter, family member, carer) moves forward only:

    invited -> asking -> admitted -> left | removed
    invited -> revoked | expired;  asking -> declined | left | revoked

Pure Python, no database, the same table shape as visits/lifecycle.py; every (status, event)
pair is tested (tests/visits/test_call_guests.py)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class GuestStatus(StrEnum):
    INVITED = "invited"
    ASKING = "asking"
    ADMITTED = "admitted"
    LEFT = "left"
    REMOVED = "removed"
    DECLINED = "declined"
    EXPIRED = "expired"
    REVOKED = "revoked"


class GuestEvent(StrEnum):
    ASK = "ask"  # the guest pressed "Ask to join"
    ADMIT = "admit"
    DECLINE = "decline"
    LEAVE = "leave"  # the guest left (or stopped asking)
    REMOVE = "remove"
    REVOKE = "revoke"  # staff took back an unused invite
    EXPIRE = "expire"  # the link was not used in time
    CALL_ENDED = "call_ended"  # the visit ended or went back to the queue: the guest's part ends


class GuestActor(StrEnum):
    GUEST = "guest"
    STAFF = "staff"
    SYSTEM = "system"


@dataclass(frozen=True)
class GuestTransition:
    target: GuestStatus
    actor: GuestActor


S, E, A = GuestStatus, GuestEvent, GuestActor
TRANSITIONS: dict[tuple[GuestStatus, GuestEvent], GuestTransition] = {
    (S.INVITED, E.ASK): GuestTransition(S.ASKING, A.GUEST),
    (S.INVITED, E.REVOKE): GuestTransition(S.REVOKED, A.STAFF),
    (S.INVITED, E.EXPIRE): GuestTransition(S.EXPIRED, A.SYSTEM),
    (S.INVITED, E.CALL_ENDED): GuestTransition(S.REVOKED, A.SYSTEM),
    (S.ASKING, E.ADMIT): GuestTransition(S.ADMITTED, A.STAFF),
    (S.ASKING, E.DECLINE): GuestTransition(S.DECLINED, A.STAFF),
    (S.ASKING, E.LEAVE): GuestTransition(S.LEFT, A.GUEST),
    (S.ASKING, E.CALL_ENDED): GuestTransition(S.REVOKED, A.SYSTEM),
    (S.ADMITTED, E.LEAVE): GuestTransition(S.LEFT, A.GUEST),
    (S.ADMITTED, E.REMOVE): GuestTransition(S.REMOVED, A.STAFF),
    (S.ADMITTED, E.CALL_ENDED): GuestTransition(S.LEFT, A.SYSTEM),
}
del S, E, A

# A guest in these statuses holds the visit's one guest place; the others are final.
LIVE_STATUSES = frozenset({GuestStatus.INVITED, GuestStatus.ASKING, GuestStatus.ADMITTED})
FINAL_STATUSES = frozenset(GuestStatus) - LIVE_STATUSES

# The visit's event row each guest event records (VisitEvent.event, naming the guest).
VISIT_EVENTS: dict[GuestEvent, str] = {
    GuestEvent.ASK: "guest_asked",
    GuestEvent.ADMIT: "guest_joined",
    GuestEvent.DECLINE: "guest_declined",
    GuestEvent.LEAVE: "guest_left",
    GuestEvent.REMOVE: "guest_removed",
    GuestEvent.REVOKE: "guest_revoked",
    GuestEvent.EXPIRE: "guest_expired",
    GuestEvent.CALL_ENDED: "guest_left",
}
INVITED_EVENT = "guest_invited"


# Which screen the guest's page shows in each status (templates ask this, never the status).
SCREEN: dict[GuestStatus, str] = {
    GuestStatus.INVITED: "invited",
    GuestStatus.ASKING: "asking",
    GuestStatus.ADMITTED: "in_call",
    **{status: "ended" for status in FINAL_STATUSES},
}
# How the guest's page says its end, and the staff panel's line on a guest who went.
ENDED_HEADINGS = {
    GuestStatus.LEFT: "You left the call",
    GuestStatus.REMOVED: "You were removed from the call",
    GuestStatus.DECLINED: "You weren't let into the call",
    GuestStatus.EXPIRED: "This invitation has expired",
    GuestStatus.REVOKED: "This invitation was withdrawn",
}
# Left or withdrawn because the visit ended or went back to the queue (the CALL_ENDED event).
CALL_OVER_HEADING = "The call has ended"
PANEL_ENDED_WORDS = {
    GuestStatus.LEFT: "left the call",
    GuestStatus.REMOVED: "removed from the call",
    GuestStatus.DECLINED: "declined",
    GuestStatus.EXPIRED: "invitation expired",
    GuestStatus.REVOKED: "invitation withdrawn",
}


class GuestTransitionRefused(Exception):
    """The event is not allowed from this status (or not for this actor). Changes nothing."""

    def __init__(self, status: GuestStatus, event: GuestEvent) -> None:
        self.status, self.event = status, event
        super().__init__(WORDS.get(status, "This invitation can no longer be used."))


# What a refusal says, by the status the guest is in.
WORDS = {
    GuestStatus.INVITED: "The guest hasn't asked to join yet.",
    GuestStatus.ASKING: "The guest is asking to join: admit or decline them.",
    GuestStatus.ADMITTED: "The guest is already in the call.",
    GuestStatus.LEFT: "The guest has left the call.",
    GuestStatus.REMOVED: "The guest was removed from the call.",
    GuestStatus.DECLINED: "The guest was declined.",
    GuestStatus.EXPIRED: "The invitation has expired.",
    GuestStatus.REVOKED: "The invitation was withdrawn.",
}


def transition(status: str, event: str, actor: str) -> GuestStatus:
    row = TRANSITIONS.get((GuestStatus(status), GuestEvent(event)))
    if row is None or row.actor != actor:
        raise GuestTransitionRefused(GuestStatus(status), GuestEvent(event))
    return row.target


def allowed_events(status: str, actor: str) -> set[GuestEvent]:
    return {event for (source, event), t in TRANSITIONS.items() if source == status and t.actor == actor}
