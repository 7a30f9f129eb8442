"""A phone consultation's call in Chromium, both rooms at once: the expert presses Start Phone
Call, the simulated Twilio answers both legs, both rooms show "In call" with a live timer, the
call ends, the recording is fetched and appears in both rooms, and it plays (the audio element
reports the file's duration: served with ranges, accepted by the browser's MP3 decoder).

Twilio's side runs from the test thread (off_loop) through Django's test client, signed as
Twilio signs; the pages only learn of it through their sockets."""

from __future__ import annotations

import time

import pytest
from django.utils import timezone

from consultations.models import ConsultationProfile
from tests.consultations.conftest import make_consultation
from tests.consultations.test_browser_room import shot
from tests.support.announcements import RECORD_SAID, RECORD_TITLES, wait_until_said, wait_until_titled
from tests.support.live import LIVE_MS, login, off_loop
from tests.support.twilio import FakeTwilioHttp
from tests.support.voice_sim import SimulatedTwilio
from waitingroom.models import StaffPhone
from waitingroom.voice import recordings
from waitingroom.voice.calling import TwilioVoiceBackend
from waitingroom.voice.lifecycle import CallStatus
from waitingroom.voice.models import PhoneCall, Recording
from waitingroom.voice.silence import silent_mp3

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("media")]

VOICE = "+15555550100"
EXPERT_PHONE = "+12025550188"
STAFF_LEG = "CA" + "b" * 32
RECORDED_SECONDS = 3


class FakeVoiceBackend(TwilioVoiceBackend):
    """The SDK backend with a fake HTTP client: calls.create is recorded, nothing leaves the machine.
    settings.VOICE_BACKEND names it; the live server's request thread builds it per call."""

    http = FakeTwilioHttp()

    def __init__(self) -> None:
        super().__init__(http_client=self.http)


@pytest.fixture
def fake_voice(settings):
    FakeVoiceBackend.http = FakeTwilioHttp(responses=[(201, {"sid": STAFF_LEG, "status": "queued"})])
    settings.VOICE_BACKEND = f"{__name__}.FakeVoiceBackend"
    return FakeVoiceBackend.http


def set_up(clinic_a, phone_service, provider):
    ConsultationProfile.objects.create(
        clinic=clinic_a, voice_number=VOICE, record_calls=True, clients_may_listen=True
    )
    StaffPhone.objects.create(user=provider, number=EXPERT_PHONE, verified_at=timezone.now())
    return make_consultation(clinic_a, phone_service, expert=provider)


def call_of(consultation) -> PhoneCall:
    return PhoneCall.objects.get(subject=f"consultation:{consultation.pk}")


def play_until_connected(call_id: int) -> None:
    """Twilio rings Paula, she answers and presses 1, the client picks up and hears the whisper."""
    player = SimulatedTwilio().player(PhoneCall.objects.get(pk=call_id))
    player.ring_staff()
    player.staff_answers()
    player.gather("1")
    player.whisper()


def play_the_end(call_id: int) -> None:
    """The client hangs up: the Dial's result, the staff leg's end, then the recording's status."""
    player = SimulatedTwilio().player(PhoneCall.objects.get(pk=call_id))
    player.dial("completed", duration=RECORDED_SECONDS)
    player.staff("completed", duration=RECORDED_SECONDS + 20)
    player.recording(duration=RECORDED_SECONDS)


def fetch_recordings() -> FakeTwilioHttp:
    """The beat's fetch sweep, Twilio answering the download with a real (silent) MP3."""
    http = FakeTwilioHttp(responses=[(200, silent_mp3(RECORDED_SECONDS)), (204, b"")])
    assert recordings.fetch_due(now=timezone.now(), voice=TwilioVoiceBackend(http_client=http)) == 1
    return http


