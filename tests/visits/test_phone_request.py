""" "Call me instead" (visits/phone_request.py): a patient whose camera is blocked asks the clinic to
phone their verified mobile when it's their turn, where the clinic has a voice number. The events,
repeated presses, refused states, taking it back, the staff card (and only the clinic's own), the
number verified first with the offline-queueing SMS code, and the views (CSRF, errors)."""

from __future__ import annotations

import re

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from consultations.models import ConsultationProfile
from tests.visits.conftest import arrive, in_call, ready
from visits import cards, offline, phone, selectors, services
from visits.lifecycle import Status
from visits.models import Visit, VisitEvent
from visits.phone_request import PhoneRequestRefused, visit_ask_for_phone, visit_use_video
from visits.publishing import render_patient_status
from waitingroom.outbox import sms_backends
from waitingroom.realtime import groups
from waitingroom.voice import services as voice
from waitingroom.voice.lifecycle import CallStatus
from waitingroom.voice.models import PhoneCall

pytestmark = pytest.mark.django_db
VOICE = "+15555550100"
MOBILE = "+14155550123"


@pytest.fixture
def voice_number(clinic_a):
    return ConsultationProfile.objects.create(clinic=clinic_a, voice_number=VOICE)


def blocked(clinic, *, phone: str = MOBILE, name: str = "Bea Blocked") -> Visit:
    visit = arrive(clinic, name)
    services.visit_media_result(visit_id=visit.id, ok=False)
    Visit.objects.filter(pk=visit.pk).update(verified_phone=phone)
    visit.refresh_from_db()
    assert visit.status == Status.MEDIA_BLOCKED
    return visit


def events(visit: Visit) -> list[tuple[str, str, str]]:
    return list(
        VisitEvent.objects.filter(visit=visit, event__in=["ask_for_phone", "use_video"]).values_list(
            "event", "from_status", "to_status"
        )
    )


def refuses(visit: Visit, words: str, action=visit_ask_for_phone) -> None:
    before = Visit.objects.filter(pk=visit.pk).values().get()
    count = VisitEvent.objects.filter(visit=visit).count()
    with pytest.raises(PhoneRequestRefused, match=re.escape(words)):
        action(visit_id=visit.id)
    assert Visit.objects.filter(pk=visit.pk).values().get() == before
    assert VisitEvent.objects.filter(visit=visit).count() == count


# --- The service ------------------------------------------------------------------------------


def test_asking_from_the_blocked_check_puts_the_patient_in_line_in_arrival_order(
    clinic_a, voice_number, published
):
    first = blocked(clinic_a, name="First")
    second = ready(clinic_a, "Second")  # arrived later, passed the check first
    with published.commit():
        visit_ask_for_phone(visit_id=first.id)
    first.refresh_from_db()
    assert first.status == Status.WAITING and first.phone_requested_at is not None
    assert events(first) == [("ask_for_phone", "media_blocked", "waiting")]
    assert selectors.queue_position(visit=first) == 1 and selectors.queue_position(visit=second) == 2
    # The patient's screen and the dashboards hear of it after commit.
    [pushed] = published.to(groups.visit_group(first.id))
    assert pushed["status"] == "waiting" and "The clinic will call you at •••• 0123" in pushed["html"]
    staff = published.to(groups.clinic_staff_group(clinic_a.id))
    assert "Asks for a phone call" in staff[-1]["html"]


def test_a_waiting_patient_may_ask_too_and_a_repeated_press_changes_nothing(clinic_a, voice_number):
    visit = ready(clinic_a)
    Visit.objects.filter(pk=visit.pk).update(verified_phone=MOBILE)
    visit_ask_for_phone(visit_id=visit.id)
    assert events(visit) == [("ask_for_phone", "waiting", "waiting")]
    refuses(visit, "You've already asked the clinic to call you")
    assert len(events(visit)) == 1


def test_refused_states_and_clinics_change_nothing(clinic_a, provider, voice_number):
    refuses(blocked(clinic_a, phone=""), "Verify your mobile number first")
    calling = in_call(clinic_a, provider, "In Call")
    Visit.objects.filter(pk=calling.pk).update(verified_phone=MOBILE)
    refuses(calling, "only while you wait for your turn")
    left = blocked(clinic_a, name="Left")
    services.visit_patient_leave(visit_id=left.id)
    refuses(left, "This visit has ended")
    connecting = arrive(clinic_a, "Connecting")
    Visit.objects.filter(pk=connecting.pk).update(verified_phone=MOBILE)
    refuses(connecting, "only while you wait for your turn")


def test_a_clinic_without_a_voice_number_refuses_and_offers_nothing(clinic_a):
    visit = blocked(clinic_a)
    refuses(visit, "This clinic can't call you by phone")
    assert selectors.patient_state(visit=visit).phone_offered is False
    assert "Call me instead" not in render_patient_status(visit)


def test_taking_it_back_keeps_the_place_and_a_second_take_back_is_refused(clinic_a, voice_number):
    visit = blocked(clinic_a)
    refuses(visit, "You haven't asked for a phone call", action=visit_use_video)
    visit_ask_for_phone(visit_id=visit.id)
    visit.refresh_from_db()
    ready_at = visit.ready_at
    visit_use_video(visit_id=visit.id)
    visit.refresh_from_db()
    assert visit.status == Status.WAITING and visit.phone_requested_at is None and visit.ready_at == ready_at
    assert events(visit) == [
        ("ask_for_phone", "media_blocked", "waiting"),
        ("use_video", "waiting", "waiting"),
    ]
    refuses(visit, "You haven't asked for a phone call", action=visit_use_video)
    assert "Use video after all" not in render_patient_status(visit)


# --- The screens --------------------------------------------------------------------------------


