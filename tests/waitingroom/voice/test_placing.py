"""Placing a call through Twilio's SDK: the exact calls.create request (a fake HTTP client)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode

import pytest

from tests.support.twilio import FakeTwilioHttp
from tests.waitingroom.voice.subjects import CLINIC_NUMBER, STAFF_NUMBER
from waitingroom.voice import calling
from waitingroom.voice.lifecycle import CallStatus


@pytest.fixture
def fake_http(monkeypatch):
    http = FakeTwilioHttp(responses=[(201, {"sid": "CA" + "a" * 32, "status": "queued"})])
    monkeypatch.setattr(calling, "backend", lambda: calling.TwilioVoiceBackend(http_client=http))
    return http


def test_placing_a_call_asks_twilio_to_ring_the_staff_phone_from_the_clinic_number(make_call, fake_http):
    call = make_call()

    calling.place(call_id=call.pk)

    (request,) = fake_http.requests
    assert request.method == "POST"
    assert request.url.endswith("/2010-04-01/Accounts/AC" + "0" * 32 + "/Calls.json")
    # The SDK sends a list as repeated form fields: encode as it would go on the wire.
    sent = parse_qs(urlencode(request.data, doseq=True))
    base = f"https://clinic.example.test/twilio/voice/{call.pk}"
    assert sent == {
        "To": [STAFF_NUMBER],
        "From": [CLINIC_NUMBER],
        "Url": [f"{base}/answer/"],
        "Method": ["POST"],
        "StatusCallback": [f"{base}/status/"],
        "StatusCallbackEvent": ["initiated", "ringing", "answered", "completed"],
        "StatusCallbackMethod": ["POST"],
        "Timeout": [str(calling.STAFF_RING_SECONDS)],
    }
    call.refresh_from_db()
    assert call.staff_call_sid == "CA" + "a" * 32


def test_a_call_already_placed_is_not_placed_twice(make_call, fake_http):
    call = make_call()
    calling.place(call_id=call.pk)
    calling.place(call_id=call.pk)
    assert len(fake_http.requests) == 1


def test_twilio_refusing_the_call_ends_it_as_an_error(make_call, monkeypatch, heard):
    http = FakeTwilioHttp(responses=[(400, {"code": 21211, "message": "Invalid 'To'", "status": 400})])
    monkeypatch.setattr(calling, "backend", lambda: calling.TwilioVoiceBackend(http_client=http))
    call = make_call()
    calling.place(call_id=call.pk)
    call.refresh_from_db()
    assert (call.status, call.outcome) == (CallStatus.FAILED, "error")
    assert heard == [("ended", "failed", "error")]


def test_a_call_never_placed_fails_after_two_minutes_so_its_subject_can_call_again(make_call, heard):
    from datetime import timedelta

    from django.utils import timezone

    from waitingroom.voice import services

    now = timezone.now()
    lost = make_call(created_at=now - timedelta(minutes=3))  # its task was lost with a worker
    assert services.calls_sweep(now=now - timedelta(minutes=1, seconds=59)) == 0  # not yet
    assert services.calls_sweep(now=now) == 1
    lost.refresh_from_db()
    assert (lost.status, lost.outcome) == (CallStatus.FAILED, "error") and heard == [
        ("ended", "failed", "error")
    ]
    # A call ringing for hours (Twilio's last callback lost) ends too; a fresh one is left alone.
    ringing = make_call(status=CallStatus.CALLING_STAFF, created_at=now - timedelta(hours=5))
    fresh = make_call(status=CallStatus.CALLING_STAFF, subject="consultation:2", created_at=now)
    assert services.calls_sweep(now=now) == 1
    ringing.refresh_from_db()
    fresh.refresh_from_db()
    assert (ringing.status, fresh.status) == (CallStatus.FAILED, CallStatus.CALLING_STAFF)


def test_the_console_backend_logs_no_full_number_and_makes_a_sid_without_its_digits(caplog):
    request = calling.CallRequest(
        to=STAFF_NUMBER,
        from_=CLINIC_NUMBER,
        url="https://clinic.example.test/twilio/voice/1/answer/",
        status_callback="https://clinic.example.test/twilio/voice/1/status/",
        status_callback_event=["initiated"],
        timeout=30,
    )
    with caplog.at_level("INFO"):
        sid = calling.ConsoleVoiceBackend().create_call(request)
    assert STAFF_NUMBER not in caplog.text and STAFF_NUMBER[-4:] in caplog.text
    assert STAFF_NUMBER.lstrip("+")[-8:] not in sid and sid.startswith("CA") and len(sid) == 34


def test_the_sweep_leaves_a_placed_call_whose_first_callback_is_late_and_one_a_callback_moved(
    make_call, heard, monkeypatch
):
    from datetime import timedelta

    from django.utils import timezone

    from waitingroom.voice import services
    from waitingroom.voice.models import PhoneCall

    now = timezone.now()
    # Twilio took it (calls.create answered its sid) but "initiated" has not come yet.
    placed = make_call(created_at=now - timedelta(minutes=3), staff_call_sid="CA" + "e" * 32)
    assert services.calls_sweep(now=now) == 0
    # Listed as never placed, then a callback moves it on before the sweep takes its lock.
    moved = make_call(subject="consultation:2", created_at=now - timedelta(minutes=3))
    locked = services._locked

    def callback_first(call_id):
        PhoneCall.objects.filter(pk=call_id).update(status=CallStatus.CALLING_STAFF)
        return locked(call_id)

    monkeypatch.setattr(services, "_locked", callback_first)
    services.calls_sweep(now=now)
    placed.refresh_from_db()
    moved.refresh_from_db()
    assert (placed.status, moved.status) == (CallStatus.QUEUED, CallStatus.CALLING_STAFF) and heard == []


def test_twilio_refusing_the_call_logs_its_error_code_but_not_the_number_it_quotes(
    make_call, monkeypatch, caplog
):
    message = f"Invalid 'To' Phone Number: {STAFF_NUMBER}"
    http = FakeTwilioHttp(responses=[(400, {"code": 21211, "message": message, "status": 400})])
    monkeypatch.setattr(calling, "backend", lambda: calling.TwilioVoiceBackend(http_client=http))
    call = make_call()
    with caplog.at_level("INFO"):
        calling.place(call_id=call.pk)
    assert "21211" in caplog.text and f"call {call.pk}" in caplog.text
    assert STAFF_NUMBER not in caplog.text and STAFF_NUMBER.lstrip("+") not in caplog.text
