"""The TwiML Twilio gets, parsed as XML: the screening, the consent, the masked Dial, the whisper."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from tests.support.twilio import signed_post
from tests.waitingroom.voice.subjects import CLIENT_NUMBER, CLINIC_NUMBER, STAFF_NUMBER

BASE = "https://clinic.example.test"
CONSENT = "This call is recorded for your care and training."


def post(client, settings, path, params):
    response = signed_post(
        client, path, params, base_url=settings.PUBLIC_BASE_URL, token=settings.TWILIO_AUTH_TOKEN
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/xml"
    return ET.fromstring(response.content)


def test_the_answer_screens_for_voicemail_with_a_one_key_gather(client, settings, make_call):
    call = make_call()
    root = post(client, settings, f"/twilio/voice/{call.pk}/answer/", {"CallSid": "CA" + "1" * 32})

    gather = root.find("Gather")
    assert gather.attrib == {
        "numDigits": "1",
        "action": f"{BASE}/twilio/voice/{call.pk}/gather/",
        "method": "POST",
        "timeout": "8",
        "actionOnEmptyResult": "true",
    }
    assert gather.find("Say").text == "Press 1 to be connected to Rosa for Nutrition call."
    # Past the Gather (only if its post fails): goodbye, never a connection.
    assert [child.tag for child in root] == ["Gather", "Say", "Hangup"]


def test_pressing_1_plays_the_consent_then_dials_the_client_from_the_clinic_number(
    client, settings, make_call
):
    call = make_call(record=True)
    root = post(
        client, settings, f"/twilio/voice/{call.pk}/gather/", {"CallSid": "CA" + "1" * 32, "Digits": "1"}
    )

    assert [child.tag for child in root] == ["Say", "Dial"]
    assert root.find("Say").text == CONSENT
    dial = root.find("Dial")
    assert dial.attrib == {
        "callerId": CLINIC_NUMBER,
        "answerOnBridge": "true",
        "timeout": "30",
        "action": f"{BASE}/twilio/voice/{call.pk}/dial-result/",
        "method": "POST",
        "record": "record-from-answer-dual",
        "recordingStatusCallback": f"{BASE}/twilio/voice/{call.pk}/recording/",
        "recordingStatusCallbackEvent": "completed",
        "recordingStatusCallbackMethod": "POST",
    }
    assert dial.attrib["callerId"] not in (STAFF_NUMBER, CLIENT_NUMBER)
    (number,) = dial
    assert number.tag == "Number"
    assert number.text == CLIENT_NUMBER
    assert number.attrib == {"url": f"{BASE}/twilio/voice/{call.pk}/whisper/", "method": "POST"}


def test_a_clinic_that_does_not_record_gets_no_consent_and_no_recording(client, settings, make_call):
    call = make_call(record=False)
    root = post(
        client, settings, f"/twilio/voice/{call.pk}/gather/", {"CallSid": "CA" + "1" * 32, "Digits": "1"}
    )
    assert [child.tag for child in root] == ["Dial"]
    assert "record" not in root.find("Dial").attrib
    assert "recordingStatusCallback" not in root.find("Dial").attrib


def test_any_other_key_hangs_up(client, settings, make_call):
    call = make_call()
    root = post(
        client, settings, f"/twilio/voice/{call.pk}/gather/", {"CallSid": "CA" + "1" * 32, "Digits": "9"}
    )
    assert [child.tag for child in root] == ["Say", "Hangup"]
    assert root.find("Dial") is None


def test_the_whisper_tells_the_client_who_calls_and_that_it_is_recorded(client, settings, make_call):
    call = make_call(record=True)
    root = post(client, settings, f"/twilio/voice/{call.pk}/whisper/", {"CallSid": "CA" + "2" * 32})
    assert [say.text for say in root.findall("Say")] == [
        "Clinic A is calling you about Nutrition call.",
        CONSENT,
    ]
    assert root.find("Dial") is None and root.find("Hangup") is None  # the Number then connects


def test_the_whisper_has_no_consent_when_not_recorded(client, settings, make_call):
    call = make_call(record=False)
    root = post(client, settings, f"/twilio/voice/{call.pk}/whisper/", {"CallSid": "CA" + "2" * 32})
    assert [say.text for say in root.findall("Say")] == ["Clinic A is calling you about Nutrition call."]
