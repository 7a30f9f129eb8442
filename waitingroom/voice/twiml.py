"""The TwiML the bridge answers Twilio with (the SDK's VoiceResponse builds and escapes it).

Outbound (staff pressed Start Phone Call):
    answer   the staff member picked up: a <Gather> screens for voicemail ("Press 1 ..."); a
             voicemail box presses nothing, so no key ends the attempt as "did not answer".
    gather   on 1: the consent (when recorded), then <Dial> the client from the clinic's number
             with <Number url=whisper>; anything else: goodbye.
    whisper  the client picked up: they hear who calls and the consent before being connected.
Return (the client called the clinic's number back): the client hears the consent and "Please
hold" while <Dial><Number url=answer> rings the staff member, who gets the same <Gather>
screening (as the Number's url, so nothing is bridged until they press 1: a voicemail box on
their side never reaches the client) and, on 1, the consent too.

callerId is always the call's from_number, the clinic's voice number: nobody learns a person's."""

from __future__ import annotations

from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

from waitingroom.voice.calling import absolute
from waitingroom.voice.models import PhoneCall

# Seconds the screening waits for a key (a voicemail greeting plays longer than that).
GATHER_SECONDS = 8
# Seconds the other side's phone rings before the <Dial> gives up (then: "did not answer").
DIAL_RING_SECONDS = 30


def _xml(response: VoiceResponse) -> str:
    return str(response)


def hangup(goodbye: str = "") -> str:
    response = VoiceResponse()
    if goodbye:
        response.say(goodbye)
    response.hangup()
    return _xml(response)


def staff_joins_return_call(call: PhoneCall) -> str:
    """The expert pressed 1 on a return call: the consent (when recorded; the client heard it
    before "Please hold"), then the Number's url ends and they talk."""
    response = VoiceResponse()
    if call.record and call.consent_text:
        response.say(call.consent_text)
    return _xml(response)


def screening_prompt(call: PhoneCall) -> str:
    if call.direction == PhoneCall.Direction.RETURN:
        return (
            f"{call.client_first_name} is calling back about {call.service_label}. Press 1 to be connected."
        )
    return f"Press 1 to be connected to {call.client_first_name} for {call.service_label}."


def answer(call: PhoneCall) -> str:
    """The staff member picked up: screen for voicemail. actionOnEmptyResult makes Twilio post the
    gather even with no key, so the attempt ends there as "did not answer"; the goodbye after it
    is only reached if that post fails."""
    response = VoiceResponse()
    gather = Gather(
        num_digits=1,
        action=absolute("voice_gather", call),
        method="POST",
        timeout=GATHER_SECONDS,
        action_on_empty_result=True,
    )
    gather.say(screening_prompt(call))
    response.append(gather)
    response.say("No key was pressed. Goodbye.")
    response.hangup()
    return _xml(response)


def _dial(call: PhoneCall) -> Dial:
    """A <Dial> from the clinic's number, recorded in two channels when the clinic records calls."""
    attributes: dict[str, object] = {
        "caller_id": call.from_number,
        "answer_on_bridge": True,
        "timeout": DIAL_RING_SECONDS,
        "action": absolute("voice_dial_result", call),
        "method": "POST",
    }
    if call.record:
        attributes |= {
            "record": "record-from-answer-dual",
            "recording_status_callback": absolute("voice_recording_status", call),
            "recording_status_callback_event": "completed",
            "recording_status_callback_method": "POST",
        }
    return Dial(**attributes)


def connect_client(call: PhoneCall) -> str:
    """The staff member pressed 1 (outbound): the consent, then dial the client, who hears the whisper."""
    response = VoiceResponse()
    if call.record and call.consent_text:
        response.say(call.consent_text)
    dial = _dial(call)
    dial.number(call.client_number, url=absolute("voice_whisper", call), method="POST")
    response.append(dial)
    return _xml(response)


def whisper(call: PhoneCall) -> str:
    """The client picked up: who calls, and the consent; then the Number's url ends and they talk."""
    response = VoiceResponse()
    response.say(f"{call.clinic.name} is calling you about {call.service_label}.")
    if call.record and call.consent_text:
        response.say(call.consent_text)
    return _xml(response)


def return_call(call: PhoneCall) -> str:
    """The client called back and is on the line: ring the staff member, masked, screened."""
    response = VoiceResponse()
    if call.record and call.consent_text:
        response.say(call.consent_text)
    response.say("Please hold while we connect you.")
    dial = _dial(call)
    dial.number(call.staff_number, url=absolute("voice_answer", call), method="POST")
    response.append(dial)
    response.say("Sorry, nobody could take your call. Goodbye.")
    response.hangup()
    return _xml(response)


def not_routed(message: str, clinic_line: str) -> str:
    """Any other caller of a clinic number: the clinic's message and its own line, then goodbye."""
    response = VoiceResponse()
    response.say(message or "Sorry, this number takes no calls.")
    if clinic_line:
        digits = " ".join(char for char in clinic_line if char.isdigit())  # read out one by one
        response.say(f"Please call the clinic at {digits}.")
    response.hangup()
    return _xml(response)
