"""A bridged phone call's lifecycle as data. Twilio's callbacks arrive late, twice or out of order,
so a status only moves forward (by rank): a late "ringing" after "completed" changes nothing.

    queued -> calling_staff -> screening -> connecting_client -> in_call -> ended
                     \\______________\\________________\\____________________-> failed

`failed` and `ended` are final; `Outcome` says how the call finished, in words the screens show.
"""

from __future__ import annotations

from django.db import models


class CallStatus(models.TextChoices):
    QUEUED = "queued", "Starting"
    CALLING_STAFF = "calling_staff", "Calling you"
    SCREENING = "screening", "Answered: waiting for the key press"
    CONNECTING_CLIENT = "connecting_client", "Connecting the client"
    IN_CALL = "in_call", "In call"
    ENDED = "ended", "Ended"
    FAILED = "failed", "Failed"


RANK = {status: rank for rank, status in enumerate(CallStatus)}
FINAL = frozenset({CallStatus.ENDED, CallStatus.FAILED})
ACTIVE = frozenset(s for s in CallStatus if s not in FINAL)


class Outcome(models.TextChoices):
    NONE = "", "—"
    COMPLETED = "completed", "The call ended"
    STAFF_NO_ANSWER = "staff_no_answer", "The expert did not answer"
    CLIENT_BUSY = "busy", "The client's line was busy"
    CLIENT_NO_ANSWER = "no-answer", "The client did not answer"
    CLIENT_FAILED = "failed", "The call to the client could not be made"
    CANCELED = "canceled", "The call was cancelled"
    ERROR = "error", "The phone service could not place the call"


def moves_forward(current: str, new: str) -> bool:
    """Whether a callback saying `new` may change a call that is `current`."""
    return current not in FINAL and RANK[CallStatus(new)] > RANK[CallStatus(current)]