def eventually(get, ready, *, seconds: float = LIVE_MS / 1000):
    deadline = time.monotonic() + seconds
    while not ready(value := get()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return value


def timer(page) -> str:
    return page.inner_text("[data-part='call'] .call-timer")


def test_start_phone_call_in_call_with_a_live_timer_then_the_recording_plays_in_both_rooms(
    new_page, clinic_a, phone_service, provider, fake_voice
):
    consultation = off_loop(set_up, clinic_a, phone_service, provider)

    expert = new_page()
    expert.add_init_script(RECORD_SAID)
    expert.add_init_script(RECORD_TITLES)
    login(expert, username="paula", password="pw-for-tests-1")
    expert.goto(f"/consultations/{consultation.pk}/")
    expert.wait_for_selector("body[data-socket='open']")
    client = new_page()
    client.goto(f"/consult/room/{consultation.client_token}/")
    client.wait_for_selector("body[data-socket='open']")
    assert "will call you from" in client.inner_text("[data-part='call']")

    expert.click("[data-call-start]")
    # calls.create went out at once (the placing task ran eagerly) to Paula's own phone.
    expert.wait_for_selector("[data-call-words] >> text=Calling your phone…", timeout=LIVE_MS)
    client.wait_for_selector("[data-call-words] >> text=will call you in a moment", timeout=LIVE_MS)
    # The page may hear of the queued call (published on commit) just before the placing task,
    # also run on commit, has asked Twilio: wait for the first leg's sid.
    call = eventually(lambda: off_loop(call_of, consultation), lambda call: call.staff_call_sid)
    assert call.staff_call_sid == STAFF_LEG
    (create,) = fake_voice.requests
    assert (create.data["To"], create.data["From"]) == (EXPERT_PHONE, VOICE)

    off_loop(play_until_connected, call.pk)
    for page in (expert, client):
        page.wait_for_selector("[data-call-words] >> text=In call", timeout=LIVE_MS)
        page.wait_for_function(
            "() => /^\\d+:\\d\\d$/.test(document.querySelector('.call-timer')?.textContent || '')",
            timeout=LIVE_MS,
        )
    # The expert hears the call's progress (their own press said nothing more than its toast).
    wait_until_said(expert, "Phone call: In call")
    wait_until_titled(expert, "Phone call update · ")  # then "Consultation update": it is in progress
    before = (timer(expert), timer(client))
    time.sleep(1.1)
    after = (timer(expert), timer(client))
    assert before[0] != after[0] and before[1] != after[1], (before, after)
    # The call's card stands apart from the control bar above it, as every other card does.
    gap = expert.evaluate(
        "() => document.querySelector('[data-part=call]').getBoundingClientRect().top"
        " - document.querySelector('[data-part=status]').getBoundingClientRect().bottom"
    )
    assert gap >= 8, gap
    shot(expert, "call_staff_in_call")
    shot(client, "call_client_in_call")

    off_loop(play_the_end, call.pk)
    expert.wait_for_selector("[data-call-words] >> text=Ended", timeout=LIVE_MS)
    client.wait_for_selector("[data-call-words] >> text=Call ended", timeout=LIVE_MS)
    for page in (expert, client):
        page.wait_for_selector("[data-recording-state='pending']", timeout=LIVE_MS)
    assert off_loop(lambda: CallStatus(call_of(consultation).status)) == CallStatus.ENDED

    fetched = off_loop(fetch_recordings)
    assert [r.method for r in fetched.requests] == ["GET", "DELETE"]
    for page in (expert, client):
        page.wait_for_selector("[data-recording] audio", timeout=LIVE_MS)
    assert off_loop(lambda: Recording.objects.get().status) == Recording.Status.STORED
    for page in (expert, client):  # a list of players, not of bullets
        assert (
            page.eval_on_selector("[data-recordings]", "ul => getComputedStyle(ul).listStyleType") == "none"
        )

    # The player loads nothing until asked (preload="none"): ask for the metadata, as a press on
    # play would, and wait for the duration the browser decoded from the served file.
    expert.eval_on_selector("[data-recording] audio", "a => { a.preload = 'metadata'; a.load(); }")
    expert.wait_for_function(
        "() => { const a = document.querySelector('[data-recording] audio');"
        " return a.error === null && Number.isFinite(a.duration) && a.duration > 2; }",
        timeout=LIVE_MS,
    )
    duration = expert.eval_on_selector("[data-recording] audio", "a => a.duration")
    assert RECORDED_SECONDS - 0.5 < duration < RECORDED_SECONDS + 0.5
    shot(expert, "call_staff_after")
    shot(client, "call_client_after")
