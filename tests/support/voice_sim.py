"""A simulated Twilio for the phone bridge: plays whole calls by posting signed callbacks to the
webhooks in Twilio's order (waitingroom/voice/playback.py), plus what real networks add:
repeats, late callbacks, unsigned requests, and calls into a clinic's number."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.http.response import HttpResponseBase
from django.test import Client
from django.urls import reverse

from tests.support.twilio import signed_post
from waitingroom.voice.models import PhoneCall
from waitingroom.voice.playback import TALK_SECONDS, Player, fake_sid


@dataclass
class SimulatedTwilio:
    client: Client = field(default_factory=Client)
    sent: list[tuple[str, dict[str, str], int]] = field(default_factory=list)
    repeat: bool = False  # post every callback twice (Twilio retries on a timeout)

    def post(self, path: str, params: dict[str, str]) -> HttpResponseBase:
        times = 2 if self.repeat else 1
        for _ in range(times):
            response = signed_post(
                self.client,
                path,
                params,
                base_url=settings.PUBLIC_BASE_URL,
                token=settings.TWILIO_AUTH_TOKEN,
            )
            self.sent.append((path, params, response.status_code))
            assert response.status_code in (200, 204), (path, params, response.status_code)
        return response

    def player(self, call: PhoneCall) -> Player:
        return Player(call=call, post=self.post)

    def play(self, call: PhoneCall, outcome: str = "completed") -> Player:
        player = self.player(call)
        player.play(outcome)
        return player

    def duplicated(self, call: PhoneCall) -> Player:
        """The happy path with every callback delivered twice."""
        self.repeat = True
        try:
            return self.play(call)
        finally:
            self.repeat = False

    def out_of_order(self, call: PhoneCall) -> Player:
        """The happy path whose "ringing" arrives last, after "completed"."""
        player = self.player(call)
        player.staff("initiated")
        player.staff_answers()
        player.gather("1")
        player.whisper()
        player.dial("completed", duration=TALK_SECONDS)
        player.staff("completed", duration=TALK_SECONDS + 20)
        player.staff("ringing")
        return player

    def unsigned(self, call: PhoneCall, *, signature: str = "") -> HttpResponseBase:
        """A status callback with no (or a wrong) signature."""
        path = reverse("voice_staff_status", args=[call.pk])
        params = {"CallSid": fake_sid("CA", call, 1), "CallStatus": "completed"}
        return (
            signed_post(
                self.client,
                path,
                params,
                base_url=settings.PUBLIC_BASE_URL,
                token=settings.TWILIO_AUTH_TOKEN,
                signature=signature,
            )
            if signature
            else self.client.post(path, params)
        )

    # --- A call into a clinic's number ----------------------------------------------------------

    def inbound(
        self, *, to_number: str, from_number: str, call_sid: str = "CA" + "7" * 32
    ) -> HttpResponseBase:
        return self.post(
            reverse("voice_inbound"),
            {"CallSid": call_sid, "To": to_number, "From": from_number, "Direction": "inbound"},
        )

    def return_call(self, call: PhoneCall, *, expert_presses: str | None = "1") -> list[HttpResponseBase]:
        """After the inbound webhook: Twilio dials the expert (a child leg), fetches the Number's
        url (the screening), posts the gather, then the Dial's result and the recording."""
        expert_leg = fake_sid("CA", call, 9)
        answer_path = reverse("voice_answer", args=[call.pk])
        responses = [self.post(answer_path, {"CallSid": expert_leg, "CallStatus": "in-progress"})]
        gather = {"CallSid": expert_leg} | ({"Digits": expert_presses} if expert_presses is not None else {})
        responses.append(self.post(reverse("voice_gather", args=[call.pk]), gather))
        talked = expert_presses == "1"
        dial = {
            "CallSid": call.client_call_sid,
            "DialCallSid": expert_leg,
            "DialCallStatus": "completed" if talked else "no-answer",
        }
        if talked:
            dial["DialCallDuration"] = str(TALK_SECONDS)
        responses.append(self.post(reverse("voice_dial_result", args=[call.pk]), dial))
        if talked and call.record:
            responses.append(Player(call=call, post=self.post).recording())
        return responses
