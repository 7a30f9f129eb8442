"""Offline queueing: phone verification limits, going offline and back, Recall by SMS."""

import re
from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from tests.support.twilio import signed_post
from tests.visits.conftest import ready
from visits import offline, presence, selectors, services
from visits.lifecycle import Status
from visits.models import Visit
from waitingroom.outbox import sms_backends
from waitingroom.realtime import groups

# SMS leave on commit: these tests commit for real.
pytestmark = pytest.mark.django_db(transaction=True)
PHONE = "(415) 555-0123"
E164 = "+14155550123"


@pytest.fixture
def clinic(clinic_a):
    clinic_a.offline_queueing = True
    clinic_a.save(update_fields=["offline_queueing"])
    return clinic_a


def last_code() -> str:
    body = sms_backends.outbox[-1].body
    code = re.search(r"\b(\d{6})\b", body)
    assert code, body
    return code.group(1)


def verified(clinic, name="Ann"):
    visit = ready(clinic, name)
    offline.phone_verification_start(visit_id=visit.id, raw_phone=PHONE)
    offline.phone_verification_check(visit_id=visit.id, code=last_code())
    visit.refresh_from_db()
    return visit


def gone_offline(clinic, name="Ann"):
    """A verified patient who switched away from the wait screen; the outbox starts empty."""
    visit = verified(clinic, name)
    offline.visit_visibility(visit_id=visit.id, hidden=True)
    sms_backends.outbox.clear()
    return visit


def test_code_is_six_digits_sent_to_the_normalised_number_and_verifies(clinic):
    visit = ready(clinic)
    offline.phone_verification_start(visit_id=visit.id, raw_phone=PHONE)
    [message] = sms_backends.outbox
    assert message.to == E164 and re.search(r"\b\d{6}\b", message.body)
    verification = visit.phone_verifications.get()
    assert last_code() not in verification.code_hash and len(verification.code_hash) == 64  # stored hashed
    offline.phone_verification_check(visit_id=visit.id, code=last_code())
    visit.refresh_from_db()
    assert visit.verified_phone == E164


def test_code_expires_after_ten_minutes(clinic):
    visit = ready(clinic)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        offline.phone_verification_start(visit_id=visit.id, raw_phone=PHONE)
    with (
        time_machine.travel(start + timedelta(minutes=10, seconds=1), tick=False),
        pytest.raises(offline.VerificationError, match="expired"),
    ):
        offline.phone_verification_check(visit_id=visit.id, code=last_code())
    assert Visit.objects.get(pk=visit.pk).verified_phone == ""


def test_five_wrong_attempts_lock_the_code(clinic):
    visit = ready(clinic)
    offline.phone_verification_start(visit_id=visit.id, raw_phone=PHONE)
    wrong = "000000" if last_code() != "000000" else "111111"
    for left in [4, 3, 2, 1, 0]:
        with pytest.raises(offline.VerificationError, match=f"{left} tr"):
            offline.phone_verification_check(visit_id=visit.id, code=wrong)
    with pytest.raises(offline.VerificationError, match="Too many wrong codes"):
        offline.phone_verification_check(visit_id=visit.id, code=last_code())
    assert Visit.objects.get(pk=visit.pk).verified_phone == ""


def test_sends_are_limited_per_visit_and_per_number(clinic):
    visit = ready(clinic)
    for _ in range(3):
        offline.phone_verification_start(visit_id=visit.id, raw_phone=PHONE)
    with pytest.raises(offline.VerificationError, match="Too many codes"):
        offline.phone_verification_start(visit_id=visit.id, raw_phone="+1 212 555 0199")
    other = ready(clinic, "Other")
    with pytest.raises(offline.VerificationError, match="Too many codes"):
        offline.phone_verification_start(visit_id=other.id, raw_phone=PHONE)  # the same number
    assert len(sms_backends.outbox) == 3
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        offline.phone_verification_start(visit_id=visit.id, raw_phone=PHONE)
    assert len(sms_backends.outbox) == 4


def test_a_code_is_single_use(clinic):
    visit = ready(clinic)
    offline.phone_verification_start(visit_id=visit.id, raw_phone=PHONE)
    code = last_code()
    offline.phone_verification_check(visit_id=visit.id, code=code)
    with pytest.raises(offline.VerificationError, match="already used"):
        offline.phone_verification_check(visit_id=visit.id, code=code)


