"""Twilio's side of a whole call, as the callbacks it would post, in its order. `manage.py
voice_play` plays it against the app's own webhooks (signed) so a developer walks a call with the
console backend; the tests' simulated Twilio (tests/support/voice_sim.py) builds on it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.http.response import HttpResponseBase
from django.urls import reverse

from waitingroom.voice.models import PhoneCall

# (path, params) -> the webhook's response
Post = Callable[[str, dict[str, str]], HttpResponseBase]

OUTCOMES = ("completed", "staff-no-answer", "voicemail", "busy", "no-answer")
TALK_SECONDS = 95


def fake_sid(prefix: str, call: PhoneCall, leg: int) -> str:
    return f"{prefix}{leg:08x}{call.pk:024x}"


@dataclass
class Player:
    """Posts one call's callbacks; each method is one of Twilio's requests."""

    call: PhoneCall
    post: Post
    responses: list[tuple[str, HttpResponseBase]] = field(default_factory=list)

    @property
    def staff_sid(self) -> str:
        return self.call.staff_call_sid or fake_sid("CA", self.call, 1)

    @property
    def client_sid(self) -> str:
        return self.call.client_call_sid or fake_sid("CA", self.call, 2)

    @property
    def dial_parent_sid(self) -> str:
        """The leg that ran the <Dial> (Twilio names it in the recording's callback): the staff
        leg of an outbound call, the client's own call of a return call."""
        if self.call.direction == PhoneCall.Direction.RETURN:
            return self.call.client_call_sid
        return self.staff_sid

    def _send(self, name: str, params: dict[str, str]) -> HttpResponseBase:
        path = reverse(name, args=[self.call.pk])
        base = {"AccountSid": settings.TWILIO_ACCOUNT_SID or "AC" + "0" * 32, "ApiVersion": "2010-04-01"}
        response = self.post(path, base | params)
        self.responses.append((name, response))
        return response

    def staff(self, status: str, duration: int | None = None) -> HttpResponseBase:
        params = {"CallSid": self.staff_sid, "CallStatus": status, "To": self.call.staff_number}
        if duration is not None:
            params["CallDuration"] = str(duration)
        return self._send("voice_staff_status", params)

    def answer(self) -> HttpResponseBase:
        return self._send("voice_answer", {"CallSid": self.staff_sid, "CallStatus": "in-progress"})

    def gather(self, digits: str | None) -> HttpResponseBase:
        params = {"CallSid": self.staff_sid}
        if digits is not None:
            params["Digits"] = digits
        return self._send("voice_gather", params)

    def whisper(self) -> HttpResponseBase:
        return self._send("voice_whisper", {"CallSid": self.client_sid, "CallStatus": "in-progress"})

    def dial(self, status: str, duration: int | None = None) -> HttpResponseBase:
        params = {"CallSid": self.staff_sid, "DialCallStatus": status, "DialCallSid": self.client_sid}
        if duration is not None:
            params["DialCallDuration"] = str(duration)
        return self._send("voice_dial_result", params)

    def recording(self, status: str = "completed", duration: int = TALK_SECONDS) -> HttpResponseBase:
        return self._send(
            "voice_recording_status",
            {
                "CallSid": self.dial_parent_sid,
                "RecordingSid": fake_sid("RE", self.call, 3),
                "RecordingStatus": status,
                "RecordingDuration": str(duration),
            },
        )

    def ring_staff(self) -> None:
        self.staff("initiated")
        self.staff("ringing")

    def staff_answers(self) -> None:
        self.staff("in-progress")
        self.answer()

    def play(self, outcome: str = "completed") -> None:
        """A whole call ending as `outcome` (one of OUTCOMES)."""
        self.ring_staff()
        if outcome == "staff-no-answer":
            self.staff("no-answer")
            return
        self.staff_answers()
        if outcome == "voicemail":
            self.gather(None)  # the Gather times out (actionOnEmptyResult): no Digits
            self.staff("completed", duration=12)
            return
        self.gather("1")
        if outcome in ("busy", "no-answer"):
            self.dial(outcome)
            self.staff("completed", duration=40)
            return
        self.whisper()
        self.dial("completed", duration=TALK_SECONDS)
        self.staff("completed", duration=TALK_SECONDS + 20)
        if self.call.record:
            self.recording()
