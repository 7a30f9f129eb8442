"""The SMS send attempt and the outbox's sweep, in-process: a row found "submitting" is never sent
again blindly, the provider is asked about the attempt, a lost task is enqueued again, and what
cannot be sent ends "stuck" or "failed" with a reason. (The same with real worker processes
killed mid-send: tests/visits/test_recall_worker_faults.py.)"""

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from tests.support.twilio import FakeTwilioHttp, signed_post
from waitingroom.outbox import delivery, sms_backends
from waitingroom.outbox.models import SmsMessage

pytestmark = pytest.mark.django_db
TO = "+14155550123"


def stored(clinic, reference="recall:1:1", **fields):
    return SmsMessage.objects.create(clinic=clinic, reference=reference, to=TO, body="Come back", **fields)


def crashed_mid_send(clinic, *, reached_provider: bool) -> SmsMessage:
    """A row as a worker killed during the backend call leaves it: "submitting", no SID."""
    message = stored(clinic)
    claimed = delivery._claim(message.id)
    assert claimed is not None
    if reached_provider:
        sms_backends.LocmemSmsBackend().send(to=TO, body="Come back", reference=claimed.attempt)
    SmsMessage.objects.filter(pk=message.pk).update(attempt_started_at=timezone.now() - timedelta(minutes=5))
    return SmsMessage.objects.get(pk=message.pk)


def test_the_attempt_is_committed_before_the_backend_is_called(clinic_a, monkeypatch):
    message = stored(clinic_a)
    seen = []

    def send(self, **kwargs):
        seen.append(SmsMessage.objects.get(pk=message.pk))
        return sms_backends.SmsResult(sid="SM1", status="queued")

    monkeypatch.setattr(sms_backends.LocmemSmsBackend, "send", send)
    delivery.sms_deliver_now(message_id=message.id)
    [during] = seen
    assert during.status == SmsMessage.SUBMITTING and len(during.attempt) == 32 and not during.sid
    message.refresh_from_db()
    assert (message.sid, message.status, message.attempt) == ("SM1", "queued", during.attempt)


def test_a_redelivered_task_does_not_send_a_message_in_flight(clinic_a):
    message = crashed_mid_send(clinic_a, reached_provider=True)
    delivery.sms_deliver_now(message_id=message.id)  # the task again, after the visibility timeout
    assert len(sms_backends.outbox) == 1


def test_sweep_stores_the_sid_of_an_attempt_the_provider_got(clinic_a):
    message = crashed_mid_send(clinic_a, reached_provider=True)
    assert delivery.sms_sweep() == []
    message.refresh_from_db()
    assert message.sid == sms_backends.outbox[0].sid and message.status == "queued"
    assert len(sms_backends.outbox) == 1


def test_sweep_sends_again_an_attempt_the_provider_never_got(clinic_a):
    message = crashed_mid_send(clinic_a, reached_provider=False)
    assert delivery.sms_sweep() == [message.id]
    delivery.sms_deliver_now(message_id=message.id)
    delivery.sms_deliver_now(message_id=message.id)
    assert [m.to for m in sms_backends.outbox] == [TO]


def test_sweep_leaves_a_young_attempt_alone(clinic_a):
    message = stored(clinic_a)
    delivery._claim(message.id)
    assert delivery.sms_sweep() == []
    assert SmsMessage.objects.get(pk=message.pk).status == SmsMessage.SUBMITTING


def test_sweep_marks_stuck_what_a_backend_cannot_be_asked_about(clinic_a, settings):
    message = crashed_mid_send(clinic_a, reached_provider=False)
    settings.SMS_BACKEND = "waitingroom.outbox.sms_backends.ConsoleSmsBackend"
    assert delivery.sms_sweep() == []
    message.refresh_from_db()
    assert message.status == SmsMessage.STUCK and "unknown" in message.error
    delivery.sms_deliver_now(message_id=message.id)
    assert sms_backends.outbox == []  # never sent automatically