def test_a_code_for_another_visit_does_not_verify_this_one(clinic):
    mine, theirs = ready(clinic, "Mine"), ready(clinic, "Theirs")
    offline.phone_verification_start(visit_id=mine.id, raw_phone="+1 212 555 0100")
    offline.phone_verification_start(visit_id=theirs.id, raw_phone=PHONE)
    their_code = last_code()
    with pytest.raises(offline.VerificationError):
        offline.phone_verification_check(visit_id=mine.id, code=their_code)
    assert Visit.objects.get(pk=mine.pk).verified_phone == ""


@pytest.mark.parametrize("phone", ["", "12", "call me", "+1 000 000 0000"])
def test_invalid_numbers_are_refused(clinic, phone):
    visit = ready(clinic)
    with pytest.raises(offline.VerificationError, match="Enter a valid phone number, with its area code"):
        offline.phone_verification_start(visit_id=visit.id, raw_phone=phone)
    assert sms_backends.outbox == []


def test_verification_is_refused_when_the_clinic_has_no_offline_queueing(clinic_a):
    visit = ready(clinic_a)
    with pytest.raises(offline.VerificationError):
        offline.phone_verification_start(visit_id=visit.id, raw_phone=PHONE)


def test_verified_patient_goes_offline_keeps_place_and_returns(clinic):
    first = verified(clinic, "First")
    second = ready(clinic, "Second")
    offline.visit_visibility(visit_id=first.id, hidden=True)
    first.refresh_from_db()
    assert first.status == Status.OFFLINE
    assert selectors.queue_position(visit=second) == 2  # the offline patient keeps their place
    presence.visit_socket_opened(visit_id=first.id)
    first.refresh_from_db()
    assert first.status == Status.WAITING


def test_unverified_patient_does_not_go_offline(clinic):
    visit = ready(clinic)
    offline.visit_visibility(visit_id=visit.id, hidden=True)
    assert Visit.objects.get(pk=visit.pk).status == Status.WAITING


def test_verified_patient_whose_socket_is_gone_past_the_grace_is_offline_not_lost(clinic):
    visit = verified(clinic)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        presence.visit_socket_opened(visit_id=visit.id)
        presence.visit_socket_closed(visit_id=visit.id)
    with time_machine.travel(start + timedelta(seconds=16), tick=False):
        presence.sweep_due()
    with time_machine.travel(start + timedelta(minutes=30), tick=False):
        presence.sweep_due()  # no hold window for offline patients
    assert Visit.objects.get(pk=visit.pk).status == Status.OFFLINE


def test_recall_texts_a_link_that_brings_the_patient_back(clinic, provider):
    visit = gone_offline(clinic)
    offline.visit_recall(visit_id=visit.id, user=provider)
    visit.refresh_from_db()
    assert visit.status == Status.RECALLED and visit.recall_count == 1
    [message] = sms_backends.outbox
    assert message.to == E164
    link = re.search(r"https://clinic\.example\.test(/r/[\w-]+/)", message.body).group(1)

    phone = Client()  # the phone that got the SMS: a browser the visit has never seen
    response = phone.get(link)
    assert response.status_code == 302
    assert phone.get(response["Location"]).status_code == 200
    presence.visit_socket_opened(visit_id=visit.id)
    visit.refresh_from_db()
    assert visit.status == Status.WAITING
    services.visit_call(visit_id=visit.id, user=provider)


def test_recall_may_be_repeated_and_each_recall_sends_once(clinic, provider):
    from waitingroom.outbox.delivery import sms_deliver_now

    visit = gone_offline(clinic)
    offline.visit_recall(visit_id=visit.id, user=provider)
    offline.visit_recall(visit_id=visit.id, user=provider)
    visit.refresh_from_db()
    sms_deliver_now(message_id=visit.last_recall_sms_id)  # the task run again for the same recall
    assert len(sms_backends.outbox) == 2 and visit.recall_count == 2


