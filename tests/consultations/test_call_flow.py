"""A phone consultation's call end to end, from the room down to Twilio and back: the expert
presses Start Phone Call (the room's own URL), the placing task asks Twilio's SDK to ring the
expert (a fake HTTP client: the exact calls.create request), a simulated Twilio plays the call
with signed callbacks, the consultation starts, both rooms show the call's progress, the
recording is announced, fetched through the SDK (the exact GET and DELETE), listed in the room
and served with byte ranges. Then the failures in the room's words, one call at a time, repeated
and late callbacks, and who may start, see and listen."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlencode

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from consultations.lifecycle import Status
from consultations.models import ConsultationProfile
from tests.conftest import client_for
from tests.consultations.conftest import CLIENT_PHONE, make_consultation
from tests.support.twilio import FakeTwilioHttp
from tests.support.voice_sim import SimulatedTwilio
from waitingroom.models import StaffPhone
from waitingroom.voice import calling, recordings
from waitingroom.voice.lifecycle import CallStatus, Outcome
from waitingroom.voice.models import PhoneCall, Recording
from waitingroom.voice.playback import TALK_SECONDS, fake_sid
from waitingroom.voice.silence import silent_mp3

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]

VOICE = "+15555550100"
EXPERT_PHONE = "+12025550188"
ACCOUNT = "AC" + "0" * 32
API = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}"
STAFF_LEG = "CA" + "b" * 32
AUDIO = silent_mp3(3)


@pytest.fixture
def profile(clinic_a):
    return ConsultationProfile.objects.create(clinic=clinic_a, voice_number=VOICE, record_calls=True)


@pytest.fixture
def ready(claimed, profile, provider):
    """Claimed by Paula, who has a verified phone, at a clinic with a voice number, recording on."""
    StaffPhone.objects.create(user=provider, number=EXPERT_PHONE, verified_at=timezone.now())
    return claimed


@pytest.fixture
def twilio_http(monkeypatch) -> FakeTwilioHttp:
    """Twilio's REST API as the SDK sees it: calls.create answers the staff leg's CallSid."""
    http = FakeTwilioHttp(responses=[(201, {"sid": STAFF_LEG, "status": "queued"})])
    monkeypatch.setattr(calling, "backend", lambda: calling.TwilioVoiceBackend(http_client=http))
    return http


@pytest.fixture
def twilio() -> SimulatedTwilio:
    return SimulatedTwilio()


def press_start(user, consultation, django_capture_on_commit_callbacks):
    """The room's Start Phone Call (or Retry) form, posted; the placing task runs after commit."""
    consultation.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        return client_for(user).post(
            f"/consultations/{consultation.pk}/call/",
            {"version": consultation.version},
            HTTP_ACCEPT="application/json",
        )


def the_call(consultation) -> PhoneCall:
    return PhoneCall.objects.filter(subject=f"consultation:{consultation.pk}").latest("created_at", "id")


def staff_part(user, consultation, part: str = "call") -> str:
    response = client_for(user).get(f"/consultations/{consultation.pk}/part/{part}/")
    assert response.status_code == 200
    return response.content.decode()


def client_part(consultation, part: str = "call") -> str:
    response = Client().get(f"/consult/room/{consultation.client_token}/part/{part}/")
    assert response.status_code == 200
    return response.content.decode()


def progress_of(html: str) -> str:
    """The call part's progress line (the rest holds a CSRF token, new on every render)."""
    found = re.search(r"<p class=\"call-progress.*?</p>", html, re.S)
    assert found is not None, html
    return found.group(0)


def started_call(user, consultation, capture) -> PhoneCall:
    assert press_start(user, consultation, capture).status_code == 200
    return the_call(consultation)


# --- The happy path --------------------------------------------------------------------------------


