"""The visit lifecycle as data: statuses, phases, events and the allowed transitions.

Pure Python, no database: services ask `transition()` for the next status and record it. Every
(status, event) pair is tested, allowed or refused (tests/visits/test_lifecycle.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    CONNECTING = "connecting"
    MEDIA_BLOCKED = "media_blocked"
    WAITING = "waiting"
    OFFLINE = "offline"
    RECALLED = "recalled"
    IN_CALL = "in_call"
    AVAILABLE = "available"
    AWAY = "away"
    DISCONNECTED = "disconnected"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    LEFT = "left"


class Phase(StrEnum):
    GETTING_READY = "getting_ready"
    READY = "ready"
    IN_PROGRESS = "in_progress"
    RECENTS = "recents"
    CLOSED = "closed"


PHASE_OF: dict[Status, Phase] = {
    Status.CONNECTING: Phase.GETTING_READY,
    Status.MEDIA_BLOCKED: Phase.GETTING_READY,
    Status.WAITING: Phase.READY,
    Status.OFFLINE: Phase.READY,
    Status.RECALLED: Phase.READY,
    Status.IN_CALL: Phase.IN_PROGRESS,
    Status.AVAILABLE: Phase.IN_PROGRESS,
    Status.AWAY: Phase.IN_PROGRESS,
    Status.DISCONNECTED: Phase.RECENTS,
    Status.COMPLETED: Phase.CLOSED,
    Status.CANCELLED: Phase.CLOSED,
    Status.EXPIRED: Phase.CLOSED,
    Status.LEFT: Phase.CLOSED,
}
# The dashboard's sections, in page order, with their titles.
PHASE_TITLES = {
    Phase.GETTING_READY: "Getting Ready",
    Phase.READY: "Ready for Visits",
    Phase.IN_PROGRESS: "In Progress",
    Phase.RECENTS: "Recents",
}
OPEN_STATUSES = frozenset(s for s, p in PHASE_OF.items() if p is not Phase.CLOSED)
CLOSED_STATUSES = frozenset(s for s, p in PHASE_OF.items() if p is Phase.CLOSED)
IN_PROGRESS_STATUSES = frozenset(s for s, p in PHASE_OF.items() if p is Phase.IN_PROGRESS)
# With staff in the call (not stepped out): activity counts, and staff keep their call panel.
IN_CALL_STATUSES = frozenset({Status.IN_CALL, Status.AWAY})
# Dashboard sections whose cards count the patient's wait (amber, then red).
WAITING_PHASES = (Phase.GETTING_READY, Phase.READY)

# Which screen the patient sees in each status: templates/visits/_patient_status.html and
# static/visits/patient.js branch on these, never on raw statuses.
PATIENT_SCREEN: dict[Status, str] = {
    Status.CONNECTING: "checking",
    Status.MEDIA_BLOCKED: "blocked",
    Status.WAITING: "queue",
    Status.OFFLINE: "queue",
    Status.RECALLED: "queue",
    Status.IN_CALL: "call",
    Status.AWAY: "call",
    Status.AVAILABLE: "stepped_out",
    Status.DISCONNECTED: "reconnecting",
    Status.COMPLETED: "ended",
    Status.CANCELLED: "cancelled",
    Status.EXPIRED: "expired",
    Status.LEFT: "left",
}


class Event(StrEnum):
    MEDIA_OK = "media_ok"  # patient: camera/microphone granted
    MEDIA_BLOCKED = "media_blocked"  # patient: refused or no device
    CALL = "call"  # staff: start the call (or join one in progress)
    LEAVE_CALL = "leave_call"  # staff: the last staff member leaves the call
    END = "end"  # staff: end the visit
    SEND_BACK = "send_back"  # staff: back to the waiting room, original arrival order
    CANCEL = "cancel"  # staff: cancel the visit
    CALL_BACK = "call_back"  # staff: wait in the call for a dropped patient to return
    PATIENT_LEAVE = "patient_leave"  # patient: presses Leave
    CONNECTION_LOST = "connection_lost"  # system: the patient's drop outlasted the grace, in a call
    HOLD_EXPIRED = "hold_expired"  # system: a lost waiting patient did not return within the hold
    RESUME = "resume"  # patient: back from Recents, no staff in the call
    REJOIN = "rejoin"  # patient: back from Recents while staff are still in the call
    IDLE = "idle"  # system: no activity in a call for the idle window
    ACTIVE = "active"  # patient: activity again
    RECENTS_EXPIRED = "recents_expired"  # system: the Recents window passed
    GO_OFFLINE = "go_offline"  # system: a verified patient navigated away (offline queueing)
    RECALL = "recall"  # staff: send the Recall SMS
    RETURN = "return"  # patient: back on the wait screen after going offline / being recalled
    # system: the appointment the patient came for was cancelled or moved before it began
    WITHDRAW = "withdraw"
    # system: the phone call staff switched the visit to connected (visits/phone.py)
    PHONE_CONNECTED = "phone_connected"
    # patient: "Call me instead" (camera blocked: the clinic calls their verified mobile when it's
    # their turn; from the device check it puts them in line) and taking it back (visits/phone_request.py)
    ASK_FOR_PHONE = "ask_for_phone"
    USE_VIDEO = "use_video"


class Actor(StrEnum):
    PATIENT = "patient"
    STAFF = "staff"
    SYSTEM = "system"


@dataclass(frozen=True)
class Transition:
    source: Status
    event: Event
    target: Status
    actor: Actor


S, E, A = Status, Event, Actor
_GETTING_READY = (S.CONNECTING, S.MEDIA_BLOCKED)
_WAITING_ROOM = (S.CONNECTING, S.MEDIA_BLOCKED, S.WAITING, S.OFFLINE, S.RECALLED)
_IN_CALL = (S.IN_CALL, S.AWAY)
_IN_PROGRESS = (S.IN_CALL, S.AVAILABLE, S.AWAY)
# Where Switch to phone may be pressed (visits/phone.py): a call phase, Recents, or the queue after
# a failed video call; a connected phone call is a call, so each of them moves to in_call.
PHONE_STATUSES = (*_IN_PROGRESS, S.DISCONNECTED, S.WAITING, S.OFFLINE, S.RECALLED)


def _rows() -> list[Transition]:
    rows = [
        Transition(S.CONNECTING, E.MEDIA_OK, S.WAITING, A.PATIENT),
        Transition(S.MEDIA_BLOCKED, E.MEDIA_OK, S.WAITING, A.PATIENT),
        Transition(S.CONNECTING, E.MEDIA_BLOCKED, S.MEDIA_BLOCKED, A.PATIENT),
        # Calling starts a call from the queue or from "available"; on a call in progress it
        # adds one more staff member to it (several staff may be in one call).
        Transition(S.WAITING, E.CALL, S.IN_CALL, A.STAFF),
        Transition(S.AVAILABLE, E.CALL, S.IN_CALL, A.STAFF),
        Transition(S.IN_CALL, E.CALL, S.IN_CALL, A.STAFF),
        Transition(S.AWAY, E.CALL, S.AWAY, A.STAFF),
        Transition(S.DISCONNECTED, E.CALL_BACK, S.DISCONNECTED, A.STAFF),
        Transition(S.DISCONNECTED, E.END, S.COMPLETED, A.STAFF),
        Transition(S.DISCONNECTED, E.RESUME, S.AVAILABLE, A.PATIENT),
        Transition(S.DISCONNECTED, E.REJOIN, S.IN_CALL, A.PATIENT),
        Transition(S.DISCONNECTED, E.RECENTS_EXPIRED, S.EXPIRED, A.SYSTEM),
        Transition(S.IN_CALL, E.IDLE, S.AWAY, A.SYSTEM),
        Transition(S.AWAY, E.ACTIVE, S.IN_CALL, A.PATIENT),
        Transition(S.WAITING, E.CANCEL, S.CANCELLED, A.STAFF),
        Transition(S.OFFLINE, E.CANCEL, S.CANCELLED, A.STAFF),
        Transition(S.RECALLED, E.CANCEL, S.CANCELLED, A.STAFF),
        Transition(S.WAITING, E.GO_OFFLINE, S.OFFLINE, A.SYSTEM),
        Transition(S.OFFLINE, E.RECALL, S.RECALLED, A.STAFF),
        Transition(S.RECALLED, E.RECALL, S.RECALLED, A.STAFF),
        Transition(S.OFFLINE, E.RETURN, S.WAITING, A.PATIENT),
        Transition(S.RECALLED, E.RETURN, S.WAITING, A.PATIENT),
        Transition(S.MEDIA_BLOCKED, E.ASK_FOR_PHONE, S.WAITING, A.PATIENT),
        Transition(S.WAITING, E.ASK_FOR_PHONE, S.WAITING, A.PATIENT),
        Transition(S.WAITING, E.USE_VIDEO, S.WAITING, A.PATIENT),
    ]
    rows += [Transition(s, E.HOLD_EXPIRED, S.LEFT, A.SYSTEM) for s in (*_GETTING_READY, S.WAITING)]
    rows += [Transition(s, E.PATIENT_LEAVE, S.LEFT, A.PATIENT) for s in (*_WAITING_ROOM, *_IN_PROGRESS)]
    rows += [Transition(s, E.WITHDRAW, S.CANCELLED, A.SYSTEM) for s in _WAITING_ROOM]
    rows += [Transition(s, E.LEAVE_CALL, S.AVAILABLE, A.STAFF) for s in _IN_CALL]
    rows += [Transition(s, E.END, S.COMPLETED, A.STAFF) for s in _IN_PROGRESS]
    rows += [Transition(s, E.SEND_BACK, S.WAITING, A.STAFF) for s in _IN_PROGRESS]
    rows += [Transition(s, E.CONNECTION_LOST, S.DISCONNECTED, A.SYSTEM) for s in _IN_PROGRESS]
    rows += [Transition(s, E.PHONE_CONNECTED, S.IN_CALL, A.SYSTEM) for s in PHONE_STATUSES]
    return rows


TRANSITIONS: dict[tuple[Status, Event], Transition] = {(t.source, t.event): t for t in _rows()}


class TransitionRefused(Exception):
    """The event is not allowed from this status (or not for this actor). Changes nothing."""

    def __init__(self, status: Status, event: Event, actor: Actor) -> None:
        self.status, self.event, self.actor = Status(status), Event(event), Actor(actor)
        super().__init__(
            f"Can't {EVENT_VERBS[self.event]} a visit that is {STATUS_LABELS[self.status].lower()}."
        )


def transition(status: str, event: str, actor: str) -> Status:
    """The status after `event` by `actor` from `status`, or TransitionRefused."""
    row = TRANSITIONS.get((Status(status), Event(event)))
    if row is None or row.actor != actor:
        raise TransitionRefused(Status(status), Event(event), Actor(actor))
    return row.target


def allowed_events(status: str, actor: str) -> set[Event]:
    return {t.event for (source, _), t in TRANSITIONS.items() if source == status and t.actor == actor}


def phase_of(status: str) -> Phase:
    return PHASE_OF[Status(status)]


def phone_switch_refusal(
    status: str,
    *,
    verified_phone: bool,
    call_failed: bool,
    phone_ringing: bool,
    phone_requested: bool = False,
) -> str:
    """Why the visit can't be switched to the phone now, in plain words ("" when it can): the
    card's Switch to phone and the service (visits/phone.py) ask this one rule. A patient in line
    who asked for a phone call ("Call me instead") may be switched as one whose video failed."""
    in_line = Status(status) in _WAITING_ROOM and not (call_failed or phone_requested)
    if Status(status) not in PHONE_STATUSES or in_line:
        return "Switch to phone is for a visit in a call, whose video call could not connect, or whose patient asked for a phone call."
    if not verified_phone:
        return "The patient has not verified a mobile number, so the visit can't move to the phone."
    if phone_ringing:
        return "A phone call is already ringing or connected for this visit."
    return ""


def chat_allowed(status: str) -> bool:
    """Staff chat from Getting Ready / media_blocked onward; not while connecting, not once closed."""
    return status != Status.CONNECTING and Status(status) in OPEN_STATUSES


STATUS_LABELS = {
    S.CONNECTING: "Connecting",
    S.MEDIA_BLOCKED: "Camera blocked",
    S.WAITING: "Waiting",
    S.OFFLINE: "Offline",
    S.RECALLED: "Recalled",
    S.IN_CALL: "In call",
    S.AVAILABLE: "Available",
    S.AWAY: "Away",
    S.DISCONNECTED: "Disconnected",
    S.COMPLETED: "Completed",
    S.CANCELLED: "Cancelled",
    S.EXPIRED: "Expired",
    S.LEFT: "Left",
}
EVENT_VERBS = {
    E.MEDIA_OK: "pass the device check for",
    E.MEDIA_BLOCKED: "block the devices of",
    E.CALL: "call",
    E.LEAVE_CALL: "leave the call of",
    E.END: "end",
    E.SEND_BACK: "send back to the waiting room",
    E.CANCEL: "cancel",
    E.CALL_BACK: "call back",
    E.PATIENT_LEAVE: "leave",
    E.CONNECTION_LOST: "drop",
    E.HOLD_EXPIRED: "release the place of",
    E.RESUME: "resume",
    E.REJOIN: "rejoin",
    E.IDLE: "mark away",
    E.ACTIVE: "mark active",
    E.RECENTS_EXPIRED: "expire",
    E.GO_OFFLINE: "take offline",
    E.RECALL: "recall",
    E.RETURN: "return to",
    E.WITHDRAW: "withdraw the appointment of",
    E.PHONE_CONNECTED: "connect by phone",
    E.ASK_FOR_PHONE: "ask for a phone call for",
    E.USE_VIDEO: "go back to video for",
}
