"""WebRTC signalling messages: who is who in a visit's call, and what a relayed message may hold.

The browsers form a mesh (patient, provider, CSR, an admitted call guest: up to four). Offers, answers and ICE candidates
travel through the visit's channel group addressed to one peer; anything malformed is refused
before it reaches anyone.
"""

from __future__ import annotations

import re

PATIENT_PEER = "patient"
PEER_RE = re.compile(r"^(patient|staff-\d{1,12}|guest-\d{1,12})$")
MAX_SDP = 64 * 1024
MAX_CANDIDATE = 2048
# The patient, up to two staff (visits/services.py MAX_STAFF_IN_CALL) and one admitted call guest
# (visits/call_guests.py): "at most three participants plus the patient".
MAX_PEERS = 4


class BadSignal(ValueError):
    pass


def staff_peer(user_id: int) -> str:
    return f"staff-{user_id}"


def guest_peer(guest_id: int) -> str:
    return f"guest-{guest_id}"


def clean_signal(content: dict, *, sender: str) -> tuple[str, dict]:
    """(recipient, data) of a `signal` message, or BadSignal. Data is one of
    {"sdp": {"type": "offer"|"answer", "sdp": str}} or {"candidate": {...}}."""
    to = content.get("to")
    if not isinstance(to, str) or not PEER_RE.match(to) or to == sender:
        raise BadSignal("signal needs `to`: another peer of this call.")
    data = content.get("data")
    if not isinstance(data, dict) or len(data) != 1:
        raise BadSignal("signal needs `data` with exactly one of sdp or candidate.")
    if "sdp" in data:
        sdp = data["sdp"]
        if (
            not isinstance(sdp, dict)
            or sdp.get("type") not in ("offer", "answer")
            or not isinstance(sdp.get("sdp"), str)
            or len(sdp["sdp"]) > MAX_SDP
        ):
            raise BadSignal("sdp must be an offer or answer of at most 64 KiB.")
        return to, {"sdp": {"type": sdp["type"], "sdp": sdp["sdp"]}}
    if "candidate" in data:
        cand = data["candidate"]
        if cand is None:  # end of candidates
            return to, {"candidate": None}
        if (
            not isinstance(cand, dict)
            or not isinstance(cand.get("candidate"), str)
            or len(cand["candidate"]) > MAX_CANDIDATE
            or not isinstance(cand.get("sdpMid"), str | None)
            or not isinstance(cand.get("sdpMLineIndex"), int | None)
        ):
            raise BadSignal("candidate must be an RTCIceCandidate as JSON.")
        return to, {
            "candidate": {
                k: cand.get(k) for k in ("candidate", "sdpMid", "sdpMLineIndex", "usernameFragment")
            }
        }
    raise BadSignal("signal needs `data` with exactly one of sdp or candidate.")