def test_sweep_enqueues_a_lost_task_again_once_per_period_and_gives_up(clinic_a):
    message = stored(clinic_a)
    now = timezone.now()
    assert delivery.sms_sweep(now=now) == []  # just queued: its task is on its way
    later = now + timedelta(seconds=django_settings.SMS_QUEUED_STALE_SECONDS + 1)
    assert delivery.sms_sweep(now=later) == [message.id]
    assert delivery.sms_sweep(now=later + timedelta(seconds=1)) == []  # not again at once
    too_late = now + timedelta(seconds=django_settings.SMS_GIVE_UP_SECONDS + 1)
    assert delivery.sms_sweep(now=too_late) == []
    assert SmsMessage.objects.get(pk=message.pk).status == SmsMessage.STUCK


def delivered_callback(client, settings, attempt: str):
    """Twilio's signed status callback: the message of `attempt` was delivered as SMbbb..."""
    return signed_post(
        client,
        f"/twilio/sms-status/?attempt={attempt}",
        {"MessageSid": "SM" + "b" * 32, "MessageStatus": "delivered"},
        base_url=settings.PUBLIC_BASE_URL,
        token=settings.TWILIO_AUTH_TOKEN,
    )


def test_callback_for_the_attempt_gives_the_row_its_sid(client, settings, clinic_a):
    message = crashed_mid_send(clinic_a, reached_provider=True)
    response = delivered_callback(client, settings, message.attempt)
    assert response.status_code == 204
    message.refresh_from_db()
    assert (message.sid, message.status) == ("SM" + "b" * 32, "delivered")
    assert delivery.sms_sweep() == []


def test_a_signed_callback_with_an_attempt_that_is_not_ours_is_400_and_changes_nothing(
    client, settings, clinic_a
):
    message = crashed_mid_send(clinic_a, reached_provider=True)
    for attempt in ("zz", "%00" + message.attempt, message.attempt + "0"):
        response = delivered_callback(client, settings, attempt)
        assert response.status_code == 400, attempt
    message.refresh_from_db()
    assert (message.sid, message.status) == ("", "submitting")


def twilio(monkeypatch, *responses):
    http = FakeTwilioHttp(responses=list(responses))
    monkeypatch.setattr(delivery, "get_sms_backend", lambda: sms_backends.TwilioSmsBackend(http_client=http))
    return http


def test_a_number_twilio_refuses_fails_with_its_reason(clinic_a, monkeypatch):
    twilio(monkeypatch, (400, {"code": 21211, "message": "Invalid 'To' Phone Number", "status": 400}))
    message = stored(clinic_a)
    delivery.sms_deliver_now(message_id=message.id)
    message.refresh_from_db()
    assert message.status == "failed" and "Invalid 'To' Phone Number" in message.error


def test_a_rate_limited_send_is_pending_again_and_retried(clinic_a, monkeypatch):
    twilio(monkeypatch, (429, {"code": 20429, "message": "Too Many Requests", "status": 429}))
    message = stored(clinic_a)
    with pytest.raises(sms_backends.SmsRefused):
        delivery.sms_deliver_now(message_id=message.id)
    assert SmsMessage.objects.get(pk=message.pk).status == "pending"


def test_the_broker_redelivers_a_lost_task_within_the_sweep_s_reach():
    options = django_settings.CELERY_BROKER_TRANSPORT_OPTIONS
    # kombu's default is an hour; a provider call ends well before the sweep asks about it.
    assert options["visibility_timeout"] <= 300
    assert sms_backends.PROVIDER_TIMEOUT < django_settings.SMS_SENDING_STALE_SECONDS
    schedule = django_settings.CELERY_BEAT_SCHEDULE["outbox-sms-sweep"]
    assert schedule["task"] == "waitingroom.outbox.sms_sweep" and schedule["schedule"] <= 30
