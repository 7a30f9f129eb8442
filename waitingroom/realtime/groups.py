"""Every channel-layer group name, made only here: a publisher and a consumer that disagree on a
name would fail silently (pushes to a group nobody listens to). Each group has one audience, which
the publisher checks a payload against (waitingroom/realtime/messages.py)."""

from __future__ import annotations

import re

from waitingroom.realtime.messages import Audience, ContractError

# The name of each audience's group, with the clinic's or the visit's id in place of {}.
_NAMES = {
    Audience.STAFF_DASHBOARD: "clinic-{}-staff",
    Audience.PATIENT_SCREEN: "visit-{}",
    Audience.WAITING_PATIENTS: "clinic-{}-patients",
    Audience.DISPATCH_PAGE: "clinic-{}-scheduling",
    Audience.MEETINGS_OVERVIEW: "clinic-{}-meetings",
    Audience.STAFF_MEMBER: "staff-{}",
    Audience.CONSULTATION_STAFF: "consultation-{}-staff",
    Audience.CONSULTATION_CLIENT: "consultation-{}-client",
    Audience.CALL_GUEST: "call-guest-{}",
    Audience.CALL_STAFF: "visit-{}-call-staff",
}
_PATTERNS = [
    (re.compile(re.escape(name).replace(r"\{\}", r"\d+")), audience) for audience, name in _NAMES.items()
]


def clinic_staff_group(clinic_id: int) -> str:
    """Every open dashboard of one clinic."""
    return _NAMES[Audience.STAFF_DASHBOARD].format(clinic_id)


def visit_group(visit_id: int) -> str:
    """The patient's screen(s) of one visit and the staff in its call (call signalling too)."""
    return _NAMES[Audience.PATIENT_SCREEN].format(visit_id)


def clinic_patients_group(clinic_id: int) -> str:
    """Every waiting patient's screen in one clinic: queue moves and the broadcast message."""
    return _NAMES[Audience.WAITING_PATIENTS].format(clinic_id)


def clinic_scheduling_group(clinic_id: int) -> str:
    """Every open dispatch page showing one clinic's appointment requests."""
    return _NAMES[Audience.DISPATCH_PAGE].format(clinic_id)


def clinic_meetings_group(clinic_id: int) -> str:
    """Every open meetings overview of one clinic: its own group, so that it does not hear every
    card pushed to the dashboards."""
    return _NAMES[Audience.MEETINGS_OVERVIEW].format(clinic_id)


def staff_member_group(user_id: int) -> str:
    """Every socket one staff member has open, whatever its page: told when their access changes
    (waitingroom/access.py), so that those sockets end with the right to them."""
    return _NAMES[Audience.STAFF_MEMBER].format(user_id)


def consultation_staff_group(consultation_id: int) -> str:
    """The staff pages open on one consultation room (its expert, the clinic's admins and CSRs)."""
    return _NAMES[Audience.CONSULTATION_STAFF].format(consultation_id)


def consultation_client_group(consultation_id: int) -> str:
    """The client's pages open on one consultation room (through their link)."""
    return _NAMES[Audience.CONSULTATION_CLIENT].format(consultation_id)


def call_guest_group(guest_id: int) -> str:
    """The screen of one call guest (visits/call_guests.py), by the guest's id: its state pushes."""
    return _NAMES[Audience.CALL_GUEST].format(guest_id)


def call_staff_group(visit_id: int) -> str:
    """The call panels of the staff in one visit's call: the guest part of the panel."""
    return _NAMES[Audience.CALL_STAFF].format(visit_id)


def audience_of(group: str) -> Audience:
    """The audience of a name made above; ContractError for any other name."""
    for pattern, audience in _PATTERNS:
        if pattern.fullmatch(group):
            return audience
    raise ContractError(f"{group!r} is not a group name of waitingroom/realtime/groups.py")