def test_start_phone_call_to_a_stored_recording_the_room_plays(
    ready, provider, twilio_http, twilio, django_capture_on_commit_callbacks
):
    answer = press_start(provider, ready, django_capture_on_commit_callbacks)
    assert answer.status_code == 200

    # The placing task asked Twilio to ring the expert's own phone from the clinic's number.
    call = the_call(ready)
    (create,) = twilio_http.requests
    assert (create.method, create.url) == ("POST", f"{API}/Calls.json")
    base = f"https://clinic.example.test/twilio/voice/{call.pk}"
    assert parse_qs(urlencode(create.data, doseq=True)) == {
        "To": [EXPERT_PHONE],
        "From": [VOICE],
        "Url": [f"{base}/answer/"],
        "Method": ["POST"],
        "StatusCallback": [f"{base}/status/"],
        "StatusCallbackEvent": ["initiated", "ringing", "answered", "completed"],
        "StatusCallbackMethod": ["POST"],
        "Timeout": [str(calling.STAFF_RING_SECONDS)],
    }
    assert (call.staff_call_sid, call.status) == (STAFF_LEG, CallStatus.QUEUED)
    assert "Calling your phone…" in staff_part(provider, ready)

    # Twilio plays the call up to the client picking up: both rooms say "In call" with a timer.
    player = twilio.player(call)
    player.ring_staff()
    player.staff_answers()
    assert "Press 1 on your phone to connect Casey" in staff_part(provider, ready)
    player.gather("1")
    assert "Connecting Casey Client…" in staff_part(provider, ready)
    assert "Clinic A is calling you…" in client_part(ready)
    with django_capture_on_commit_callbacks(execute=True):
        player.whisper()
    ready.refresh_from_db()
    assert ready.status == Status.IN_PROGRESS and ready.started_at is not None
    call.refresh_from_db()
    since = f'data-call-since="{int(call.connected_at.timestamp())}"'
    for html in (staff_part(provider, ready), client_part(ready)):
        assert "In call" in html and since in html

    # The call ends: both rooms say how long it lasted; the expert is offered to complete.
    player.dial("completed", duration=TALK_SECONDS)
    player.staff("completed", duration=TALK_SECONDS + 20)
    call.refresh_from_db()
    assert (call.status, call.outcome, call.duration_seconds) == (
        CallStatus.ENDED,
        Outcome.COMPLETED,
        TALK_SECONDS,
    )
    staff_html, client_html = staff_part(provider, ready), client_part(ready)
    assert "Ended" in staff_html and f'data-call-duration="{TALK_SECONDS}"' in staff_html
    assert "Mark the consultation completed" in staff_html
    assert "Call ended" in client_html and f'data-call-duration="{TALK_SECONDS}"' in client_html

    # Twilio announces the recording; the room says it is being fetched.
    player.recording()
    (recording,) = Recording.objects.filter(call=call)
    assert recording.status == Recording.Status.PENDING
    assert "Being fetched…" in staff_part(provider, ready, "recordings")

    # The fetch sweep downloads it through the SDK, then deletes Twilio's copy.
    twilio_http.requests.clear()
    twilio_http.responses[:] = [(200, AUDIO), (204, b"")]
    assert recordings.fetch_due(now=timezone.now()) == 1
    sid = fake_sid("RE", call, 3)
    assert [(r.method, r.url) for r in twilio_http.requests] == [
        ("GET", f"{API}/Recordings/{sid}.mp3"),
        ("DELETE", f"{API}/Recordings/{sid}.json"),
    ]
    recording.refresh_from_db()
    assert recording.status == Recording.Status.STORED and recording.deleted_from_twilio
    assert recording.size == len(AUDIO)

    # The room lists it with a player and serves it with byte ranges (the player seeks).
    listed = staff_part(provider, ready, "recordings")
    url = f"/consultations/{ready.pk}/recordings/{recording.pk}/"
    assert f'src="{url}"' in listed and "<audio" in listed and "1:35" in listed
    ranged = client_for(provider).get(url, HTTP_RANGE="bytes=100-499")
    assert ranged.status_code == 206
    assert ranged["Content-Type"] == "audio/mpeg"
    assert ranged["Content-Range"] == f"bytes 100-499/{len(AUDIO)}"
    assert b"".join(ranged.streaming_content) == AUDIO[100:500]


# --- Failures, in the room's words --------------------------------------------------------------------

FAILURES = [
    ("staff-no-answer", Outcome.STAFF_NO_ANSWER, "The expert did not answer"),
    ("voicemail", Outcome.STAFF_NO_ANSWER, "The expert did not answer"),
    ("busy", Outcome.CLIENT_BUSY, "The client&#39;s line was busy"),
    ("no-answer", Outcome.CLIENT_NO_ANSWER, "The client did not answer"),
]


