"""Stored SMS: idempotent sending, the exact Twilio request, and signed delivery callbacks that only
move a status forward."""

import pytest

from tests.support.twilio import FakeTwilioHttp, signed_post
from waitingroom.outbox import delivery, queueing, sms_backends
from waitingroom.outbox.models import SmsMessage

pytestmark = pytest.mark.django_db
CALLBACK = "/twilio/sms-status/"


def queue(clinic, reference="recall:1:1"):
    return queueing.sms_queue(clinic=clinic, reference=reference, to="+14155550123", body="Come back")


def test_queueing_the_same_reference_twice_sends_one_sms(clinic_a, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = queue(clinic_a)
        second = queue(clinic_a)
    assert first.pk == second.pk
    assert len(sms_backends.outbox) == 1
    first.refresh_from_db()
    assert (first.sid, first.status) == (sms_backends.outbox[0].sid, "queued")


def test_delivering_twice_sends_once(clinic_a):
    message = SmsMessage.objects.create(clinic=clinic_a, reference="r1", to="+14155550123", body="x")
    delivery.sms_deliver_now(message_id=message.id)
    delivery.sms_deliver_now(message_id=message.id)
    assert len(sms_backends.outbox) == 1


def test_twilio_request_carries_the_status_callback(clinic_a, settings, monkeypatch):
    http = FakeTwilioHttp(responses=[(201, {"sid": "SM" + "a" * 32, "status": "queued"})])
    monkeypatch.setattr(delivery, "get_sms_backend", lambda: sms_backends.TwilioSmsBackend(http_client=http))
    message = SmsMessage.objects.create(clinic=clinic_a, reference="r2", to="+14155550123", body="Come back")
    delivery.sms_deliver_now(message_id=message.id)
    message.refresh_from_db()
    assert http.requests[0].data == {
        "To": "+14155550123",
        "From": settings.TWILIO_FROM_NUMBER,
        "Body": "Come back",
        # The attempt's reference: Twilio's callbacks name the attempt (test_sms_sweep.py).
        "StatusCallback": f"https://clinic.example.test/twilio/sms-status/?attempt={message.attempt}",
    }
    assert len(message.attempt) == 32
    assert (message.sid, message.status) == ("SM" + "a" * 32, "queued")


@pytest.fixture
def sent(clinic_a):
    return SmsMessage.objects.create(
        clinic=clinic_a, reference="r3", to="+1", body="x", sid="SM123", status="queued"
    )


def callback(client, settings, **params):
    return signed_post(
        client, CALLBACK, params, base_url=settings.PUBLIC_BASE_URL, token=settings.TWILIO_AUTH_TOKEN
    )


def test_signed_callback_moves_the_status_forward(client, settings, sent):
    assert callback(client, settings, MessageSid="SM123", MessageStatus="sent").status_code == 204
    assert callback(client, settings, MessageSid="SM123", MessageStatus="delivered").status_code == 204
    sent.refresh_from_db()
    assert sent.status == "delivered"


def test_unsigned_or_missigned_callback_is_403_and_changes_nothing(client, settings, sent):
    params = {"MessageSid": "SM123", "MessageStatus": "failed"}
    assert client.post(CALLBACK, params).status_code == 403
    bad = signed_post(
        client,
        CALLBACK,
        params,
        base_url=settings.PUBLIC_BASE_URL,
        token=settings.TWILIO_AUTH_TOKEN,
        signature="forged",
    )
    assert bad.status_code == 403
    sent.refresh_from_db()
    assert sent.status == "queued"


def test_out_of_order_and_repeated_callbacks_change_nothing(client, settings, sent):
    callback(client, settings, MessageSid="SM123", MessageStatus="delivered")
    callback(client, settings, MessageSid="SM123", MessageStatus="sent")  # late, out of order
    callback(client, settings, MessageSid="SM123", MessageStatus="delivered")  # repeated
    callback(client, settings, MessageSid="SM123", MessageStatus="failed")  # after a final status
    sent.refresh_from_db()
    assert sent.status == "delivered"


def test_unknown_message_or_status_changes_nothing(client, settings, sent):
    assert callback(client, settings, MessageSid="SM999", MessageStatus="delivered").status_code == 204
    assert callback(client, settings, MessageSid="SM123", MessageStatus="exploded").status_code == 204
    assert callback(client, settings, MessageSid="SM123").status_code == 400
    sent.refresh_from_db()
    assert sent.status == "queued"
