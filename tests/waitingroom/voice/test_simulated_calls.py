"""Whole calls played by the simulated Twilio (signed callbacks in Twilio's order): the call's
status, outcome and times, and what its subject heard, in order."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest
import time_machine

from tests.waitingroom.voice.subjects import CLIENT_NUMBER, CLINIC_LINE, CLINIC_NUMBER, STAFF_NUMBER
from waitingroom.voice.models import PhoneCall, PhoneCallEvent, Recording
from waitingroom.voice.playback import TALK_SECONDS

T = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)
RINGING = ("progress", "calling_staff", "")
SCREENING = ("progress", "screening", "")
CONNECTING = ("progress", "connecting_client", "")
CONNECTED = ("connected", "in_call", "")
RECORDING = ("progress", "ended", "completed")


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(T, tick=False):
        yield


def state(call: PhoneCall) -> tuple:
    call.refresh_from_db()
    return call.status, call.outcome, call.connected_at, call.ended_at, call.duration_seconds


def test_the_happy_path_connects_ends_with_twilios_duration_and_announces_the_recording(
    twilio_sim, make_call, heard
):
    call = make_call(record=True)

    twilio_sim.play(call)

    assert state(call) == ("ended", "completed", T, T, TALK_SECONDS)
    assert heard == [RINGING, SCREENING, CONNECTING, CONNECTED, ("ended", "ended", "completed"), RECORDING]
    (recording,) = Recording.objects.filter(call=call)
    assert (recording.status, recording.next_try_at, recording.duration_seconds) == ("pending", T, 95)
    call.refresh_from_db()
    assert call.staff_call_sid.startswith("CA") and call.client_call_sid.startswith("CA")


def test_the_expert_not_answering_fails_the_call_as_staff_no_answer(twilio_sim, make_call, heard):
    call = make_call()
    twilio_sim.play(call, "staff-no-answer")
    assert state(call) == ("failed", "staff_no_answer", None, T, None)
    assert heard == [RINGING, ("ended", "failed", "staff_no_answer")]


def test_the_experts_voicemail_presses_nothing_so_the_client_is_never_dialled(twilio_sim, make_call, heard):
    call = make_call()
    player = twilio_sim.play(call, "voicemail")
    assert state(call) == ("failed", "staff_no_answer", None, T, None)
    assert heard == [RINGING, SCREENING, ("ended", "failed", "staff_no_answer")]
    gather_twiml = ET.fromstring(dict(player.responses)["voice_gather"].content)
    assert gather_twiml.find("Dial") is None and gather_twiml.find("Hangup") is not None
    assert not Recording.objects.exists()


@pytest.mark.parametrize(
    ("outcome", "said"), [("busy", "The client's line was busy"), ("no-answer", "The client did not answer")]
)
def test_the_client_busy_or_not_answering_is_the_calls_outcome_and_the_expert_hears_it(
    twilio_sim, make_call, heard, outcome, said
):
    call = make_call()
    player = twilio_sim.play(call, outcome)
    assert state(call) == ("failed", outcome, None, T, None)
    assert heard == [RINGING, SCREENING, CONNECTING, ("ended", "failed", outcome)]
    dial_twiml = ET.fromstring(dict(player.responses)["voice_dial_result"].content)
    assert dial_twiml.find("Say").text == f"{said}. Goodbye."


def test_duplicated_callbacks_change_nothing_the_second_time(twilio_sim, make_call, heard):
    call = make_call(record=True)
    twilio_sim.duplicated(call)
    assert state(call) == ("ended", "completed", T, T, TALK_SECONDS)
    assert heard == [RINGING, SCREENING, CONNECTING, CONNECTED, ("ended", "ended", "completed"), RECORDING]
    assert Recording.objects.filter(call=call).count() == 1
    kinds = list(PhoneCallEvent.objects.filter(call=call).values_list("kind", "value"))
    assert len(kinds) == len(set(kinds)) == 9  # each of the 9 callbacks kept once


def test_a_late_ringing_after_completed_changes_nothing(twilio_sim, make_call, heard):
    call = make_call(record=False)
    twilio_sim.out_of_order(call)
    assert state(call) == ("ended", "completed", T, T, TALK_SECONDS)
    assert heard == [RINGING, SCREENING, CONNECTING, CONNECTED, ("ended", "ended", "completed")]
    # The late ringing is kept in the trail (it happened) but moved nothing.
    assert PhoneCallEvent.objects.filter(call=call, value="ringing").exists()


def test_a_status_ahead_of_its_predecessors_still_moves_the_call_and_they_change_nothing(
    twilio_sim, make_call, heard
):
    call = make_call()
    player = twilio_sim.player(call)
    player.staff("in-progress")
    player.staff("ringing")
    player.staff("initiated")
    assert state(call)[0] == "screening"
    assert heard == [SCREENING]


@pytest.mark.parametrize("signature", ["", "bm90IHR3aWxpbw=="])
def test_an_unsigned_or_mis_signed_callback_is_refused_and_changes_nothing(
    twilio_sim, make_call, heard, signature
):
    call = make_call()
    response = twilio_sim.unsigned(call, signature=signature)
    assert response.status_code == 403
    assert state(call) == ("queued", "", None, None, None)
    assert not PhoneCallEvent.objects.exists()
    assert heard == []


def test_the_expert_hanging_up_while_the_client_rings_cancels_the_call(twilio_sim, make_call, heard):
    call = make_call()
    player = twilio_sim.player(call)
    player.ring_staff()
    player.staff_answers()
    player.gather("1")
    player.staff("completed", duration=30)
    assert state(call)[:2] == ("failed", "canceled")
    player.dial("canceled")
    assert heard[-1] == ("ended", "failed", "canceled") and len(heard) == 4


# --- Return calls ---------------------------------------------------------------------------------


def test_a_return_call_from_the_expected_client_rings_the_expert_masked_and_screened(
    twilio_sim, provider, heard
):
    response = twilio_sim.inbound(to_number=CLINIC_NUMBER, from_number=CLIENT_NUMBER)

    call = PhoneCall.objects.get()
    assert (call.direction, call.status, call.client_call_sid) == ("return", "calling_staff", "CA" + "7" * 32)
    root = ET.fromstring(response.content)
    assert [say.text for say in root.findall("Say")][:2] == [
        "This call is recorded for your care and training.",
        "Please hold while we connect you.",
    ]
    dial = root.find("Dial")
    assert dial.attrib["callerId"] == CLINIC_NUMBER
    assert dial.attrib["record"] == "record-from-answer-dual"
    (number,) = dial
    assert number.text == STAFF_NUMBER
    # The expert's leg runs the screening before anything is bridged.
    assert number.attrib["url"] == f"https://clinic.example.test/twilio/voice/{call.pk}/answer/"

    answer, gather, _dial_result, _recording = twilio_sim.return_call(call)

    prompt = ET.fromstring(answer.content).find("Gather/Say").text
    assert prompt == "Rosa is calling back about Nutrition call. Press 1 to be connected."
    assert ET.fromstring(gather.content).find("Hangup") is None  # the Number's url ends: they talk
    assert state(call) == ("ended", "completed", T, T, TALK_SECONDS)
    assert heard == [RINGING, SCREENING, CONNECTED, ("ended", "ended", "completed"), RECORDING]


def test_the_experts_voicemail_on_a_return_call_never_reaches_the_client(twilio_sim, provider, heard):
    twilio_sim.inbound(to_number=CLINIC_NUMBER, from_number=CLIENT_NUMBER)
    call = PhoneCall.objects.get()

    _answer, gather, dial_result = twilio_sim.return_call(call, expert_presses=None)

    gather_root = ET.fromstring(gather.content)
    assert gather_root.find("Hangup") is not None  # the expert's leg hangs up: nothing bridged
    assert state(call) == ("failed", "staff_no_answer", None, T, None)
    assert ET.fromstring(dial_result.content).find("Say").text.startswith("Sorry, nobody could take")
    assert heard == [RINGING, SCREENING, ("ended", "failed", "staff_no_answer")]


def test_a_repeated_inbound_webhook_finds_the_call_it_started(twilio_sim, provider):
    twilio_sim.inbound(to_number=CLINIC_NUMBER, from_number=CLIENT_NUMBER)
    response = twilio_sim.inbound(to_number=CLINIC_NUMBER, from_number=CLIENT_NUMBER)
    assert PhoneCall.objects.count() == 1
    assert ET.fromstring(response.content).find("Dial/Number").text == STAFF_NUMBER


def test_another_caller_hears_the_clinics_message_and_line(twilio_sim, provider, heard):
    response = twilio_sim.inbound(to_number=CLINIC_NUMBER, from_number="+15005550999")
    root = ET.fromstring(response.content)
    assert [say.text for say in root.findall("Say")] == [
        "This is Clinic A.",
        "Please call the clinic at " + " ".join(CLINIC_LINE[1:]) + ".",
    ]
    assert root.find("Dial") is None and root.find("Hangup") is not None
    assert not PhoneCall.objects.exists() and heard == []


def test_a_call_to_a_number_no_route_knows_is_told_goodbye(twilio_sim, provider):
    response = twilio_sim.inbound(to_number="+15005550777", from_number=CLIENT_NUMBER)
    root = ET.fromstring(response.content)
    assert root.find("Dial") is None and root.find("Hangup") is not None
    assert not PhoneCall.objects.exists()


def test_a_return_call_while_a_call_is_active_for_the_subject_hears_the_message(twilio_sim, make_call, heard):
    make_call(status="in_call")
    response = twilio_sim.inbound(to_number=CLINIC_NUMBER, from_number=CLIENT_NUMBER)
    root = ET.fromstring(response.content)
    assert root.find("Dial") is None
    assert root.find("Say").text == "This is Clinic A."
    assert PhoneCall.objects.count() == 1


def test_the_expert_hears_the_consent_before_a_recorded_return_call_connects(twilio_sim, provider):
    twilio_sim.inbound(to_number=CLINIC_NUMBER, from_number=CLIENT_NUMBER)
    call = PhoneCall.objects.get()

    _answer, gather, *_ = twilio_sim.return_call(call)

    said = [say.text for say in ET.fromstring(gather.content).findall("Say")]
    assert said == ["This call is recorded for your care and training."]
    assert ET.fromstring(gather.content).find("Hangup") is None  # the Number's url ends: they talk