def test_recall_without_response_is_flagged_after_the_timeout(clinic, provider, published):
    visit = gone_offline(clinic)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        offline.visit_recall(visit_id=visit.id, user=provider)
    with time_machine.travel(start + timedelta(minutes=9), tick=False):
        presence.sweep_due()
    assert not Visit.objects.get(pk=visit.pk).recall_no_response
    with published.commit(), time_machine.travel(start + timedelta(minutes=10, seconds=1), tick=False):
        presence.sweep_due()
    assert Visit.objects.get(pk=visit.pk).recall_no_response
    assert "no response" in published.to(groups.clinic_staff_group(clinic.id))[-1]["html"]


def test_failed_recall_sms_shows_on_the_card(clinic, provider, client, settings, published):
    visit = gone_offline(clinic)
    with published.commit():
        offline.visit_recall(visit_id=visit.id, user=provider)
    visit.refresh_from_db()
    published.clear()
    with published.commit():
        signed_post(
            client,
            "/twilio/sms-status/",
            {"MessageSid": visit.last_recall_sms.sid, "MessageStatus": "failed"},
            base_url=settings.PUBLIC_BASE_URL,
            token=settings.TWILIO_AUTH_TOKEN,
        )
    assert "SMS failed" in published.to(groups.clinic_staff_group(clinic.id))[-1]["html"]


def test_old_recall_link_after_the_visit_ended_is_404(clinic, provider, csr):
    visit = gone_offline(clinic)
    offline.visit_recall(visit_id=visit.id, user=provider)
    link = re.search(r"(/r/[\w-]+/)", sms_backends.outbox[-1].body).group(1)
    services.visit_cancel(visit_id=visit.id, user=csr)  # cancel the offline queue entry
    assert Visit.objects.get(pk=visit.pk).status == Status.CANCELLED
    assert Client().get(link).status_code == 404


def test_phone_endpoints_answer_errors_clearly_and_only_for_the_own_visit(clinic):
    ann, bob = Client(), Client()
    ann_link = ann.post(f"/c/{clinic.slug}/", {"patient_name": "Ann"})["Location"]
    bob_link = bob.post(f"/c/{clinic.slug}/", {"patient_name": "Bob"})["Location"]
    assert ann.post(ann_link + "phone/", {"phone": "nope"}).json() == {
        "ok": False,
        "error": "Enter a valid phone number, with its area code.",
    }
    assert ann.post(ann_link + "phone/", {"phone": PHONE}).json() == {"ok": True}
    assert ann.post(ann_link + "phone/verify/", {"code": "abc"}).status_code == 400
    assert bob.post(ann_link + "phone/verify/", {"code": last_code()}).status_code == 404
    assert ann.post(bob_link + "phone/", {"phone": PHONE}).status_code == 404
    assert ann.post(ann_link + "phone/verify/", {"code": last_code()}).json() == {"ok": True}
    services.visit_media_result(visit_id=Visit.objects.get(patient_name="Ann").id, ok=True)
    page = ann.get(ann_link).content.decode()
    assert "You can now use your device freely" in page
    # The verified number is shown masked, as everywhere else on the screen.
    assert "+14155550123" not in page and "0123" in page
    assert Client().get("/r/not-a-real-link/").status_code == 404


def test_a_recall_sms_the_sweep_gives_up_on_shows_on_the_card(clinic, provider, settings, published):
    """A worker died while sending and the backend cannot say whether it sent: the card says so
    instead of a plain "Recalled" (the sweep: waitingroom/outbox/delivery.py)."""
    from waitingroom.outbox import delivery
    from waitingroom.outbox.models import SmsMessage

    visit = gone_offline(clinic)
    with mock.patch("waitingroom.outbox.tasks.sms_deliver.delay_on_commit"):  # the task was lost
        offline.visit_recall(visit_id=visit.id, user=provider)
    visit.refresh_from_db()
    delivery._claim(visit.last_recall_sms_id)  # ... after claiming the row: the worker was killed
    SmsMessage.objects.filter(pk=visit.last_recall_sms_id).update(
        attempt_started_at=timezone.now() - timedelta(minutes=5)
    )
    settings.SMS_BACKEND = "waitingroom.outbox.sms_backends.ConsoleSmsBackend"  # cannot be asked
    published.clear()
    with published.commit():
        delivery.sms_sweep()
    html = published.to(groups.clinic_staff_group(clinic.id))[-1]["html"]
    assert "SMS not confirmed" in html and ">Recalled<" in html
