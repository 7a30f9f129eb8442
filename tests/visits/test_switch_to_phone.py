"""Switch to phone on a waiting-room card (visits/phone.py): a visit whose video call failed goes
on over the masked phone bridge. Who may press it and when, the exact call placed, a whole call
played by the simulated Twilio through the visit (the card's words, the visit in a call),
presence leaving a visit on the phone alone, and the patient's number never on a page."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import parse_qs, urlencode

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from consultations.models import ConsultationProfile
from tests.conftest import client_for
from tests.support.twilio import FakeTwilioHttp
from tests.support.voice_sim import SimulatedTwilio
from tests.visits.conftest import in_call, ready
from visits import cards, presence, services
from visits.lifecycle import Event, Status
from visits.models import Visit, VisitEvent
from waitingroom.models import StaffPhone
from waitingroom.voice import calling
from waitingroom.voice.lifecycle import CallStatus, Outcome
from waitingroom.voice.models import PhoneCall
from waitingroom.voice.playback import TALK_SECONDS

pytestmark = pytest.mark.django_db

VOICE = "+15555550100"
STAFF_PHONE = "+12025550188"
PATIENT_PHONE = "+12025550123"
STAFF_LEG = "CA" + "b" * 32
JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def voice_number(clinic_a):
    return ConsultationProfile.objects.create(clinic=clinic_a, voice_number=VOICE)


@pytest.fixture
def paula_phone(provider):
    return StaffPhone.objects.create(user=provider, number=STAFF_PHONE, verified_at=timezone.now())


@pytest.fixture
def twilio_http(monkeypatch) -> FakeTwilioHttp:
    http = FakeTwilioHttp(responses=[(201, {"sid": STAFF_LEG, "status": "queued"})])
    monkeypatch.setattr(calling, "backend", lambda: calling.TwilioVoiceBackend(http_client=http))
    return http


def failed_video(clinic, provider, *, phone: str = PATIENT_PHONE) -> Visit:
    """A verified patient in a call whose video connection could not be set up."""
    visit = in_call(clinic, provider)
    Visit.objects.filter(pk=visit.pk).update(verified_phone=phone)
    services.visit_call_failed(visit_id=visit.id, reason="ice failed")
    visit.refresh_from_db()
    return visit


def press(user, visit, capture):
    with capture(execute=True):
        return client_for(user).post(
            f"/dashboard/{visit.clinic.slug}/visits/{visit.id}/switch_to_phone/", **JSON
        )


def card(visit) -> str:
    return cards.card_html(visit=Visit.objects.get(pk=visit.pk))


def refused(response, words: str) -> None:
    assert response.status_code == 409, response.content
    assert words in response.json()["error"]
    assert not PhoneCall.objects.exists()


# --- Who may, and when ---------------------------------------------------------------------------


def test_a_patient_without_a_verified_mobile_is_not_switched(
    clinic_a, provider, paula_phone, voice_number, django_capture_on_commit_callbacks
):
    visit = failed_video(clinic_a, provider, phone="")
    assert "Switch to phone" not in card(visit)
    refused(
        press(provider, visit, django_capture_on_commit_callbacks),
        "The patient has not verified a mobile number",
    )


def test_staff_without_a_verified_phone_are_sent_to_their_phone_page(
    clinic_a, provider, voice_number, django_capture_on_commit_callbacks
):
    StaffPhone.objects.create(user=provider, number=STAFF_PHONE)  # not verified
    visit = failed_video(clinic_a, provider)
    assert "Switch to phone" in card(visit)  # the card is the same for everyone: the server says
    refused(press(provider, visit, django_capture_on_commit_callbacks), "/account/phone/")


def test_a_clinic_without_a_voice_number_refuses(
    clinic_a, provider, paula_phone, django_capture_on_commit_callbacks
):
    visit = failed_video(clinic_a, provider)
    refused(
        press(provider, visit, django_capture_on_commit_callbacks), "The clinic has no phone number for calls"
    )


def test_a_waiting_visit_is_switched_only_after_its_video_call_failed(
    clinic_a, provider, paula_phone, voice_number, twilio_http, django_capture_on_commit_callbacks
):
    visit = ready(clinic_a)
    Visit.objects.filter(pk=visit.pk).update(verified_phone=PATIENT_PHONE)
    assert "Switch to phone" not in card(visit)
    refused(
        press(provider, visit, django_capture_on_commit_callbacks), "Switch to phone is for a visit in a call"
    )

    # Called, the video failed, sent back to the queue: now the phone is offered.
    visit = failed_video(clinic_a, provider)
    services.visit_send_back(visit_id=visit.id, user=provider)
    assert Visit.objects.get(pk=visit.pk).status == Status.WAITING
    assert "Switch to phone" in card(visit)
    assert press(provider, visit, django_capture_on_commit_callbacks).status_code == 200


def test_another_clinics_staff_get_404(
    clinic_a, provider, outsider, voice_number, paula_phone, django_capture_on_commit_callbacks
):
    StaffPhone.objects.create(user=outsider, number="+12025550199", verified_at=timezone.now())
    visit = failed_video(clinic_a, provider)
    assert press(outsider, visit, django_capture_on_commit_callbacks).status_code == 404
    assert not PhoneCall.objects.exists()


def test_a_second_switch_while_the_phone_rings_is_refused(
    clinic_a, provider, csr, paula_phone, voice_number, twilio_http, django_capture_on_commit_callbacks
):
    StaffPhone.objects.create(user=csr, number="+12025550177", verified_at=timezone.now())
    visit = failed_video(clinic_a, provider)
    assert press(provider, visit, django_capture_on_commit_callbacks).status_code == 200
    assert "Switch to phone" not in card(visit)
    second = press(csr, visit, django_capture_on_commit_callbacks)
    assert second.status_code == 409
    assert second.json()["error"] == "A phone call is already ringing or connected for this visit."
    assert PhoneCall.objects.count() == 1


# --- The call placed ------------------------------------------------------------------------------


def test_the_bridge_rings_the_staff_phone_then_the_patient_masked_from_the_clinic_number(
    clinic_a, provider, paula_phone, voice_number, twilio_http, django_capture_on_commit_callbacks
):
    visit = failed_video(clinic_a, provider)
    answer = press(provider, visit, django_capture_on_commit_callbacks)
    assert answer.status_code == 200 and answer.json()["ok"]

    call = PhoneCall.objects.get()
    assert {
        "subject": call.subject,
        "staff": call.staff,
        "staff_number": call.staff_number,
        "client_number": call.client_number,
        "from_number": call.from_number,
        "client_first_name": call.client_first_name,
        "service_label": call.service_label,
        "record": call.record,
        "consent_text": call.consent_text,
        "direction": call.direction,
        "status": call.status,
    } == {
        "subject": f"visit:{visit.pk}",
        "staff": provider,
        "staff_number": STAFF_PHONE,
        "client_number": PATIENT_PHONE,
        "from_number": VOICE,
        "client_first_name": "Pat",
        "service_label": "your video visit",
        "record": False,
        "consent_text": "",
        "direction": PhoneCall.Direction.OUTBOUND,
        "status": CallStatus.QUEUED,
    }
    # Twilio is asked to ring the staff member's phone from the clinic's number, never the patient's.
    (create,) = twilio_http.requests
    sent = parse_qs(urlencode(create.data, doseq=True))
    assert (sent["To"], sent["From"]) == ([STAFF_PHONE], [VOICE])
    assert Visit.objects.get(pk=visit.pk).phone_call_id == call.pk
    assert "Calling Paula&#39;s phone…" in answer.json()["html"]


def test_what_the_staff_member_hears_names_the_patient_and_the_visit(
    clinic_a, provider, paula_phone, voice_number, twilio_http, django_capture_on_commit_callbacks
):
    visit = failed_video(clinic_a, provider)
    press(provider, visit, django_capture_on_commit_callbacks)
    player = SimulatedTwilio().player(PhoneCall.objects.get())
    player.ring_staff()
    screening = player.answer().content.decode()
    assert "Press 1 to be connected to Pat for your video visit." in screening


# --- A whole call through the visit ------------------------------------------------------------------


def test_a_connected_phone_call_puts_a_dropped_visit_back_in_a_call_and_the_card_follows(
    clinic_a, provider, paula_phone, voice_number, twilio_http, django_capture_on_commit_callbacks, published
):
    visit = failed_video(clinic_a, provider)
    # The patient's browser gave up on the video and dropped: the visit went to Recents.
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        presence.visit_socket_opened(visit_id=visit.id)
        presence.visit_socket_closed(visit_id=visit.id)
    with time_machine.travel(start + timedelta(seconds=clinic_a.reconnect_grace_seconds + 1), tick=False):
        presence.sweep_due()
    assert Visit.objects.get(pk=visit.pk).status == Status.DISCONNECTED
    assert "Switch to phone" in card(visit)

    assert press(provider, visit, django_capture_on_commit_callbacks).status_code == 200
    call = PhoneCall.objects.get()
    player = SimulatedTwilio().player(call)
    with django_capture_on_commit_callbacks(execute=True):
        player.ring_staff()
    assert "Calling Paula&#39;s phone…" in card(visit)
    player.staff_answers()
    assert "Waiting for Paula to press 1…" in card(visit)
    player.gather("1")
    assert "Connecting the patient…" in card(visit)
    published.clear()
    with django_capture_on_commit_callbacks(execute=True):
        player.whisper()

    visit.refresh_from_db()
    call.refresh_from_db()
    assert visit.status == Status.IN_CALL and visit.on_phone_since == call.connected_at
    assert VisitEvent.objects.filter(visit=visit, event=Event.PHONE_CONNECTED).count() == 1
    html = card(visit)
    assert "On the phone" in html and f'data-phone-since="{int(call.connected_at.timestamp())}"' in html
    assert "call failed" not in html  # the phone's state in place of the video's
    (pushed,) = [p for p in published.to(f"clinic-{clinic_a.id}-staff") if p["type"] == "visit"]
    assert "On the phone" in pushed["html"]

    # The call ends: the mark is cleared, the visit stays in a call for staff to end as usual.
    with django_capture_on_commit_callbacks(execute=True):
        player.dial("completed", duration=TALK_SECONDS)
        player.staff("completed", duration=TALK_SECONDS + 20)
    visit.refresh_from_db()
    assert visit.status == Status.IN_CALL and visit.on_phone_since is None
    assert "Phone call ended (1:35)" in card(visit)
    services.visit_end(visit_id=visit.id, user=provider)
    assert Visit.objects.get(pk=visit.pk).status == Status.COMPLETED


@pytest.mark.parametrize(
    ("outcome", "words"),
    [
        ("staff-no-answer", "Paula&#39;s phone did not answer"),
        ("voicemail", "Paula&#39;s phone did not answer"),
        ("busy", "The patient&#39;s line was busy"),
        ("no-answer", "The patient did not answer the phone"),
    ],
)
def test_a_failed_phone_call_says_why_on_the_card_and_may_be_tried_again(
    clinic_a,
    provider,
    paula_phone,
    voice_number,
    twilio_http,
    django_capture_on_commit_callbacks,
    outcome,
    words,
):
    visit = failed_video(clinic_a, provider)
    press(provider, visit, django_capture_on_commit_callbacks)
    SimulatedTwilio().play(PhoneCall.objects.get(), outcome)
    visit.refresh_from_db()
    assert visit.status == Status.IN_CALL and visit.on_phone_since is None
    html = card(visit)
    assert words in html and "Switch to phone" in html
    assert PhoneCall.objects.get().outcome != Outcome.COMPLETED


# --- Presence leaves a visit on the phone alone ----------------------------------------------------


def test_closing_the_browser_while_on_the_phone_neither_drops_nor_idles_the_visit(
    clinic_a, provider, csr, paula_phone, voice_number, twilio_http, django_capture_on_commit_callbacks
):
    on_phone = failed_video(clinic_a, provider)
    press(provider, on_phone, django_capture_on_commit_callbacks)
    player = SimulatedTwilio().player(PhoneCall.objects.get())
    player.ring_staff()
    player.staff_answers()
    player.gather("1")
    player.whisper()
    video_only = in_call(clinic_a, csr, name="Val Video")  # the same drop, not on the phone

    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for visit in (on_phone, video_only):
            presence.visit_socket_opened(visit_id=visit.id)
            presence.visit_socket_closed(visit_id=visit.id)
    later = start + timedelta(seconds=max(clinic_a.reconnect_grace_seconds, clinic_a.idle_seconds) + 1)
    with time_machine.travel(later, tick=False):
        presence.sweep_due()
    assert Visit.objects.get(pk=video_only.pk).status == Status.DISCONNECTED
    kept = Visit.objects.get(pk=on_phone.pk)
    assert kept.status == Status.IN_CALL and kept.on_phone_since is not None
    assert (kept.grace_due_at, kept.idle_due_at) == (None, None)  # nothing left to fire later


# --- The card: its cost and what it never shows -------------------------------------------------------


def test_the_card_reads_the_phone_call_within_its_two_queries(
    clinic_a, provider, paula_phone, voice_number, twilio_http, django_capture_on_commit_callbacks
):
    visit = failed_video(clinic_a, provider)
    press(provider, visit, django_capture_on_commit_callbacks)
    visit = Visit.objects.select_related("clinic").get(pk=visit.pk)
    with CaptureQueriesContext(connection) as ctx:
        read = cards.read_card(visit=visit)
    assert len(ctx.captured_queries) == 2
    assert read is not None and read.phone_status == CallStatus.QUEUED


def test_the_dashboard_costs_the_same_with_phone_calls_on_its_cards(
    clinic_a,
    provider,
    provider_client,
    paula_phone,
    voice_number,
    twilio_http,
    django_capture_on_commit_callbacks,
):
    url = f"/dashboard/{clinic_a.slug}/"
    failed_video(clinic_a, provider)
    provider_client.get(url)  # the session's clinic is settled
    with CaptureQueriesContext(connection) as before:
        provider_client.get(url)
    for name in ("Ann", "Bo", "Cy"):
        visit = failed_video(clinic_a, provider)
        Visit.objects.filter(pk=visit.pk).update(patient_name=name)
        press(provider, visit, django_capture_on_commit_callbacks)
    with CaptureQueriesContext(connection) as after:
        html = provider_client.get(url).content.decode()
    assert html.count("Calling Paula&#39;s phone…") == 3
    assert len(after.captured_queries) == len(before.captured_queries)


def test_the_patients_number_is_on_no_page(
    clinic_a, provider, paula_phone, voice_number, twilio_http, django_capture_on_commit_callbacks, published
):
    visit = failed_video(clinic_a, provider)
    answer = press(provider, visit, django_capture_on_commit_callbacks)
    player = SimulatedTwilio().player(PhoneCall.objects.get())
    with django_capture_on_commit_callbacks(execute=True):
        player.ring_staff()
        player.staff_answers()
        player.gather("1")
        player.whisper()
    dashboard = client_for(provider).get(f"/dashboard/{clinic_a.slug}/").content.decode()
    board = client_for(provider).get(f"/dashboard/{clinic_a.slug}/board/").content.decode()
    assert "On the phone" in dashboard
    pushes = json.dumps([payload for _, payload in published.sent])
    for text in (dashboard, board, answer.content.decode(), pushes):
        for number in (PATIENT_PHONE, PATIENT_PHONE[1:], STAFF_PHONE, STAFF_PHONE[1:]):
            assert number not in text