def test_the_blocked_screen_offers_call_me_instead_with_the_masked_number(clinic_a, voice_number):
    html = render_patient_status(blocked(clinic_a))
    assert "Call me instead" in html and "•••• 0123" in html and MOBILE not in html
    assert 'action="call-me/"' in html


def test_without_a_verified_number_the_offer_asks_for_it_and_the_sms_code_first(
    clinic_a, voice_number, django_capture_on_commit_callbacks
):
    """The offline-queueing code flow, here for a clinic without offline queueing."""
    assert not clinic_a.offline_queueing
    visit = blocked(clinic_a, phone="")
    html = render_patient_status(visit)
    assert 'action="phone/"' in html and "Call me instead: enter your mobile number" in html
    assert 'action="call-me/"' not in html
    with django_capture_on_commit_callbacks(execute=True):
        offline.phone_verification_start(visit_id=visit.id, raw_phone="(415) 555-0123")
    visit.refresh_from_db()
    assert "Enter the 6-digit code we sent to •••• 0123" in render_patient_status(visit)
    code = re.search(r"\b(\d{6})\b", sms_backends.outbox[-1].body).group(1)
    offline.phone_verification_check(visit_id=visit.id, code=code)
    visit.refresh_from_db()
    assert visit.verified_phone == MOBILE
    assert 'action="call-me/"' in render_patient_status(visit)


def test_the_code_is_not_offered_where_the_clinic_neither_texts_nor_calls(clinic_a):
    visit = blocked(clinic_a, phone="")
    with pytest.raises(offline.VerificationError):
        offline.phone_verification_start(visit_id=visit.id, raw_phone="(415) 555-0123")
    assert not sms_backends.outbox


# --- The staff card ---------------------------------------------------------------------------


def test_the_card_shows_the_request_beside_switch_to_phone_only_in_its_own_clinic(
    clinic_a, clinic_b, voice_number, provider_client, outsider_client
):
    visit = blocked(clinic_a)
    assert "Asks for a phone call" not in cards.card_html(visit=visit)
    visit_ask_for_phone(visit_id=visit.id)
    html = cards.card_html(visit=Visit.objects.get(pk=visit.pk))
    assert "Asks for a phone call" in html and "Switch to phone" in html
    assert html.index("Asks for a phone call") < html.index("Switch to phone")
    board = provider_client.get(f"/dashboard/{clinic_a.slug}/").content.decode()
    assert "Asks for a phone call" in board
    assert outsider_client.get(f"/dashboard/{clinic_a.slug}/").status_code in (302, 403, 404)
    assert "Asks for a phone call" not in outsider_client.get(f"/dashboard/{clinic_b.slug}/").content.decode()


# --- The views ----------------------------------------------------------------------------------


def patient_client(clinic, *, csrf: bool = False) -> tuple[Client, str, Visit]:
    client = Client()
    link = client.post(f"/c/{clinic.slug}/", {"patient_name": "Bea Blocked"})["Location"]
    client.handler.enforce_csrf_checks = csrf
    visit = Visit.objects.get(patient_name="Bea Blocked")
    services.visit_media_result(visit_id=visit.id, ok=False)
    Visit.objects.filter(pk=visit.pk).update(verified_phone=MOBILE)
    return client, link, visit


def test_the_views_ask_take_back_and_answer_errors_in_words(
    clinic_a, voice_number, django_capture_on_commit_callbacks
):
    client, link, visit = patient_client(clinic_a)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(link + "call-me/").json() == {"ok": True}
    assert Visit.objects.get(pk=visit.pk).phone_requested_at is not None
    again = client.post(link + "call-me/")
    assert again.status_code == 400 and "already asked" in again.json()["error"]
    assert "The clinic will call you at" in client.get(link + "state/").json()["html"]
    assert client.get(link + "call-me/").status_code == 405
    assert Client().post(link + "call-me/cancel/").status_code == 404  # another browser: not theirs
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(link + "call-me/cancel/").json() == {"ok": True}
    assert Visit.objects.get(pk=visit.pk).phone_requested_at is None
    assert len(events(visit)) == 2


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(clinic_a, voice_number):
    client, link, visit = patient_client(clinic_a, csrf=True)
    assert client.post(link + "call-me/").status_code == 403
    visit.refresh_from_db()
    assert visit.phone_requested_at is None and visit.status == Status.MEDIA_BLOCKED
    assert not events(visit)


def test_a_connected_phone_call_answers_the_request(clinic_a, provider, voice_number):
    """Switch to phone (visits/phone.py) for a patient who asked: once the call connects, the card
    no longer says they ask for one, and the visit is in a call."""
    visit = blocked(clinic_a)
    visit_ask_for_phone(visit_id=visit.id)
    call = PhoneCall.objects.create(
        clinic=clinic_a,
        subject=phone.subject_of(visit.id),
        staff=provider,
        staff_number="+12025550188",
        client_number=MOBILE,
        from_number=VOICE,
        client_first_name="Bea",
        service_label=phone.SERVICE_LABEL,
        status=CallStatus.IN_CALL,
        created_at=timezone.now(),
        connected_at=timezone.now(),
    )
    with transaction.atomic():
        phone.call_changed(call, what=voice.Change.CONNECTED)
    visit.refresh_from_db()
    assert visit.phone_requested_at is None and visit.status == Status.IN_CALL
    assert "Asks for a phone call" not in cards.card_html(visit=visit)


def test_switch_to_phone_is_offered_for_a_waiting_patient_who_asked():
    from visits.lifecycle import phone_switch_refusal

    asks = {"verified_phone": True, "call_failed": False, "phone_ringing": False}
    assert phone_switch_refusal("waiting", **asks, phone_requested=True) == ""
    assert "Switch to phone is for" in phone_switch_refusal("waiting", **asks, phone_requested=False)
