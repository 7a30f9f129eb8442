"""Recordings after Twilio announced them: fetched through the SDK (the exact GET and DELETE),
retried while Twilio answers 404, failed after 10 minutes, fetched once by two sweeps at once,
kept at Twilio when the setting says so, and deleted after the clinic's retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.twilio import FakeTwilioHttp, RecordedRequest
from tests.waitingroom.voice.subjects import call_kwargs
from waitingroom.voice import calling, recordings
from waitingroom.voice.models import PhoneCall, Recording

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
SID = "RE" + "a" * 32
ACCOUNT = "AC" + "0" * 32
AUDIO = b"ID3\x04\x00\x00" + bytes(range(256)) * 40  # not text: bytes the SDK must not decode
MEDIA_URL = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Recordings/{SID}.mp3"
DELETE_URL = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Recordings/{SID}.json"

heard: list[tuple[int, str]] = []
retention: dict[int, int | None] = {}


def record_change(call, *, what):
    heard.append((call.pk, what))


def retention_of(clinic_id: int) -> int | None:
    return retention.get(clinic_id)


@pytest.fixture(autouse=True)
def _wiring(settings, tmp_path):
    heard.clear()
    retention.clear()
    settings.VOICE_SUBJECTS = {"consultation": f"{__name__}.record_change"}
    settings.VOICE_RECORDING_RETENTION = f"{__name__}.retention_of"
    settings.VOICE_DELETE_FROM_TWILIO = True
    settings.TWILIO_ACCOUNT_SID = ACCOUNT
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "media"},
        },
    }


@pytest.fixture
def media(tmp_path) -> Path:
    return tmp_path / "media"


@pytest.fixture
def call(clinic_a, provider):
    return PhoneCall.objects.create(
        **call_kwargs(clinic_a, provider), status="ended", created_at=NOW - timedelta(minutes=20)
    )


@pytest.fixture
def recording(call):
    return Recording.objects.create(
        call=call, recording_sid=SID, duration_seconds=95, next_try_at=NOW, created_at=NOW
    )


def twilio(http) -> calling.TwilioVoiceBackend:
    """The production backend with a fake HTTP client (or the production client, faked below)."""
    return calling.TwilioVoiceBackend(http_client=http)


def _requests(http: FakeTwilioHttp) -> list[tuple[str, str]]:
    return [(r.method, r.url) for r in http.requests]


def test_a_due_recording_is_downloaded_stored_and_deleted_from_twilio(recording, media):
    http = FakeTwilioHttp(responses=[(200, AUDIO), (204, b"")])

    assert recordings.fetch_due(now=NOW, voice=twilio(http)) == 1

    assert _requests(http) == [("GET", MEDIA_URL), ("DELETE", DELETE_URL)]
    assert all(r.auth == (ACCOUNT, "test-auth-token-0123456789abcdef") for r in http.requests)
    recording.refresh_from_db()
    assert recording.status == Recording.Status.STORED
    assert recording.deleted_from_twilio
    assert recording.size == len(AUDIO)
    assert recording.duration_seconds == 95
    assert recording.stored_at == NOW
    assert recording.next_try_at is None
    assert recording.file.name.startswith(f"recordings/{recording.call.clinic_id}/{recording.call_id}/")
    assert recording.file.name.endswith(".mp3")
    assert (media / recording.file.name).read_bytes() == AUDIO
    assert heard == [(recording.call_id, "progress")]


def test_not_ready_twice_then_fetched_with_backoff(recording, media):
    http = FakeTwilioHttp(
        responses=[(404, {"status": 404}), (404, {"status": 404}), (200, AUDIO), (204, b"")]
    )

    recordings.fetch_due(now=NOW, voice=twilio(http))
    recording.refresh_from_db()
    assert recording.status == Recording.Status.PENDING
    assert recording.next_try_at == NOW + timedelta(seconds=15)
    assert recordings.fetch_due(now=NOW + timedelta(seconds=10), voice=twilio(http)) == 0  # not due yet

    recordings.fetch_due(now=NOW + timedelta(seconds=15), voice=twilio(http))
    recording.refresh_from_db()
    assert recording.next_try_at == NOW + timedelta(seconds=15 + 30)
    assert heard == []

    recordings.fetch_due(now=NOW + timedelta(seconds=45), voice=twilio(http))
    recording.refresh_from_db()
    assert recording.status == Recording.Status.STORED
    assert _requests(http) == [("GET", MEDIA_URL)] * 3 + [("DELETE", DELETE_URL)]
    assert heard == [(recording.call_id, "progress")]


def test_backoff_doubles_up_to_its_cap():
    assert [recordings.retry_delay(n).total_seconds() for n in range(1, 7)] == [15, 30, 60, 120, 120, 120]


def test_still_not_ready_ten_minutes_after_the_announcement_is_failed(recording, media):
    later = NOW + timedelta(minutes=10)
    Recording.objects.filter(pk=recording.pk).update(next_try_at=later)
    http = FakeTwilioHttp(responses=[(404, {"status": 404})])

    recordings.fetch_due(now=later, voice=twilio(http))

    recording.refresh_from_db()
    assert recording.status == Recording.Status.FAILED
    assert recording.next_try_at is None
    assert heard == [(recording.call_id, "progress")]
    assert recordings.fetch_due(now=later + timedelta(hours=1), voice=twilio(http)) == 0
    assert not media.exists() or not any(media.rglob("*.mp3"))


def test_two_sweeps_at_once_fetch_once(recording, media):
    second: list[int] = []

    def meanwhile(request: RecordedRequest) -> None:
        # Another sweep runs while the first one downloads: the row is claimed (its lease moved
        # its due time), so the second finds nothing to do.
        if request.method == "GET" and not second:
            second.append(recordings.fetch_due(now=NOW, voice=twilio(FakeTwilioHttp())))

    http = FakeTwilioHttp(responses=[(200, AUDIO), (204, b"")], on_request=meanwhile)
    recordings.fetch_due(now=NOW, voice=twilio(http))

    assert second == [0]
    assert _requests(http) == [("GET", MEDIA_URL), ("DELETE", DELETE_URL)]
    assert len(list(media.rglob("*.mp3"))) == 1


@pytest.mark.django_db(transaction=True)
def test_a_sweep_skips_a_row_another_sweep_holds(recording, django_db_blocker):
    """SKIP LOCKED: the claim of a row locked by another transaction waits for nothing."""
    import threading

    from django.db import connections, transaction

    locked, release, claimed = threading.Event(), threading.Event(), []

    def hold() -> None:
        with django_db_blocker.unblock(), transaction.atomic():
            Recording.objects.select_for_update().get(pk=recording.pk)
            locked.set()
            release.wait(5)
        connections.close_all()

    holder = threading.Thread(target=hold)
    holder.start()
    locked.wait(5)
    try:
        claimed = recordings._claim(NOW)
    finally:
        release.set()
        holder.join()
    assert claimed == []


def test_with_the_setting_off_twilio_keeps_its_copy(recording, media, settings):
    settings.VOICE_DELETE_FROM_TWILIO = False
    http = FakeTwilioHttp(responses=[(200, AUDIO)])

    recordings.fetch_due(now=NOW, voice=twilio(http))

    assert _requests(http) == [("GET", MEDIA_URL)]
    recording.refresh_from_db()
    assert recording.status == Recording.Status.STORED
    assert not recording.deleted_from_twilio
    assert recording.next_try_at is None


def test_a_refused_delete_is_tried_again_later(recording, media):
    http = FakeTwilioHttp(responses=[(200, AUDIO), (500, {"status": 500, "message": "oops"}), (204, b"")])

    recordings.fetch_due(now=NOW, voice=twilio(http))
    recording.refresh_from_db()
    assert recording.status == Recording.Status.STORED
    assert not recording.deleted_from_twilio
    assert recording.next_try_at is not None

    recordings.fetch_due(now=recording.next_try_at, voice=twilio(http))
    recording.refresh_from_db()
    assert recording.deleted_from_twilio
    assert _requests(http) == [("GET", MEDIA_URL), ("DELETE", DELETE_URL), ("DELETE", DELETE_URL)]


def test_recordings_past_the_clinics_retention_are_deleted(
    recording, media, call, clinic_a, django_capture_on_commit_callbacks
):
    recordings.fetch_due(now=NOW, voice=twilio(FakeTwilioHttp(responses=[(200, AUDIO), (204, b"")])))
    recording.refresh_from_db()
    stored = media / recording.file.name
    heard.clear()

    retention[clinic_a.pk] = None  # keep
    assert recordings.purge_expired(now=NOW + timedelta(days=400)) == 0

    retention[clinic_a.pk] = 30
    assert recordings.purge_expired(now=NOW + timedelta(days=29)) == 0
    assert stored.exists()
    with django_capture_on_commit_callbacks(execute=True):
        assert recordings.purge_expired(now=NOW + timedelta(days=31)) == 1

    recording.refresh_from_db()
    assert recording.status == Recording.Status.DELETED
    assert recording.file.name == ""
    assert not stored.exists()
    assert heard == [(recording.call_id, "progress")]


def test_the_production_http_client_keeps_the_audio_bytes():
    """The SDK's own client decodes a body as text (which mangles MP3 frames); ours keeps bytes and
    follows Twilio's redirect to the media's storage."""
    asked: list[dict] = []

    class Answer:
        status_code, content, headers = 200, AUDIO, {"Content-Type": "audio/mpeg"}

    class Session:
        def request(self, method, url, **kwargs):
            asked.append({"method": method, "url": url, **kwargs})
            return Answer()

    http = calling._binary_http_client()
    http.session = Session()
    fetched = twilio(http).fetch_recording(recording_sid=SID, duration_seconds=95)

    assert fetched == AUDIO
    assert asked[0]["method"] == "GET"
    assert asked[0]["url"] == MEDIA_URL
    assert asked[0]["auth"] == (ACCOUNT, "test-auth-token-0123456789abcdef")
    assert asked[0]["allow_redirects"] is True


def test_beat_runs_the_fetch_every_15_seconds_and_the_purge_daily(settings, monkeypatch):
    from waitingroom.voice import tasks

    schedule = {entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert schedule["waitingroom.voice.recordings_fetch"] == 15.0
    assert schedule["waitingroom.voice.recordings_purge"] == 86400.0
    ran: list[str] = []
    monkeypatch.setattr(recordings, "fetch_due", lambda *, now: ran.append("fetch"))
    monkeypatch.setattr(recordings, "purge_expired", lambda *, now: ran.append("purge"))
    tasks.recordings_fetch.apply()
    tasks.recordings_purge.apply()
    assert ran == ["fetch", "purge"]


def test_the_purge_asks_each_clinics_retention_once_however_many_recordings_it_stores(
    call, clinic_a, monkeypatch
):
    """The clinics to purge are read DISTINCT; with the model's ordering in the query that would be
    one row per recording, and the clinic's recordings would be looked over once per recording."""
    for n in range(3):
        Recording.objects.create(
            call=call, recording_sid=f"RE{n:032d}", duration_seconds=60, created_at=NOW,
            status=Recording.Status.STORED,
        )  # fmt: skip
    asked: list[int] = []
    monkeypatch.setattr(recordings, "retention_days", lambda clinic_id: asked.append(clinic_id))
    recordings.purge_expired(now=NOW + timedelta(days=400))
    assert asked == [clinic_a.pk]