@pytest.mark.parametrize(("played", "outcome", "words"), FAILURES)
def test_a_failed_call_says_why_in_the_room_with_retry(
    ready, provider, twilio_http, twilio, django_capture_on_commit_callbacks, played, outcome, words
):
    call = started_call(provider, ready, django_capture_on_commit_callbacks)
    twilio.play(call, played)

    call.refresh_from_db()
    assert (call.status, call.outcome, call.connected_at) == (CallStatus.FAILED, outcome, None)
    ready.refresh_from_db()
    assert ready.status == Status.CLAIMED  # nobody talked: the consultation has not started
    assert not Recording.objects.exists()
    html = staff_part(provider, ready)
    assert words in html and "data-call-start" in html and ">Retry<" in html
    assert "Mark the consultation completed" not in html
    client_html = client_part(ready)
    assert "Call ended" in client_html and "Retry" not in client_html

    # Retry places a new call through Twilio.
    twilio_http.responses[:] = [(201, {"sid": "CA" + "c" * 32, "status": "queued"})]
    retried = started_call(provider, ready, django_capture_on_commit_callbacks)
    assert retried.pk != call.pk and retried.staff_call_sid == "CA" + "c" * 32
    assert len(twilio_http.requests) == 2


def test_a_second_start_while_ringing_is_refused(
    ready, provider, twilio_http, twilio, django_capture_on_commit_callbacks
):
    call = started_call(provider, ready, django_capture_on_commit_callbacks)
    twilio.player(call).ring_staff()

    again = press_start(provider, ready, django_capture_on_commit_callbacks)

    assert again.status_code == 409 and "already ringing or connected" in again.json()["error"]
    assert PhoneCall.objects.count() == 1 and len(twilio_http.requests) == 1
    assert "data-call-start" not in staff_part(provider, ready)


def test_repeated_and_late_callbacks_change_nothing(
    ready, provider, twilio_http, twilio, django_capture_on_commit_callbacks
):
    call = started_call(provider, ready, django_capture_on_commit_callbacks)
    twilio.duplicated(call)
    call.refresh_from_db()
    ready.refresh_from_db()
    assert (call.status, call.duration_seconds) == (CallStatus.ENDED, TALK_SECONDS)
    assert ready.events.filter(event="start").count() == 1
    assert Recording.objects.count() == 1
    before = (call.status, call.outcome, call.connected_at, call.ended_at, ready.version)
    staff_before = progress_of(staff_part(provider, ready))

    # Late "ringing" and "in-progress" after "completed", and the whole call posted once more.
    player = twilio.player(call)
    player.staff("ringing")
    player.staff("in-progress")
    twilio.play(call)

    call.refresh_from_db()
    ready.refresh_from_db()
    assert (call.status, call.outcome, call.connected_at, call.ended_at, ready.version) == before
    assert Recording.objects.count() == 1
    assert progress_of(staff_part(provider, ready)) == staff_before


def test_a_late_ringing_after_completed_leaves_the_call_ended(
    ready, provider, twilio_http, twilio, django_capture_on_commit_callbacks
):
    call = started_call(provider, ready, django_capture_on_commit_callbacks)
    twilio.out_of_order(call)
    call.refresh_from_db()
    assert (call.status, call.outcome) == (CallStatus.ENDED, Outcome.COMPLETED)
    assert "Ended" in staff_part(provider, ready)


# --- Who may start, see and listen ------------------------------------------------------------------


@pytest.fixture
def stored(ready, provider, twilio_http, twilio, django_capture_on_commit_callbacks) -> Recording:
    """The happy path played to a stored recording."""
    call = started_call(provider, ready, django_capture_on_commit_callbacks)
    twilio.play(call)
    twilio_http.responses[:] = [(200, AUDIO), (204, b"")]
    recordings.fetch_due(now=timezone.now())
    recording = Recording.objects.get(call=call)
    assert recording.status == Recording.Status.STORED
    return recording


def test_another_clinics_expert_can_not_start_see_or_listen(
    ready, outsider, stored, django_capture_on_commit_callbacks
):
    StaffPhone.objects.create(user=outsider, number="+12025550177", verified_at=timezone.now())
    assert press_start(outsider, ready, django_capture_on_commit_callbacks).status_code == 404
    other = client_for(outsider)
    assert other.get(f"/consultations/{ready.pk}/part/call/").status_code == 404
    assert other.get(f"/consultations/{ready.pk}/part/recordings/").status_code == 404
    assert other.get(f"/consultations/{ready.pk}/recordings/{stored.pk}/").status_code == 404
    assert PhoneCall.objects.count() == 1


