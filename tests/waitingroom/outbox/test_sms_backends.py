import logging

import pytest

from tests.support.twilio import FakeTwilioHttp
from waitingroom.outbox import sms_backends

TO = "+14155550123"


def test_twilio_backend_sends_exact_request_with_from_number(settings):
    http = FakeTwilioHttp(
        responses=[(201, {"sid": "SM0123456789abcdef0123456789abcdef", "status": "queued"})]
    )
    result = sms_backends.TwilioSmsBackend(http_client=http).send(
        to=TO, body="Please come back", status_callback="https://clinic.example.test/twilio/sms-status/"
    )

    assert result == sms_backends.SmsResult(sid="SM0123456789abcdef0123456789abcdef", status="queued")
    [request] = http.requests
    assert request.method == "POST"
    assert (
        request.url
        == f"https://api.twilio.com/2010-04-01/Accounts/{settings.TWILIO_ACCOUNT_SID}/Messages.json"
    )
    assert request.data == {
        "To": TO,
        "From": "+15005550006",
        "Body": "Please come back",
        "StatusCallback": "https://clinic.example.test/twilio/sms-status/",
    }
    assert request.auth == (settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN)


def test_twilio_backend_prefers_messaging_service(settings):
    settings.TWILIO_MESSAGING_SERVICE_SID = "MG" + "1" * 32
    http = FakeTwilioHttp()
    sms_backends.TwilioSmsBackend(http_client=http).send(to=TO, body="Hi")
    assert http.requests[0].data == {"To": TO, "MessagingServiceSid": "MG" + "1" * 32, "Body": "Hi"}


def test_twilio_errors_say_whether_the_message_was_refused_or_its_fate_is_unknown():
    """A 4xx: Twilio created nothing (refused; retry only when rate limited). A 5xx: unknown, the
    exception surfaces and the outbox's sweep asks Twilio later (delivery.sms_sweep)."""
    from twilio.base.exceptions import TwilioRestException

    http = FakeTwilioHttp(
        responses=[
            (400, {"code": 21211, "message": "Invalid 'To' Phone Number", "status": 400}),
            (429, {"code": 20429, "message": "Too Many Requests", "status": 429}),
            (500, {"code": 20500, "message": "Internal Server Error", "status": 500}),
        ]
    )
    backend = sms_backends.TwilioSmsBackend(http_client=http)
    with pytest.raises(sms_backends.SmsRefused) as refused:
        backend.send(to="+1", body="x")
    assert not refused.value.retry and "Invalid 'To' Phone Number" in str(refused.value)
    with pytest.raises(sms_backends.SmsRefused) as limited:
        backend.send(to="+1", body="x")
    assert limited.value.retry
    with pytest.raises(TwilioRestException):
        backend.send(to="+1", body="x")


def test_locmem_backend_fills_the_test_outbox(settings):
    settings.SMS_BACKEND = "waitingroom.outbox.sms_backends.LocmemSmsBackend"
    result = sms_backends.get_sms_backend().send(to=TO, body="code 123456")
    assert [(m.to, m.body) for m in sms_backends.outbox] == [(TO, "code 123456")]
    assert result.sid == sms_backends.outbox[0].sid


def test_console_backend_logs_the_message(settings, caplog):
    settings.SMS_BACKEND = "waitingroom.outbox.sms_backends.ConsoleSmsBackend"
    with caplog.at_level(logging.WARNING, logger="waitingroom.outbox.sms_backends"):
        sms_backends.get_sms_backend().send(to=TO, body="Your visit is ready")
    assert f"SMS to {TO}: Your visit is ready" in caplog.text


def test_twilio_lookup_finds_the_attempt_by_number_body_and_time():
    from datetime import UTC, datetime, timedelta
    from email.utils import format_datetime

    since = datetime.now(UTC).replace(microsecond=0)

    def page(*messages):
        return (200, {"messages": list(messages), "next_page_uri": None, "page": 0, "page_size": 50})

    def message(sid, body, created):
        return {"sid": sid, "body": body, "status": "delivered", "date_created": format_datetime(created)}

    http = FakeTwilioHttp(
        responses=[
            page(message("SMold", "Come back", since - timedelta(hours=1)), message("SMx", "Other", since)),
            page(message("SMnew", "Come back", since + timedelta(seconds=1))),
        ]
    )
    backend = sms_backends.TwilioSmsBackend(http_client=http)
    assert backend.lookup(to=TO, body="Come back", reference="r", since=since) is None
    assert backend.lookup(to=TO, body="Come back", reference="r", since=since) == sms_backends.SmsResult(
        sid="SMnew", status="delivered"
    )
    assert http.requests[0].method == "GET" and http.requests[0].url.endswith("/Messages.json")
