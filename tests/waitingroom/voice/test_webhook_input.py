"""Signed but bad input: a NUL byte, junk or an unknown call gets 400/404, never a 500, and changes nothing."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from tests.support.twilio import signed_post
from waitingroom.voice.models import PhoneCall, PhoneCallEvent


def post(client, settings, path, params):
    return signed_post(
        client, path, params, base_url=settings.PUBLIC_BASE_URL, token=settings.TWILIO_AUTH_TOKEN
    )


@pytest.mark.parametrize(
    ("endpoint", "params"),
    [
        ("status", {"CallSid": "CA" + "1" * 32, "CallStatus": "ring\x00ing"}),
        ("status", {"CallSid": "CA\x00" + "1" * 31, "CallStatus": "ringing"}),
        ("status", {"CallSid": "CA" + "1" * 32, "CallStatus": "ringing", "CallDuration": "lots"}),
        ("answer", {"CallSid": "x' OR 1=1"}),
        ("gather", {"CallSid": "CA" + "1" * 32, "Digits": "1\x00"}),
        ("dial-result", {"CallSid": "CA" + "1" * 32, "DialCallStatus": "x" * 300}),
        ("recording", {"CallSid": "CA" + "1" * 32, "RecordingSid": "RE\x00", "RecordingStatus": "completed"}),
        ("whisper", {}),
    ],
)
def test_junk_parameters_get_400_and_change_nothing(client, settings, make_call, heard, endpoint, params):
    call = make_call()
    response = post(client, settings, f"/twilio/voice/{call.pk}/{endpoint}/", params)
    assert response.status_code == 400
    call.refresh_from_db()
    assert call.status == "queued" and not PhoneCallEvent.objects.exists() and heard == []


def test_junk_on_the_inbound_number_gets_400(client, settings, db):
    response = post(
        client, settings, "/twilio/voice/inbound/", {"CallSid": "CA" + "1" * 32, "To": "+1\x00", "From": "x"}
    )
    assert response.status_code == 400
    assert not PhoneCall.objects.exists()


@pytest.mark.parametrize("call_id", ["999999", "99999999999999999999999"])
def test_an_unknown_call_gets_404(client, settings, db, call_id):
    response = post(
        client,
        settings,
        f"/twilio/voice/{call_id}/status/",
        {"CallSid": "CA" + "1" * 32, "CallStatus": "ringing"},
    )
    assert response.status_code == 404


def test_a_get_is_refused(client, make_call):
    call = make_call()
    assert client.get(f"/twilio/voice/{call.pk}/answer/").status_code == 405


@pytest.mark.parametrize(
    ("outcome", "status"),
    [("completed", "ended"), ("staff-no-answer", "failed"), ("voicemail", "failed"), ("busy", "failed")],
)
def test_voice_play_walks_a_whole_call_through_the_signed_webhooks(
    make_call, heard, capsys, settings, outcome, status
):
    settings.ALLOWED_HOSTS = ["clinic.example.test"]  # the command posts to PUBLIC_BASE_URL's host
    settings.VOICE_BACKEND = "waitingroom.voice.calling.ConsoleVoiceBackend"
    call = make_call()
    call_command("voice_play", str(call.pk), "--outcome", outcome)
    call.refresh_from_db()
    assert call.status == status
    assert heard[-1][0] in ("ended", "progress")
    assert f"Call {call.pk}: {status}" in capsys.readouterr().out


def test_voice_play_signs_with_a_one_off_token_in_debug_when_none_is_set(make_call, settings):
    settings.TWILIO_AUTH_TOKEN = ""
    settings.DEBUG = True
    settings.ALLOWED_HOSTS = ["clinic.example.test"]
    settings.VOICE_BACKEND = "waitingroom.voice.calling.ConsoleVoiceBackend"
    call = make_call()
    call_command("voice_play", str(call.pk))
    call.refresh_from_db()
    assert call.status == "ended"
    assert settings.TWILIO_AUTH_TOKEN == ""  # the server's own webhooks stay closed


def test_voice_play_refuses_calls_that_twilio_places(make_call, settings):
    settings.VOICE_BACKEND = "waitingroom.voice.calling.TwilioVoiceBackend"
    call = make_call(status="in_call")
    with pytest.raises(CommandError, match="console backend"):
        call_command("voice_play", str(call.pk))
    call.refresh_from_db()
    assert call.status == "in_call" and not PhoneCallEvent.objects.exists()


@pytest.mark.parametrize("endpoint", ["answer", "gather", "whisper", "status", "dial-result", "recording"])
def test_a_callback_for_one_call_carrying_another_calls_sid_gets_400_and_changes_nothing(
    client, settings, make_call, heard, endpoint
):
    mine = make_call(status="connecting_client", staff_call_sid="CA" + "a" * 32)
    other = make_call(
        subject="consultation:99", staff_call_sid="CA" + "b" * 32, client_call_sid="CA" + "c" * 32
    )
    params = {
        "CallSid": other.client_call_sid if endpoint == "whisper" else other.staff_call_sid,
        "CallStatus": "completed",
        "Digits": "2",
        "DialCallStatus": "busy",
        "RecordingSid": "RE" + "d" * 32,
        "RecordingStatus": "completed",
    }
    response = post(client, settings, f"/twilio/voice/{mine.pk}/{endpoint}/", params)
    assert response.status_code == 400
    mine.refresh_from_db()
    assert mine.status == "connecting_client" and mine.client_call_sid == ""
    assert not PhoneCallEvent.objects.exists() and not mine.recordings.exists() and heard == []


def test_a_callback_signed_for_another_calls_url_is_refused_and_changes_nothing(
    client, settings, make_call, heard
):
    """A captured, validly signed callback of call B replayed at call A's URL: the signature
    covers the URL, so it is 403 there."""
    from tests.support.twilio import twilio_signature

    mine = make_call()
    other = make_call(subject="consultation:99")
    params = {"CallSid": "CA" + "b" * 32, "CallStatus": "in-progress"}
    signature = twilio_signature(
        f"{settings.PUBLIC_BASE_URL}/twilio/voice/{other.pk}/status/", params, settings.TWILIO_AUTH_TOKEN
    )
    response = signed_post(
        client,
        f"/twilio/voice/{mine.pk}/status/",
        params,
        base_url=settings.PUBLIC_BASE_URL,
        token=settings.TWILIO_AUTH_TOKEN,
        signature=signature,
    )
    assert response.status_code == 403
    mine.refresh_from_db()
    assert mine.status == "queued" and not PhoneCallEvent.objects.exists() and heard == []