def test_a_csr_can_not_start_or_listen(ready, csr, stored, django_capture_on_commit_callbacks):
    StaffPhone.objects.create(user=csr, number="+12025550155", verified_at=timezone.now())
    refused = press_start(csr, ready, django_capture_on_commit_callbacks)
    assert refused.status_code == 409 and "Only the expert who claimed" in refused.json()["error"]
    desk = client_for(csr)
    assert desk.get(f"/consultations/{ready.pk}/part/recordings/").status_code == 404
    assert desk.get(f"/consultations/{ready.pk}/recordings/{stored.pk}/").status_code == 404
    assert PhoneCall.objects.count() == 1


def test_the_clients_link_reaches_the_recording_only_when_the_clinic_allows(
    ready, profile, stored, clinic_a, phone_service
):
    url = f"/consult/room/{ready.client_token}/recordings/{stored.pk}/"
    assert Client().get(url).status_code == 404
    assert Client().get(f"/consult/room/{ready.client_token}/part/recordings/").status_code == 404

    profile.clients_may_listen = True
    profile.save(update_fields=["clients_may_listen"])
    listed = client_part(ready, "recordings")
    assert f'src="{url}"' in listed
    ranged = Client().get(url, HTTP_RANGE="bytes=0-99")
    assert ranged.status_code == 206 and b"".join(ranged.streaming_content) == AUDIO[:100]

    # Another client's link, even at the same clinic, never reaches this recording.
    someone_else = make_consultation(clinic_a, phone_service, email="x@example.test", name="Xavier X")
    assert someone_else.client_phone == CLIENT_PHONE
    other_url = f"/consult/room/{someone_else.client_token}/recordings/{stored.pk}/"
    assert Client().get(other_url).status_code == 404


# --- `make run`: the console backend and voice_play --------------------------------------------------


def test_make_run_walks_a_call_to_a_stored_recording_with_the_console_backend(
    ready, provider, settings, django_capture_on_commit_callbacks, capsys
):
    """No Twilio at all: the console backend logs the call, `manage.py voice_play` plays Twilio's
    callbacks, and the fetch sweep stores silence of the announced length (nothing to delete)."""
    from django.core.management import call_command

    settings.VOICE_BACKEND = "waitingroom.voice.calling.ConsoleVoiceBackend"
    settings.ALLOWED_HOSTS = ["testserver", "clinic.example.test"]  # voice_play: PUBLIC_BASE_URL
    call = started_call(provider, ready, django_capture_on_commit_callbacks)
    assert call.staff_call_sid.startswith("CA")

    call_command("voice_play", str(call.pk))
    assert f"Call {call.pk}: ended completed" in capsys.readouterr().out
    assert recordings.fetch_due(now=timezone.now()) == 1

    recording = Recording.objects.get(call=call)
    assert recording.status == Recording.Status.STORED and not recording.deleted_from_twilio
    assert recording.next_try_at is None
    assert recording.file.read() == silent_mp3(TALK_SECONDS)
    listed = staff_part(provider, ready, "recordings")
    assert f'src="/consultations/{ready.pk}/recordings/{recording.pk}/"' in listed


# --- Calls into the clinic's number -----------------------------------------------------------------


def test_an_unknown_caller_hears_the_clinics_line_once(ready, profile, twilio):
    profile.clinic_phone_line = "+15555550199"
    profile.save(update_fields=["clinic_phone_line"])
    said = twilio.inbound(to_number=VOICE, from_number="+12025550111").content.decode()
    assert "This number is for Clinic A" in said
    assert said.count("Please call") == 1 and "1 5 5 5 5 5 5 0 1 9 9" in said
    assert "+15555550199" not in said and not PhoneCall.objects.exists()


def test_the_client_calling_back_in_the_window_talks_to_the_expert(ready, provider, twilio):
    at = ready.starts_at
    with time_machine.travel(at, tick=False):
        said = twilio.inbound(to_number=VOICE, from_number=CLIENT_PHONE).content.decode()
        call = the_call(ready)
        assert call.direction == PhoneCall.Direction.RETURN and call.staff_number == EXPERT_PHONE
        assert "<Number" in said and EXPERT_PHONE in said and f'callerId="{VOICE}"' in said
        twilio.return_call(call)
    call.refresh_from_db()
    ready.refresh_from_db()
    assert (call.status, call.outcome) == (CallStatus.ENDED, Outcome.COMPLETED)
    assert ready.status == Status.IN_PROGRESS
    assert Recording.objects.filter(call=call).count() == 1  # announced like an outbound call's
