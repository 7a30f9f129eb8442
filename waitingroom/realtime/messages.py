"""Every websocket message type, declared once: its name, and for each way it travels the direction,
the audience and the payload fields.

The publisher refuses a push that is not declared here for the audience of its group (or whose
fields differ), consumers key their handler tables by these names, and tests hold the page scripts
(static/**/*.js) and docs/realtime.md to this list. A message that travels several ways (`visit`
to the dashboards, the patient's screen and the meetings overview; `signal` sent by a browser and
relayed to a peer) is one declaration with several legs.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Direction(StrEnum):
    PUSH = "server->client push"  # published to a group after commit (publisher.publish*)
    REPLY = "server->client reply"  # a consumer's answer to its own socket
    RECEIVE = "client->server"  # a browser's message, handled by its consumer
    RELAY = "relayed signalling"  # one call peer's message forwarded to another (publisher.relay)
    # Published to a group after commit like a push, but for the consumers only: they act on it
    # (close a socket, pass on what concerns their own browser) and never forward it as it is.
    NOTICE = "server->consumer notice"


class Audience(StrEnum):
    """Who receives a message: a consumer, or the channel-layer group its sockets join."""

    STAFF_DASHBOARD = "staff dashboards of a clinic"
    # Its group (groups.visit_group) is also joined by the staff call sockets of the visit.
    PATIENT_SCREEN = "a visit's patient screen"
    WAITING_PATIENTS = "every waiting patient's screen of a clinic"
    DISPATCH_PAGE = "dispatch pages of a clinic"
    MEETINGS_OVERVIEW = "meetings overviews of a clinic"
    CALL_PEERS = "the browsers in one visit's call (patient, staff and an admitted guest)"
    # A call guest's screen (visits/call_guests.py): an invited third participant's own group.
    CALL_GUEST = "a call guest's screen"
    # The call panels of the staff in one visit's call (the guest's request to join, and so on).
    CALL_STAFF = "the staff call panels of one visit"
    # Every socket a staff member has open (dashboard, dispatch, meetings overview, call).
    STAFF_MEMBER = "every socket of one staff member"
    CONSULTATION_STAFF = "staff pages of one consultation room"
    CONSULTATION_CLIENT = "the client's pages of one consultation room"
    EVERY_SOCKET = "every socket"


class ContractError(ValueError):
    """A payload the contract does not declare: a programming error, never a runtime condition."""


@dataclass(frozen=True)
class Leg:
    direction: Direction
    audience: Audience
    fields: tuple[str, ...]


@dataclass(frozen=True)
class Message:
    name: str
    purpose: str
    legs: tuple[Leg, ...]

    def leg(self, direction: Direction, audience: Audience) -> Leg | None:
        return next(
            (leg for leg in self.legs if (leg.direction, leg.audience) == (direction, audience)), None
        )


REGISTRY: dict[str, Message] = {}


def _declare(name: str, purpose: str, *legs: Leg) -> Message:
    if name in REGISTRY:
        raise ContractError(f"message type {name!r} is declared twice")
    message = REGISTRY[name] = Message(name, purpose, legs)
    return message


def push(audience: Audience, *fields: str) -> Leg:
    return Leg(Direction.PUSH, audience, fields)


def reply(*fields: str, audience: Audience = Audience.EVERY_SOCKET) -> Leg:
    return Leg(Direction.REPLY, audience, fields)


def notice(audience: Audience, *fields: str) -> Leg:
    return Leg(Direction.NOTICE, audience, fields)


def receive(audience: Audience, *fields: str) -> Leg:
    return Leg(Direction.RECEIVE, audience, fields)


def relay(*fields: str) -> Leg:
    return Leg(Direction.RELAY, Audience.CALL_PEERS, fields)


A = Audience

# --- Pushes: hints published after commit ---------------------------------------------------------
VISIT = _declare(
    "visit",
    "A visit changed: its card (empty once closed), the patient's status fragment, or a hint.",
    push(A.STAFF_DASHBOARD, "visit_id", "status", "phase", "html", "alert"),
    push(A.PATIENT_SCREEN, "status", "html"),
    # Only visits of a meeting's guest; the overview re-fetches its rows when it lists the visit.
    push(A.MEETINGS_OVERVIEW, "visit_id"),
)
QUEUE = _declare(
    "queue",
    "A patient joined (+1) or left (-1) the clinic's queue. Each patient's consumer compares the "
    "mover with its own visit and tells its browser only that someone ahead of it moved: no "
    "patient's screen learns another visit's id or arrival time.",
    notice(A.WAITING_PATIENTS, "visit_id", "arrived", "change"),
    reply("change", audience=A.WAITING_PATIENTS),
)
CHAT = _declare(
    "chat",
    "A chat message was posted in a visit (rendered fragment).",
    push(A.PATIENT_SCREEN, "visit_id", "html", "sender"),
    push(A.STAFF_DASHBOARD, "visit_id", "html", "sender"),
)
BROADCAST = _declare(
    "broadcast",
    "The clinic's broadcast message changed.",
    push(A.WAITING_PATIENTS, "message"),
    push(A.STAFF_DASHBOARD, "message"),
)
PANEL = _declare(
    "panel",
    "A dashboard panel of an app above visits (appointment requests) re-fetches itself.",
    push(A.STAFF_DASHBOARD, "panel"),
)
REQUESTS = _declare(
    "requests",
    "The clinic's appointment requests changed: the dispatch page re-fetches its rows.",
    push(A.DISPATCH_PAGE),
)
AVAILABILITY = _declare(
    "availability",
    "A provider's availability changed: an open assign dialog re-fetches.",
    push(A.DISPATCH_PAGE),
)
MEETINGS = _declare(
    "meetings",
    "A meeting of the clinic changed (booked, moved, entered, its status, its card or a charge of it): "
    "the overview re-fetches its rows, and a meeting's open payment page its payment part.",
    push(A.MEETINGS_OVERVIEW),
)
CONSULTATION = _declare(
    "consultation",
    "A consultation changed: its room re-fetches the parts named (status, messages, attachments, "
    "note, call, recordings, payment) over HTTP, which decides what each viewer may see; `version` "
    "lets a page tell a stale answer from a fresh one.",
    push(A.CONSULTATION_STAFF, "version", "parts"),
    push(A.CONSULTATION_CLIENT, "version", "parts"),
)
OPENING = _declare(
    "opening",
    "The clinic opened or closed (by its hours, or a clinic admin's Close now / Reopen): the "
    "dashboards' banner text and whether Close now or Reopen applies; each waiting patient's screen "
    "the words to show and read out (empty once open again). Nobody waiting is sent away.",
    push(A.STAFF_DASHBOARD, "open", "text", "closed_now"),
    push(A.WAITING_PATIENTS, "open", "text"),
)
GUEST = _declare(
    "guest",
    "A call guest's screen changed (asking, admitted, removed, the call ended, who is in the call): "
    "its state fragment and status; a final status ends the socket.",
    push(A.CALL_GUEST, "status", "html"),
    # The guest's consumer re-reads the names in the call when the visit changes.
    reply("status", "html", audience=A.CALL_GUEST),
)
CALL_GUEST = _declare(
    "call_guest",
    "The call guest part of the staff call panel changed (invited, asking to join, admitted, gone): "
    'its fragment, and the words to announce ("Alex (interpreter) is asking to join") or "".',
    push(A.CALL_STAFF, "html", "announce"),
)

# Not published to a group: each process's channel layer hands it to every socket it serves once
# its Redis subscriptions are back after an outage (waitingroom/realtime/layers.py).
RESYNC = _declare(
    "resync",
    "Pushes may have been lost (Redis was unreachable): the page re-fetches its state.",
    push(A.EVERY_SOCKET),
)

# --- Notices: for the consumers, never forwarded to a browser -------------------------------------
ACCESS = _declare(
    "access",
    "A staff member's access changed (logout, membership removed or changed, account changed): "
    "the socket of the ended session (its fingerprint in `session`) closes, and with `session` "
    "empty every socket of theirs re-checks its right and closes when it is gone.",
    notice(A.STAFF_MEMBER, "session"),
)
LINK_REISSUED = _declare(
    "link_reissued",
    "The visit's link was re-issued (another browser took the visit over): every socket opened "
    "with the old token closes.",
    notice(A.PATIENT_SCREEN),
)
CALL_TAKEN_OVER = _declare(
    "call_taken_over",
    "A staff member's call socket opened for a visit (Return to call in another tab), or a call "
    "guest's socket opened (the link again in another tab of the bound browser): the older socket "
    "of that peer id (same `peer`, another `channel`, an earlier `opened`: the sockets' wall-clock "
    "start, ties broken by channel) closes with 4409, so that one peer id has one connection. Sent "
    "by the new socket's consumer as it connects, not after a commit.",
    notice(A.CALL_STAFF, "peer", "channel", "opened"),
    notice(A.CALL_GUEST, "peer", "channel", "opened"),
)
CONSULTATION_LINK_REISSUED = _declare(
    "consultation_link_reissued",
    "The client's consultation link was re-issued: every client socket opened with the old one closes.",
    notice(A.CONSULTATION_CLIENT),
)

# --- Replies of every consumer ---------------------------------------------------------------------
PONG = _declare("pong", "The answer to a ping.", reply())
ERROR = _declare("error", "A message the consumer refused, and why.", reply("error"))

# --- Client -> server -------------------------------------------------------------------------------
PING = _declare("ping", "Keeps idle proxies from closing the socket.", receive(A.EVERY_SOCKET))
MEDIA_CHECK = _declare(
    "media_check", "The patient started the device check.", receive(A.PATIENT_SCREEN, "state")
)
MEDIA = _declare("media", "The device check's result.", receive(A.PATIENT_SCREEN, "ok"))
ACTIVITY = _declare("activity", "The patient moved (holds off 'away' in a call).", receive(A.PATIENT_SCREEN))
VISIBILITY = _declare(
    "visibility", "The patient's page was hidden or shown again.", receive(A.PATIENT_SCREEN, "hidden")
)
CALL_FAILED = _declare(
    "call_failed", "A call peer could not connect its media.", receive(A.CALL_PEERS, "reason")
)

# --- Call signalling: sent by a peer, relayed to the others --------------------------------------------
HELLO = _declare("hello", "A peer (re)joins the call.", receive(A.CALL_PEERS))
BYE = _declare("bye", "A peer leaves the call.", receive(A.CALL_PEERS))
PEER = _declare(
    "peer",
    "A peer joined (event 'hello': the others offer to it) or left (event 'bye').",
    relay("from", "to", "event"),
)
SIGNAL = _declare(
    "signal",
    "A WebRTC offer, answer or ICE candidate addressed to one peer.",
    receive(A.CALL_PEERS, "to", "data"),
    relay("from", "to", "data"),
)


def check(direction: Direction, audience: Audience, payload: dict[str, Any]) -> None:
    """Raise ContractError unless `payload` is declared for this direction and audience with
    exactly these fields (besides `type`)."""
    name = payload.get("type")
    message = REGISTRY.get(name) if isinstance(name, str) else None
    if message is None:
        raise ContractError(f"undeclared message type {name!r} (waitingroom/realtime/messages.py)")
    leg = message.leg(direction, audience)
    if leg is None:
        raise ContractError(f"{name!r} is not declared as a {direction} to {audience}")
    fields = set(payload) - {"type"}
    if fields != set(leg.fields):
        raise ContractError(f"{name!r} to {audience} carries {sorted(fields)}, declared {sorted(leg.fields)}")


def check_published(audience: Audience, payload: dict[str, Any]) -> None:
    """check() for what the publisher sends to a group: a push, or a notice for the consumers."""
    name = payload.get("type")
    message = REGISTRY.get(name) if isinstance(name, str) else None
    is_notice = message is not None and message.leg(Direction.NOTICE, audience) is not None
    check(Direction.NOTICE if is_notice else Direction.PUSH, audience, payload)


def names(direction: Direction, audience: Audience | None = None) -> set[str]:
    """The declared types travelling in `direction` (to `audience` if given)."""
    return {
        message.name
        for message in REGISTRY.values()
        for leg in message.legs
        if leg.direction is direction and audience in (None, leg.audience)
    }
